"""Vigil's checks, run once per case when it opens: bank matches for its hashes, the text detector for its text.

The result is the case's evidence (plain JSON), which feeds priority, automatic action and the console.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from vigil.cases.notice import ContentIn
from vigil.cases.priority import CRISIS_LABELS
from vigil.signals import Signal

EXACT_TYPES = frozenset({"md5", "sha256"})

_matchers: dict = {}
_lock = threading.Lock()


def matcher_for(db_url: str):
    """One Matcher per database per process: it keeps its index warm and refreshes itself.

    Imported on first use, like the detector: only processes that open cases need the indexes and lexicons.
    """
    from vigil.match import Matcher

    with _lock:
        if db_url not in _matchers:
            _matchers[db_url] = Matcher(db_url)
        return _matchers[db_url]


@dataclass(frozen=True)
class Evidence:
    matches: list[dict]
    text: dict | None
    crisis: bool

    @property
    def bank_match(self) -> bool:
        return bool(self.matches)

    @property
    def detector_score(self) -> float:
        return float(self.text["score"]) if self.text else 0.0

    def to_dict(self) -> dict:
        return {"matches": self.matches, "text": self.text, "crisis": self.crisis}


def is_crisis(labels: dict, category: str | None) -> bool:
    values = {str(v).lower() for v in labels.values()} | {str(k).lower() for k, v in labels.items() if v is True}
    return bool(values & CRISIS_LABELS) or (category or "") in CRISIS_LABELS


@dataclass(frozen=True)
class Checkers:
    """The matcher and detector a process already holds (the service shares its own); None: this module's."""

    matcher: object | None = None
    detector: object | None = None


def check(db_url: str, contents: list[ContentIn], categories: list[str | None],
          checkers: Checkers = Checkers()) -> list[Evidence]:
    """Evidence for each content: its bank matches, and one detector pass over all the texts."""
    signals = [[Signal(t, v, None) for t, v in c.hashes.items()] for c in contents]
    matcher = (checkers.matcher or matcher_for(db_url)) if any(signals) else None
    if matcher is not None:
        # One query per batch: a case opens against the banks as committed now, not as of the last 0.5 s poll.
        matcher.refresh()
    texts = [(i, c.text) for i, c in enumerate(contents) if c.text]
    verdicts = {}
    if texts:
        from vigil.text.detect import Detector

        detector = checkers.detector or Detector.default()
        verdicts = dict(zip([i for i, _ in texts], detector.check_many([t for _, t in texts])))
    out = []
    for i, (group, category) in enumerate(zip(signals, categories)):
        matches = matcher.match(group) if group else []
        labels: dict = {}
        for m in matches:
            labels.update(m.labels)
        verdict = verdicts.get(i)
        out.append(Evidence(matches=[m.to_dict() for m in matches], text=verdict.to_dict() if verdict else None,
                            crisis=is_crisis(labels, category or (verdict.category if verdict else None))))
    return out


def merged(found: list[Evidence]) -> Evidence:
    """A case's evidence from the checks of its copies: every bank match (once), the strongest text verdict, and
    crisis if any copy is. A copy that matches a bank counts even when it is not the first notice's content."""
    matches, seen = [], set()
    for ev in found:
        for m in ev.matches:
            if (m["bank"], m["entry_id"]) not in seen:
                seen.add((m["bank"], m["entry_id"]))
                matches.append(m)
    texts = [ev.text for ev in found if ev.text]
    return Evidence(matches=matches, text=max(texts, key=lambda t: t["score"]) if texts else None,
                    crisis=any(ev.crisis for ev in found))


def verified_exact_match(evidence: dict, banks: frozenset[str]) -> dict | None:
    """The first match that allows automatic action: an exact match to an entry in a bank the operator verified."""
    for m in evidence.get("matches", []):
        if m["bank"] in banks and (m["signal_type"] in EXACT_TYPES or m["distance"] == 0):
            return m
    return None
