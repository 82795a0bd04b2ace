"""Obfuscation-robust text normalisation with a map from every normalised character back to the original.

Why a map: a reviewer must see the exact characters that triggered a flag, even when the
writer hid them behind homoglyphs, zero-width joiners or spaced letters. Why lazily named
steps: recording a step per character on every message would cost more than the matching
itself, so `Normalized.steps_for` re-derives, for one matched span only, which
transformations were needed to reveal it.

The pipeline, in order:
  invisible   remove zero-width, format, control and combining characters and lone surrogates
  emoji       replace a few violence-related emoji with a word (in Chinese next to Han characters)
  fold        per character: NFKC (full-width, mathematical and decorated letters), case folding,
              accents stripped, UTS #39 confusables to ASCII, traditional to simplified Chinese (opencc)
  split       letters split by spaces/dots/symbols joined (j o i n, c.a.s.u.a.l), a symbol masking
              a letter dropped (inf*dels), and Han characters split by symbols (圣*战) joined
  leet        digits and symbols inside words read as letters (k1ll, 4774ck)
  components  a Chinese character written as its parts joined again (忄艮 -> 恨)
  repeated    runs of three or more identical letters collapsed to one (kiiiill)
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

STEP_INVISIBLE = "invisible"
STEP_EMOJI = "emoji"
STEP_FULLWIDTH = "fullwidth"
STEP_HOMOGLYPH = "homoglyph"
STEP_ACCENT = "accent"
STEP_TRADITIONAL = "traditional"
STEP_LEET = "leet"
STEP_SPLIT = "split"
STEP_REPEATED = "repeated"
STEP_COMPONENTS = "components"

HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_HAN_RE = re.compile(f"[{HAN}]")

# Emoji that stand in for words in violent-extremist posts ("their 🩸 is halal", "🔪光异教徒").
EMOJI_WORDS: dict[str, tuple[str, str]] = {
    "\U0001f52a": ("kill", "杀"),  # hocho (kitchen knife)
    "\U0001f5e1": ("knife", "刀"),  # dagger
    "\U0001fa78": ("blood", "血"),  # drop of blood
    "\U0001f3f4": ("black flag", "黑旗"),  # waving black flag
    "\U0001f4a3": ("bomb", "炸弹"),
    "\U0001f52b": ("gun", "枪"),
    "\U0001f9e8": ("explosive", "炸药"),  # firecracker
    "\U0001fa93": ("axe", "斧"),
    "\U0001f480": ("death", "死"),  # skull
    "\u2620": ("death", "死"),  # skull and crossbones
    "\U0001f4b0": ("money", "钱"),
    "\U0001f4b5": ("money", "钱"),
    "\U0001f4b8": ("money", "钱"),
}

LEET: dict[str, str] = {
    "0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "8": "b", "9": "g",
    "@": "a", "$": "s", "!": "i", "|": "l", "+": "t", "€": "e",
}

_INVISIBLE_CATEGORIES = ("Cf", "Cs", "Co", "Cn", "Mn", "Me")
_KEEP_CONTROLS = "\n\t"


@lru_cache(maxsize=1)
def _confusables() -> dict[str, str]:
    data = resources.files("vigil.text").joinpath("data/confusables.json").read_text(encoding="utf-8")
    return json.loads(data)["map"]


@lru_cache(maxsize=1)
def _components() -> tuple[dict[str, str], re.Pattern]:
    """Component pairs that spell a character, and a pattern for the parts that give a split away."""
    data = json.loads(resources.files("vigil.text").joinpath("data/components.json").read_text(encoding="utf-8"))
    return data["pairs"], re.compile("[" + re.escape(data["telltale"]) + "]")


@lru_cache(maxsize=1)
def _t2s():
    import opencc

    return opencc.OpenCC("t2s")


def _simplified(char: str) -> str:
    simplified = _t2s().convert(char)
    return simplified if len(simplified) == 1 else char


def is_invisible(char: str) -> bool:
    """Characters that render as nothing (or only decorate the previous one) and so hide words."""
    cat = unicodedata.category(char)
    if cat in _INVISIBLE_CATEGORIES:
        return True
    return cat == "Cc" and char not in _KEEP_CONTROLS


_APOSTROPHES = "\u2019\u2018\u02bc\u2032\u00b4\u0060\uff07"


def _fold_char(char: str) -> str:
    """One character folded for matching: NFKC, case, accents, confusables, simplified Chinese."""
    out, prev = char, None
    for _ in range(4):  # the steps do not commute (NFKC of a radical gives a traditional form): repeat until stable
        if out == prev:
            break
        prev = out
        out = unicodedata.normalize("NFKC", out).casefold()
        if not out.isascii():
            out = "".join(c for c in unicodedata.normalize("NFD", out) if not unicodedata.combining(c))
            out = "".join(_confusables().get(c, c) for c in out)
            out = unicodedata.normalize("NFC", out)
            out = "".join(_simplified(c) if _HAN_RE.match(c) else c for c in out)
        out = "".join("'" if c in _APOSTROPHES else c for c in out)
    return "".join(c for c in out if not is_invisible(c))


class _FoldTable(dict):
    """str.translate table that folds each code point on first sight and remembers the answer."""

    def __missing__(self, code: int) -> str:
        char = chr(code)
        result = "" if is_invisible(char) else _fold_char(char)
        self[code] = result
        return result


_FOLD = _FoldTable()

_NEEDS_SLOW = re.compile(
    "[^\x20-\x7e\n\t\u00a0-\u024f" + HAN + "\u3000-\u303f\uff01-\uff5e]"
)
_EMOJI_RE = re.compile("(" + "|".join(re.escape(e) for e in EMOJI_WORDS) + r")(?:\ufe0f)?(?:\s*\1(?:\ufe0f)?)*")
# A word of letters mixed with digits or symbols, ending in a letter or digit (so "hero!" stays),
# and not a number with a unit ("10am", "2nd", "90s").
_LEET_TOKEN = re.compile(
    r"(?<![\w@$!|+€])(?!\d+(?:st|nd|rd|th|s|am|pm|k|km|kg|g|m|cm|mm|ml|h|hr|min|mb|gb|x|yo)(?![\w@$!|+€]))"
    r"(?=[\w@$!|+€]*[a-z])(?=[\w@$!|+€]*[0-9@$!|+€])[a-z0-9@$!|+€]{2,}[a-z0-9](?![\w@$!|+€])"
)
_EMOJI_RANGES = "\U0001f300-\U0001faff\u2600-\u27bf\u2b00-\u2bff"
_SEP = rf"[ .\-_*·•/|+~^={_EMOJI_RANGES}]"
# Split letters may include leet digits (b e h 3 a d); a run is joined only when letters outnumber them.
_SPLIT_LATIN = re.compile(rf"(?<![^\W_])(?:[a-z0-9@$€]{_SEP}{{1,2}}){{2,}}[a-z0-9@$€](?![^\W_])")
# Two-character leet words (0f, 1n, 4t) are read only in a message that already uses leet elsewhere:
# alone they are too often ordinary tokens.
_LEET_SHORT = re.compile(r"(?<![\w@$!|+€])(?=[\w@$€]?[a-z])(?=[\w@$€]?[0-9@$€])[a-z0-9@$€]{2}(?![\w@$!|+€])")
_SPLIT_HAN = re.compile(rf"(?<=[{HAN}])[ .\-_*·•/|+~^={_EMOJI_RANGES}]{{1,3}}(?=[{HAN}])")
# A symbol masking or splitting a letter inside a word (inf*dels, kill_the): dropped, and the
# matcher's one-typo tolerance does the rest.
_MASK = re.compile(r"(?<=[a-z])[*_·•](?=[a-z])")
_REPEATED = re.compile(r"([^\W\d_])\1{2,}")
_SEP_CHARS = re.compile(_SEP)


@dataclass(frozen=True, slots=True)
class Normalized:
    """A normalised text, the original, and for each normalised character its original index."""

    original: str
    text: str
    offsets: tuple[int, ...] | None  # None: identity (the fast path changed no lengths)

    def source_index(self, i: int) -> int:
        return i if self.offsets is None else self.offsets[i]

    def source_span(self, start: int, end: int) -> tuple[int, int]:
        """Original [start, end) covering normalised [start, end); end is exclusive."""
        if end <= start:
            s = self.source_index(start) if start < len(self.text) else len(self.original)
            return s, s
        s = self.source_index(start)
        e = self.source_index(end - 1) + 1
        # Characters of the original that were deleted right inside the span belong to it.
        return s, max(e, s)

    def steps_for(self, start: int, end: int) -> list[str]:
        """Names of the transformations that were needed to reveal normalised [start, end)."""
        s, e = self.source_span(start, end)
        steps: set[str] = set()
        kept: set[int] = set()
        for j in range(start, end):
            i = self.source_index(j)
            kept.add(i)
            step = _char_step(self.original[i], self.text[j])
            if step:
                steps.add(step)
        prev = ""
        for i in range(s, e):
            c = self.original[i]
            if i not in kept:
                if is_invisible(c):
                    steps.add(STEP_INVISIBLE)
                elif _HAN_RE.match(c) and i - 1 in kept:
                    steps.add(STEP_COMPONENTS)
                elif c == prev or (c.isalpha() and _fold_char(c) == _fold_char(prev)):
                    steps.add(STEP_REPEATED)
                elif _SEP_CHARS.match(c) or c.isspace():
                    steps.add(STEP_SPLIT)
            prev = c
        return sorted(steps)


def _char_step(c: str, out: str) -> str | None:
    """Which transformation turned original character c into normalised character out."""
    if c in EMOJI_WORDS:
        return STEP_EMOJI
    if c.isascii():
        return STEP_LEET if out != c.lower() else None
    if _HAN_RE.match(c):
        if out == c:
            return None
        return STEP_TRADITIONAL if _fold_char(c) == out else STEP_COMPONENTS
    if unicodedata.normalize("NFKC", c) != c:
        return STEP_FULLWIDTH
    if c in _confusables() or c.casefold() in _confusables():
        return STEP_HOMOGLYPH
    if any(unicodedata.combining(x) for x in unicodedata.normalize("NFD", c)):
        return STEP_ACCENT
    return None


def _apply(text: str, offsets: list[int] | None, pattern: re.Pattern, repl) -> tuple[str, list[int] | None]:
    """Replace every match of pattern with repl(match) and carry the offsets along."""
    pieces: list[str] = []
    new_offsets: list[int] = []
    last = 0
    changed = False
    base = offsets if offsets is not None else range(len(text))
    for m in pattern.finditer(text):
        out, src = repl(m)
        if out == m.group(0):
            continue
        changed = True
        pieces.append(text[last:m.start()])
        new_offsets.extend(base[last:m.start()])
        pieces.append(out)
        new_offsets.extend(src)
        last = m.end()
    if not changed:
        return text, offsets
    pieces.append(text[last:])
    new_offsets.extend(base[last:])
    return "".join(pieces), new_offsets


def _emoji_repl(original: str, offsets):
    def repl(m: re.Match) -> tuple[str, list[int]]:
        before = m.string[m.start() - 1] if m.start() else ""
        after = m.string[m.end()] if m.end() < len(m.string) else ""
        zh = bool(_HAN_RE.match(before) or _HAN_RE.match(after))
        en, cn = EMOJI_WORDS[m.group(1)]
        src = offsets[m.start()] if offsets is not None else m.start()
        if zh:
            return cn, [src] * len(cn)
        pad_l = "" if not before or before.isspace() else " "
        pad_r = "" if not after or after.isspace() else " "
        word = f"{pad_l}{en}{pad_r}"
        return word, [src] * len(word)
    return repl


def _fold(text: str, offsets: list[int] | None) -> tuple[str, list[int] | None]:
    folded = text.translate(_FOLD)
    if offsets is None and len(folded) == len(text):
        if text.isascii():
            if not _ASCII_CONTROL_RE.search(text):
                return folded, None  # printable ASCII folds one to one
        elif all(len(_FOLD[ord(c)]) == 1 for c in set(text) if ord(c) > 0x7E or ord(c) < 0x20):
            return folded, None  # every character folded to exactly one: positions line up
    pieces: list[str] = []
    new_offsets: list[int] = []
    for i, c in enumerate(text):
        out = _FOLD[ord(c)]
        if out:
            pieces.append(out)
            src = offsets[i] if offsets is not None else i
            new_offsets.extend([src] * len(out))
    return "".join(pieces), new_offsets


def _compose(text: str, offsets: list[int] | None) -> tuple[str, list[int] | None]:
    """Join component pairs back into the character they spell (only pairs with a telltale part)."""
    pairs, telltale = _components()
    pieces: list[str] = []
    new_offsets: list[int] = []
    base = offsets if offsets is not None else range(len(text))
    last = 0
    for m in telltale.finditer(text):
        for s in (m.start() - 1, m.start()):
            if s >= last and text[s:s + 2] in pairs:
                pieces.append(text[last:s])
                new_offsets.extend(base[last:s])
                pieces.append(pairs[text[s:s + 2]])
                new_offsets.append(base[s])
                last = s + 2
                break
    if not last:
        return text, offsets
    pieces.append(text[last:])
    new_offsets.extend(base[last:])
    return "".join(pieces), new_offsets


def _leet_repl(m: re.Match) -> tuple[str, range]:
    word = m.group(0)
    return "".join(LEET.get(c, c) for c in word), range(m.start(), m.end())


def _split_repl(m: re.Match) -> tuple[str, list[int]]:
    keep = [i for i in range(m.start(), m.end()) if not _SEP_CHARS.match(m.string[i])]
    letters = sum("a" <= m.string[i] <= "z" for i in keep)
    if letters <= len(keep) - letters or letters < (2 if letters == len(keep) else 3):
        return m.group(0), []  # mostly digits or symbols: a number, a code, a list, not a spelt word
    return "".join(m.string[i] for i in keep), keep


def _drop(m: re.Match) -> tuple[str, list[int]]:
    return "", []


def _squeeze(m: re.Match) -> tuple[str, list[int]]:
    return m.group(1), [m.start()]


def _remap(fn, offsets):
    """Lift a replacement written in the current text's positions to original positions."""
    if offsets is None:
        return fn

    def repl(m: re.Match):
        out, src = fn(m)
        return out, [offsets[i] for i in src]
    return repl


_PASSES = (
    (_SPLIT_LATIN, _split_repl), (_MASK, _drop), (_SPLIT_HAN, _drop), (_LEET_TOKEN, _leet_repl), (_LEET_SHORT, _leet_repl),
)


def normalize(text: str) -> Normalized:
    """Normalise text for matching. Pure, total: any str (lone surrogates too) gives a result."""
    if not isinstance(text, str):
        raise TypeError(f"normalize() takes str, not {type(text).__name__}")
    cur, offsets = text, None
    if _NEEDS_SLOW.search(cur):
        if _EMOJI_RE.search(cur):
            cur, offsets = _apply(cur, offsets, _EMOJI_RE, _emoji_repl(text, offsets))
    cur, offsets = _fold(cur, offsets)
    leet_used = False
    for _ in range(3):  # a leet letter can complete a split or a mask, and the other way round
        before = cur
        for pattern, fn in _PASSES:
            if (pattern is not _LEET_SHORT or leet_used) and pattern.search(cur):
                leet_used = leet_used or pattern is _LEET_TOKEN
                cur, offsets = _apply(cur, offsets, pattern, _remap(fn, offsets))
        if cur == before:
            break
    if not cur.isascii() and _HAN_RE.search(cur):
        cur, offsets = _compose(cur, offsets)
    if _REPEATED.search(cur):
        cur, offsets = _apply(cur, offsets, _REPEATED, _remap(_squeeze, offsets))
    return Normalized(text, cur, tuple(offsets) if offsets is not None else None)


def visible_length(text: str) -> int:
    """Characters that are not invisible (zero-width, combining, control, lone surrogates)."""
    if text.isascii():
        return len(text) - sum(map(text.count, _ASCII_CONTROLS)) if _ASCII_CONTROL_RE.search(text) else len(text)
    return len(text.translate(_INVISIBLE))


class _InvisibleTable(dict):
    def __missing__(self, code: int) -> str:
        value = "" if is_invisible(chr(code)) else chr(code)
        self[code] = value
        return value


_INVISIBLE = _InvisibleTable()
_ASCII_CONTROLS = [chr(c) for c in list(range(0x20)) + [0x7F] if chr(c) not in _KEEP_CONTROLS]
_ASCII_CONTROL_RE = re.compile("[" + re.escape("".join(_ASCII_CONTROLS)) + "]")

_KEY_DROP = re.compile(rf"[^\w{HAN}]+|_")
_KEY_SQUEEZE = re.compile(r"(.)\1+")


def text_key(text: str) -> str:
    """A stable key for grouping near-identical texts into one case.

    Two texts share a key when they differ only in obfuscation, case, punctuation, spacing or
    repeated letters. The key is a hex SHA-256, so it can be stored and indexed as it is.
    """
    norm = normalize(text).text
    canonical = _KEY_SQUEEZE.sub(r"\1", " ".join(_KEY_DROP.sub(" ", norm).split()))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()
