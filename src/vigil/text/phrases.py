"""Phrase matching on normalised text: Aho-Corasick over word keys (Latin) and pinyin units (Chinese).

Why two views of one text: Latin-script phrases need word boundaries ("sheep" must not fire in
"sheepdog") and tolerate doubled letters and plurals, while Chinese has no spaces and is evaded
through sound: homophone characters (胜站 for 圣战), pinyin in Latin letters (shengzhan) and pinyin
initials (SZ). Chinese phrases are therefore matched unit by unit, a unit being one Han character,
one pinyin syllable or one initial, found by Aho-Corasick on the initials and then verified.
"""

from __future__ import annotations

import bisect
import itertools
import re
import unicodedata
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from typing import Callable, Hashable, Iterable

import ahocorasick

from vigil.text.normalize import HAN, Normalized

STEP_HOMOPHONE = "homophone"
STEP_PINYIN = "pinyin"
STEP_INITIALS = "pinyin-initials"
STEP_JOINED = "joined"
STEP_MISSPELLING = "misspelling"

# Homophone and initial matches only for phrases this long: two-character words collide too often.
MIN_SOUND_MATCH_CHARS = 3
# A phrase matched only through sound (no character in common) must be at least this long.
MIN_PURE_SOUND_CHARS = 4
# Multi-word Latin phrases also match with the spaces removed (#killtheinfidels) when this long.
MIN_JOINED_CHARS = 10
MAX_INITIAL_VARIANTS = 32  # heteronyms: reading combinations tried per phrase (长 is chang or zhang)
# One typo (letter dropped, added, changed or swapped) is forgiven in words this long, inside
# multi-word phrases that are explicit on their own (never in code words: sheet is not sheep).
MIN_FUZZY_WORD = 6
_STOPWORDS = frozenset("the and for you our are all his her its with them they their tho thi".split())

_HAN_RE = re.compile(f"[{HAN}]")
_LATIN_TOKEN = re.compile(rf"[^\W_{HAN}]+")
_SQUEEZE = re.compile(r"(.)\1+")
_CN_SCAN = re.compile(rf"([{HAN}])|([a-z]+(?: [a-z]+)*)|(.)", re.S)


def word_key(token: str) -> str:
    """A Latin word reduced for matching: doubled letters squeezed, a plural -s dropped."""
    return _singular(_SQUEEZE.sub(r"\1", token))


def _singular(key: str) -> str:
    """Drop a plural -s (infidels, flags) but not the s of class, virus, crisis, isis."""
    return key[:-1] if len(key) >= 4 and key[-1] == "s" and key[-2] not in "sui" else key


# Articles carry no meaning a phrase depends on, and are the first thing a writer drops or
# respells ("kill da infidels", "be lone wolf"): they are left out of keys on both sides.
_ARTICLES = frozenset({"a", "an", "the", "da", "teh", "tha", "de"})


def latin_key(text: str) -> str:
    """A normalised Latin phrase as the space-bounded sequence of its word keys (articles left out)."""
    return " ".join(k for k in (word_key(t) for t in _LATIN_TOKEN.findall(text)) if k not in _ARTICLES)


@lru_cache(maxsize=1)
def readings() -> dict[str, tuple[str, ...]]:
    """Toneless pinyin readings of every Han character pypinyin knows (first one = most common)."""
    from pypinyin.pinyin_dict import pinyin_dict

    table: dict[str, tuple[str, ...]] = {}
    for code, value in pinyin_dict.items():
        out: list[str] = []
        for r in value.split(","):
            plain = "".join(c for c in unicodedata.normalize("NFD", r) if not unicodedata.combining(c))
            plain = plain.replace("ü", "u").lower()
            if plain and plain.isascii() and plain not in out:
                out.append(plain)
        if out:
            table[chr(code)] = tuple(out)
    return table


@lru_cache(maxsize=1)
def syllables() -> frozenset[str]:
    return frozenset(s for rs in readings().values() for s in rs)


class _InitialTable(dict):
    """str.translate table: a Han character to the initial of its first reading, all else to '#'."""

    def __missing__(self, code: int) -> str:
        rs = readings().get(chr(code))
        value = rs[0][0] if rs else "#"
        self[code] = value
        return value


_INITIALS = _InitialTable()


def segment_pinyin(run: str) -> list[str] | None:
    """Split a run of Latin letters into pinyin syllables (fewest syllables), or None."""
    if len(run) > 40:
        return None
    syl = syllables()
    best: list[list[str] | None] = [None] * (len(run) + 1)
    best[0] = []
    for i in range(len(run)):
        if best[i] is None:
            continue
        for j in range(i + 1, min(len(run), i + 6) + 1):
            piece = run[i:j]
            if piece in syl:
                cand = best[i] + [piece]
                if best[j] is None or len(cand) < len(best[j]):
                    best[j] = cand
    return best[len(run)]


@dataclass(frozen=True, slots=True)
class Unit:
    """One Chinese matching unit: a Han character, a pinyin syllable, an initial, or a separator."""

    kind: str  # "han" | "pinyin" | "initial" | "sep"
    value: str
    start: int
    end: int


@dataclass
class TextView:
    """The views of one normalised message that phrase matchers share."""

    norm: Normalized

    @cached_property
    def latin(self) -> tuple[str, list[int], list[tuple[int, int]]]:
        """(space-bounded key string, start of each key in it, normalised span of each token)."""
        matches = list(_LATIN_TOKEN.finditer(self.norm.text))
        spans = [m.span() for m in matches]
        # Squeeze doubled letters in one pass over all tokens (single spaces never repeat).
        keys = _SQUEEZE.sub(r"\1", " ".join(m.group(0) for m in matches)).split(" ") if matches else []
        kept = [(_singular(k), span) for k, span in zip(keys, spans) if k not in _ARTICLES]
        keys = [k for k, _ in kept]
        spans = [span for _, span in kept]
        starts: list[int] = []
        pos = 1
        for k in keys:
            starts.append(pos)
            pos += len(k) + 1
        return " " + " ".join(keys) + " ", starts, spans

    @cached_property
    def has_han(self) -> bool:
        return _HAN_RE.search(self.norm.text) is not None

    @cached_property
    def units(self) -> list[Unit] | None:
        """Units, or None when every normalised character is its own unit (the fast path)."""
        text = self.norm.text
        if not any("a" <= c <= "z" for c in text):
            return None
        units: list[Unit] = []
        for m in _CN_SCAN.finditer(text):
            if m.group(1):
                units.append(Unit("han", m.group(1), m.start(), m.end()))
            elif m.group(2):
                units.extend(self._latin_units(m))
            elif not m.group(3).isspace():  # spaces around pinyin are spacing, not a break
                units.append(Unit("sep", m.group(3), m.start(), m.end()))
        return units

    def _latin_units(self, m: re.Match) -> list[Unit]:
        """Latin words next to Han characters are pinyin (shengzhan, sheng zhan) or initials (SZ)."""
        text, s, e = self.norm.text, m.start(), m.end()
        before = text[s - 2:s].strip()[-1:] if s else ""
        after = text[e:e + 2].strip()[:1]
        if not (_HAN_RE.match(before) or _HAN_RE.match(after)):
            return [Unit("sep", m.group(2), s, e)]
        out: list[Unit] = []
        for w in re.finditer(r"[a-z]+", m.group(2)):
            parts = segment_pinyin(w.group(0))
            if not parts:
                break
            pos = s + w.start()
            for p in parts:
                out.append(Unit("pinyin", p, pos, pos + len(p)))
                pos += len(p)
        else:
            return out
        letters = [(s + k, c) for k, c in enumerate(m.group(2)) if c != " "]
        original = "".join(self.norm.original[self.norm.source_index(i)] for i, _ in letters)
        if len(letters) <= 6 and original.isupper():
            return [Unit("initial", c, i, i + 1) for i, c in letters]
        return [Unit("sep", m.group(2), s, e)]

    @cached_property
    def initials(self) -> str:
        units = self.units
        if units is None:
            return self.norm.text.translate(_INITIALS)
        return "".join(_unit_initial(u) for u in units)


def _unit_initial(u: Unit) -> str:
    if u.kind == "han":
        return u.value.translate(_INITIALS)
    if u.kind in ("pinyin", "initial"):
        return u.value[0]
    return "#"


@dataclass(frozen=True, slots=True)
class PhraseHit:
    """A phrase found in a message: its label, the normalised span, and how it was revealed."""

    label: Hashable
    start: int
    end: int
    steps: frozenset[str] = field(default_factory=frozenset)


def _deletions(word: str) -> set[str]:
    return {word[:i] + word[i + 1:] for i in range(len(word))}


class PhraseMatcher:
    """Finds many phrases at once in a TextView. Build once per lexicon, use for every message.

    fuzzy(label) says which phrases tolerate one typo per long word (SymSpell-style deletions).
    """

    def __init__(self, phrases: Iterable[tuple[str, Hashable]], fuzzy: Callable[[Hashable], bool] | None = None):
        self._latin = ahocorasick.Automaton()
        self._vocab: set[str] = set()
        self._near: dict[str, set[str]] = {}  # a word, or it with one letter deleted -> fuzzy words
        self._anchors: set[str] = set()  # long words of typo-tolerant phrases: one must be spelt right
        self._joined = ahocorasick.Automaton()
        self._han = ahocorasick.Automaton()
        latin: dict[str, list[Hashable]] = {}
        joined: dict[str, list[Hashable]] = {}
        han: dict[str, list[tuple[Hashable, str]]] = {}
        for phrase, label in phrases:
            if _HAN_RE.search(phrase):
                chars = "".join(_HAN_RE.findall(phrase))
                if len(chars) < 2 and len(phrase.strip()) > 1:
                    continue  # mixed scripts with one Han character ("DM我") would fire on every 我
                for variant in _initial_variants(chars):
                    han.setdefault(variant, []).append((label, chars))
                continue
            key = latin_key(phrase)
            if not key:
                continue
            latin.setdefault(f" {key} ", []).append(label)
            words = key.split()
            self._vocab.update(words)
            if fuzzy and len(words) >= 2 and fuzzy(label):
                self._anchors.update(w for w in words if len(w) >= 3 and w not in _STOPWORDS)
                for w in words:
                    if len(w) >= MIN_FUZZY_WORD:
                        for d in _deletions(w) | {w}:
                            self._near.setdefault(d, set()).add(w)
            tokens = _LATIN_TOKEN.findall(phrase)
            spelt = [word_key(t) for t in tokens]  # articles kept: #killtheinfidels
            if len(spelt) > 1:
                # A joined hashtag is one word, so only its end is singularised: inner plurals stay.
                as_written = _singular(_SQUEEZE.sub(r"\1", "".join(tokens)))
                for variant in {key.replace(" ", ""), "".join(spelt), as_written}:
                    if len(variant) >= MIN_JOINED_CHARS:
                        joined.setdefault(variant, []).append(label)
        for auto, table in ((self._latin, latin), (self._joined, joined), (self._han, han)):
            for k, v in table.items():
                auto.add_word(k, (k, tuple(dict.fromkeys(v))))
            if table:
                auto.make_automaton()
        self._has = {"latin": bool(latin), "joined": bool(joined), "han": bool(han)}

    def find(self, view: TextView) -> list[PhraseHit]:
        hits: list[PhraseHit] = []
        if self._has["latin"]:
            hits.extend(self._find_latin(view))
        if self._has["han"] and view.has_han:
            hits.extend(self._find_han(view))
        return hits

    def _find_latin(self, view: TextView) -> Iterable[PhraseHit]:
        keystr, starts, spans = view.latin
        if len(keystr) <= 2:
            return
        found: set[tuple[int, int]] = set()
        for end, (key, labels) in self._latin.iter(keystr):
            first = bisect.bisect_left(starts, end - len(key) + 2)
            last = bisect.bisect_right(starts, end - 1) - 1
            found.add((first, last))
            for label in labels:
                yield PhraseHit(label, spans[first][0], spans[last][1])
        if self._near:
            yield from self._find_misspelt(keystr, spans, found)
        if not self._has["joined"] or not starts:
            return
        joined = keystr.replace(" ", "")
        # Position of each key's first character in the joined string.
        jstarts, pos = [], 0
        for i, s in enumerate(starts):
            jstarts.append(pos)
            nxt = starts[i + 1] if i + 1 < len(starts) else len(keystr)
            pos += nxt - s - 1
        for end, (key, labels) in self._joined.iter(joined):
            begin = end - len(key) + 1
            first = bisect.bisect_right(jstarts, begin) - 1
            last = bisect.bisect_right(jstarts, end) - 1
            if jstarts[first] != begin or (first, last) in found:
                continue
            nxt = jstarts[last + 1] if last + 1 < len(jstarts) else len(joined)
            if nxt != end + 1:
                continue
            for label in labels:
                yield PhraseHit(label, spans[first][0], spans[last][1], frozenset({STEP_JOINED}))

    def _find_misspelt(self, keystr: str, spans, found) -> Iterable[PhraseHit]:
        keys = keystr.split()
        if self._anchors.isdisjoint(keys):
            return
        fixed = list(keys)
        changed: set[int] = set()
        for i, k in enumerate(keys):
            if len(k) < MIN_FUZZY_WORD - 1 or k in self._vocab:
                continue
            near = set(self._near.get(k, ()))
            for d in _deletions(k):
                near |= self._near.get(d, set())
            if len(near) == 1:
                fixed[i] = near.pop()
                changed.add(i)
        if not changed:
            return
        starts, pos = [], 1
        for k in fixed:
            starts.append(pos)
            pos += len(k) + 1
        for end, (key, labels) in self._latin.iter(" " + " ".join(fixed) + " "):
            first = bisect.bisect_left(starts, end - len(key) + 2)
            last = bisect.bisect_right(starts, end - 1) - 1
            if (first, last) in found or not changed & set(range(first, last + 1)):
                continue
            for label in labels:
                yield PhraseHit(label, spans[first][0], spans[last][1], frozenset({STEP_MISSPELLING}))

    def _find_han(self, view: TextView) -> Iterable[PhraseHit]:
        units = view.units
        text = view.norm.text
        for end, (_key, entries) in self._han.iter(view.initials):
            n = len(_key)
            begin = end - n + 1
            for label, chars in entries:
                steps = _verify(text, units, begin, chars)
                if steps is None:
                    continue
                if units is None:
                    s, e = begin, end + 1
                else:
                    s, e = units[begin].start, units[end].end
                yield PhraseHit(label, s, e, steps)


def _initial_variants(chars: str) -> list[str]:
    table = readings()
    options = [sorted({r[0] for r in table.get(c, ())}) or ["#"] for c in chars]
    out = []
    for combo in itertools.islice(itertools.product(*options), MAX_INITIAL_VARIANTS):
        out.append("".join(combo))
    return out


def _verify(text: str, units: list[Unit] | None, begin: int, chars: str) -> frozenset[str] | None:
    """Check a candidate unit by unit; return the sound steps used, or None when it does not match."""
    table = readings()
    n = len(chars)
    exact = 0
    steps: set[str] = set()
    for j, tc in enumerate(chars):
        if units is None:
            kind, value = "han", text[begin + j]
        else:
            u = units[begin + j]
            kind, value = u.kind, u.value
        if kind == "han":
            if value == tc:
                exact += 1
                continue
            if n >= MIN_SOUND_MATCH_CHARS and set(table.get(value, ())) & set(table.get(tc, ())):
                steps.add(STEP_HOMOPHONE)
                continue
            return None
        if kind == "pinyin":
            if value in table.get(tc, ()):
                steps.add(STEP_PINYIN)
                continue
            return None
        if kind == "initial" and n >= MIN_SOUND_MATCH_CHARS:
            if any(r[0] == value for r in table.get(tc, ())):
                steps.add(STEP_INITIALS)
                continue
        return None
    if steps - {STEP_PINYIN} and exact == 0 and n < MIN_PURE_SOUND_CHARS:
        return None
    return frozenset(steps)


@lru_cache(maxsize=1)
def _jieba():
    import logging

    import jieba

    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()
    return jieba


def add_words(words: Iterable[str]) -> None:
    """Teach the Chinese segmenter the lexicon's words, so it keeps them whole."""
    jb = _jieba()
    for w in words:
        if _HAN_RE.search(w):
            jb.add_word(w)


def word_aligned(text: str, start: int, end: int) -> bool:
    """Whether text[start:end] starts and ends on jieba word boundaries (for short Chinese words)."""
    bounds = {0}
    pos = 0
    for w in _jieba().cut(text):
        pos += len(w)
        bounds.add(pos)
    return start in bounds and end in bounds
