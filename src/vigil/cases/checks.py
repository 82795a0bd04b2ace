"""Vigil's own checks of reported content: bank matches for its hashes, the text detector for its text.

The result is the content's evidence (vigil.evidence.Evidence), which feeds priority, automatic action
and the console. The matcher and detector are the process's own (the runtime holds them) and are passed in.
"""

from __future__ import annotations

from typing import Protocol, Sequence

from vigil.cases.notice import ContentIn
from vigil.evidence import Evidence, MatchEvidence, TextEvidence
from vigil.match import Match
from vigil.policy.priority import is_crisis
from vigil.signals import Signal
from vigil.text.detect import TextVerdict


class Matching(Protocol):
    def refresh(self) -> int: ...

    def match(self, found: Sequence[Signal], banks: list[str] | None = None) -> list[Match]: ...


class Detecting(Protocol):
    def check_many(self, texts: Sequence[str]) -> list[TextVerdict]: ...


def match_evidence(m: Match) -> MatchEvidence:
    return MatchEvidence(bank=m.bank, entry_id=m.entry_id, signal_type=m.signal_type, value=m.value,
                         distance=m.distance, labels=m.labels, metadata=m.metadata)


def text_evidence(verdict: TextVerdict) -> TextEvidence:
    return TextEvidence.model_validate(verdict.to_dict())


def evidence_of(matches: list[Match], verdict: TextVerdict | None, category: str | None) -> Evidence:
    labels: dict = {}
    for m in matches:
        labels.update(m.labels)
    return Evidence(matches=[match_evidence(m) for m in matches],
                    text=text_evidence(verdict) if verdict is not None else None,
                    crisis=is_crisis(labels, category or (verdict.category if verdict else None)))


def check(contents: list[ContentIn], categories: list[str | None], matcher: Matching,
          detector: Detecting) -> list[Evidence]:
    """Evidence for each content: its bank matches, and one detector pass over all the texts."""
    found = [[Signal(t, v, None) for t, v in c.hashes.items()] for c in contents]
    if any(found):
        # One query per batch: a case opens against the banks as committed now, not as of the last 0.5 s poll.
        matcher.refresh()
    texts = [(i, c.text) for i, c in enumerate(contents) if c.text]
    verdicts = dict(zip([i for i, _ in texts], detector.check_many([t for _, t in texts]))) if texts else {}
    return [evidence_of(matcher.match(group) if group else [], verdicts.get(i), category)
            for i, (group, category) in enumerate(zip(found, categories))]
