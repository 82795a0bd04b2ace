"""Queue routing: the first rule whose conditions all hold names the queue (rules that are not set match anything)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable


@dataclass(frozen=True)
class QueueRule:
    queue: str
    category: str | None = None
    language: str | None = None
    source: str | None = None

    def matches(self, category: str | None, language: str | None, source: str) -> bool:
        return ((self.category is None or self.category == category)
                and (self.language is None or _in_range(language, self.language))
                and (self.source is None or self.source == source))


def _in_range(tag: str | None, language_range: str) -> bool:
    """BCP 47 basic filtering (RFC 4647): a rule for "en" takes "en", "EN" and "en-GB", not "eng"."""
    if tag is None:
        return False
    tag, language_range = tag.lower(), language_range.lower()
    return tag == language_range or tag.startswith(language_range + "-")


def route(rules: Iterable[QueueRule], default: str, *, category: str | None, language: str | None, source: str) -> str:
    for rule in rules:
        if rule.matches(category, language, source):
            return rule.queue
    return default
