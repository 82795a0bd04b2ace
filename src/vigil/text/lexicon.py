"""Lexicons in the vigil-lexicon/1 interchange format: load, validate, compile for matching.

Operators receive these briefs from partners and must be able to use them as they are, so
loading accepts the format exactly and rejects a bad entry with its id and field named,
instead of failing later while scanning.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cached_property, lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Iterable, Sequence

from vigil.text.normalize import HAN, normalize
from vigil.text.phrases import PhraseMatcher, add_words, latin_key

_HAN_RE = re.compile(f"[{HAN}]")

FORMAT = "vigil-lexicon/1"
CATEGORIES = ("recruitment", "incitement", "glorification", "propaganda", "financing", "attack_planning")
SEVERITIES = ("low", "medium", "high", "critical")
_REQUIRED = ("id", "category", "severity", "terms", "coded")
_LISTS = ("languages", "terms", "context", "examples")
_KNOWN = set(_REQUIRED) | set(_LISTS) | {"meaning"}


class LexiconError(ValueError):
    """A lexicon that cannot be used; the message names the file, entry id and field."""


@dataclass(frozen=True, slots=True)
class Entry:
    """One lexicon entry: surface terms, whether they are code words, and what makes them suspicious."""

    id: str
    category: str
    severity: str
    terms: tuple[str, ...]
    coded: bool
    languages: tuple[str, ...] = ()
    context: tuple[str, ...] = ()
    examples: tuple[str, ...] = ()
    meaning: str = ""
    source: str = ""

    @property
    def needs_context(self) -> bool:
        """Coded terms, and plain terms that the lexicon lists cues for, fire only with context."""
        return self.coded or bool(self.context)


def _fail(source: str, where: str, message: str) -> LexiconError:
    return LexiconError(f"{source}: {where}: {message}")


def _string_list(value: Any, source: str, where: str, field: str, *, non_empty: bool) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise _fail(source, where, f"field '{field}' must be a list of strings, not {type(value).__name__}")
    for i, item in enumerate(value):
        if not isinstance(item, str) or not item.strip():
            raise _fail(source, where, f"field '{field}'[{i}] must be a non-empty string")
    if non_empty and not value:
        raise _fail(source, where, f"field '{field}' must not be empty")
    return tuple(item.strip() for item in value)


def parse_entries(data: Any, source: str = "<lexicon>") -> tuple[list[Entry], list[str]]:
    """Validate a decoded vigil-lexicon/1 document. Returns (entries, warnings); raises LexiconError."""
    if not isinstance(data, dict):
        raise _fail(source, "document", f"must be a JSON object with 'format' and 'entries', not {type(data).__name__}")
    if data.get("format") != FORMAT:
        raise _fail(source, "document", f"field 'format' must be {FORMAT!r}, got {data.get('format')!r}")
    raw = data.get("entries")
    if not isinstance(raw, list):
        raise _fail(source, "document", "field 'entries' must be a list")
    warnings = [f"{source}: document: unknown field '{k}' ignored" for k in data if k not in ("format", "entries")]
    entries: list[Entry] = []
    seen: set[str] = set()
    for index, item in enumerate(raw):
        where = f"entry #{index}"
        if not isinstance(item, dict):
            raise _fail(source, where, "must be a JSON object")
        entry_id = item.get("id")
        if not isinstance(entry_id, str) or not entry_id.strip():
            raise _fail(source, where, "field 'id' must be a non-empty string")
        where = f"entry '{entry_id}'"
        if entry_id in seen:
            raise _fail(source, where, "duplicate id")
        seen.add(entry_id)
        for name in _REQUIRED:
            if name not in item:
                raise _fail(source, where, f"missing field '{name}'")
        if item["category"] not in CATEGORIES:
            raise _fail(source, where, f"field 'category' must be one of {', '.join(CATEGORIES)}; got {item['category']!r}")
        if item["severity"] not in SEVERITIES:
            raise _fail(source, where, f"field 'severity' must be one of {', '.join(SEVERITIES)}; got {item['severity']!r}")
        if not isinstance(item["coded"], bool):
            raise _fail(source, where, f"field 'coded' must be true or false, got {item['coded']!r}")
        meaning = item.get("meaning", "")
        if not isinstance(meaning, str):
            raise _fail(source, where, "field 'meaning' must be a string")
        lists = {
            name: _string_list(item.get(name, []), source, where, name, non_empty=(name == "terms"))
            for name in _LISTS
        }
        warnings.extend(f"{source}: {where}: unknown field '{k}' ignored" for k in item if k not in _KNOWN)
        if item["coded"] and not lists["context"] and not lists["examples"]:
            warnings.append(f"{source}: {where}: coded entry has neither 'context' nor 'examples', so it can never fire")
        entries.append(Entry(
            id=entry_id, category=item["category"], severity=item["severity"], coded=item["coded"],
            meaning=meaning, source=source, **lists,
        ))
    return entries, warnings


def load_entries(path: str | Path) -> tuple[list[Entry], list[str]]:
    """Read and validate one lexicon file."""
    p = Path(path)
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise LexiconError(f"{p}: cannot read: {exc.strerror or exc}") from exc
    try:
        data = json.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise LexiconError(f"{p}: not UTF-8 text (byte {exc.start})") from exc
    except json.JSONDecodeError as exc:
        raise LexiconError(f"{p}: invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}") from exc
    return parse_entries(data, str(p))


def default_lexicon_path() -> Path:
    return Path(str(resources.files("vigil.text").joinpath("data/default_lexicon.json")))


class Lexicon:
    """Entries from one or more files, compiled into one matcher over terms and context cues."""

    def __init__(self, entries: Sequence[Entry], warnings: Sequence[str] = ()):
        ids: dict[str, str] = {}
        for e in entries:
            if e.id in ids:
                raise LexiconError(f"{e.source}: entry '{e.id}': duplicate id (also in {ids[e.id]})")
            ids[e.id] = e.source
        self.entries: tuple[Entry, ...] = tuple(entries)
        self.warnings: tuple[str, ...] = tuple(warnings)

    @classmethod
    def load(cls, paths: Iterable[str | Path] = (), *, default: bool = True) -> "Lexicon":
        entries: list[Entry] = []
        warnings: list[str] = []
        files = ([default_lexicon_path()] if default else []) + [Path(p) for p in paths]
        for f in files:
            e, w = load_entries(f)
            entries.extend(e)
            warnings.extend(w)
        return cls(entries, warnings)

    @cached_property
    def matcher(self) -> PhraseMatcher:
        """Terms are labelled ("term", entry index, term); cues ("cue", cue key)."""
        phrases: list[tuple[str, tuple]] = []
        for i, e in enumerate(self.entries):
            for t in e.terms:
                phrases.append((normalize(t).text, ("term", i, t)))
            for c in e.context:
                phrases.append((normalize(c).text, ("cue", cue_key(c))))
        return PhraseMatcher(phrases, fuzzy=lambda label: label[0] == "term" and not self.entries[label[1]].coded)

    def teach_segmenter(self) -> None:
        add_words(normalize(t).text for e in self.entries for t in e.terms)


@lru_cache(maxsize=65536)
def cue_key(cue: str) -> str:
    """The identity of a context cue: its matching key, so "brother" and "brothers" are one cue."""
    text = normalize(cue).text.strip()
    return text if _HAN_RE.search(text) else latin_key(text)
