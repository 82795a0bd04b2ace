"""Code blocks of a Markdown file (fenced and indented), each with its lines and the headings above it.

Enough of CommonMark for specifications and API documentation: ATX headings, ``` / ~~~ fences (up to three
spaces of indent, an info string), and indented blocks (four spaces, after a blank line or a heading).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})(.*)$")
_HEADING = re.compile(r"^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$")


@dataclass(frozen=True)
class Block:
    kind: str  # "fenced" or "indented"
    info: str  # a fence's info string ("json", "" for none); "" for indented blocks
    first: int  # 1-based line number of its first content line (fences excluded)
    last: int  # of its last content line
    lines: tuple[str, ...]
    headings: tuple[str, ...]  # the headings it is under, outermost first

    @property
    def text(self) -> str:
        """The content as written between the fences, lines joined by newlines (no final newline)."""
        return "\n".join(self.lines)


def blocks(markdown: str) -> list[Block]:
    lines = markdown.split("\n")
    found: list[Block] = []
    trail: list[tuple[int, str]] = []  # (level, title)
    i = 0
    previous_blank = True
    while i < len(lines):
        line = lines[i]
        fence = _FENCE.match(line)
        if fence and not (fence.group(1)[0] == "`" and "`" in fence.group(2)):
            mark, info = fence.group(1), fence.group(2).strip()
            j = i + 1
            while j < len(lines) and not re.match(rf"^ {{0,3}}{re.escape(mark[0])}{{{len(mark)},}}\s*$", lines[j]):
                j += 1
            found.append(Block("fenced", info, i + 2, j, tuple(lines[i + 1:j]), tuple(t for _, t in trail)))
            i, previous_blank = j + 1, False
            continue
        heading = _HEADING.match(line)
        if heading:
            level = len(heading.group(1))
            trail = [(lv, t) for lv, t in trail if lv < level] + [(level, heading.group(2))]
            i, previous_blank = i + 1, True
            continue
        if previous_blank and line.startswith("    ") and line.strip():
            j = i
            while j < len(lines) and (lines[j].startswith("    ") or not lines[j].strip()):
                j += 1
            while not lines[j - 1].strip():  # trailing blank lines are not part of the block
                j -= 1
            found.append(Block("indented", "", i + 1, j, tuple(x[4:] for x in lines[i:j]), tuple(t for _, t in trail)))
            i, previous_blank = j, False
            continue
        previous_blank = not line.strip()
        i += 1
    return found


def fenced_at(markdown: str, first: int, last: int, info: str) -> str:
    """The text of the fenced block whose content is lines first..last and whose info string is `info`."""
    for block in blocks(markdown):
        if (block.kind, block.first, block.last) == ("fenced", first, last):
            if block.info != info:
                raise ValueError(f"the block at lines {first}-{last} is marked {block.info!r}, not {info!r}")
            return block.text
    raise ValueError(f"no fenced block holds exactly lines {first}-{last}")


def under(markdown: str, *headings: str, kind: str | None = None) -> list[Block]:
    """The blocks whose headings end with `headings` (all blocks before the first heading for none)."""
    chosen = [b for b in blocks(markdown) if (b.headings[-len(headings):] == headings if headings else not b.headings)]
    return [b for b in chosen if kind is None or b.kind == kind]
