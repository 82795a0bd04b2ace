"""A case's evidence: the bank matches and the text verdict Vigil found for its copies, as one typed record.

Evidence is produced by the checks (vigil.cases.checks for notices, /v1/check for single checks), judged
by vigil.policy.verdict, stored with the case (a JSON column, vigil.store.cases), and shown to reviewers.
Its JSON keys are part of the API (`GET /v1/cases/{id}`) and of intake's SQL, which reads `crisis`,
`matches[0].bank` and `text.score` inside the database.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class MatchEvidence(BaseModel):
    """One bank entry the content matched, with the entry's labels and metadata as they were at the time."""

    model_config = ConfigDict(frozen=True)

    bank: str
    entry_id: int
    signal_type: str
    value: str
    distance: int
    labels: dict[str, Any] = Field(default_factory=dict)
    metadata: dict[str, Any] = Field(default_factory=dict)


class TextEvidence(BaseModel):
    """The text detector's verdict on the content's text (vigil.text.detect.TextVerdict, as data)."""

    model_config = ConfigDict(frozen=True)

    verdict: str
    score: float
    category: str | None = None
    hits: list[dict[str, Any]] = Field(default_factory=list)
    reason: str = ""
    semantic: str = "not_needed"
    notes: list[str] = Field(default_factory=list)


class Evidence(BaseModel):
    model_config = ConfigDict(frozen=True)

    matches: list[MatchEvidence] = Field(default_factory=list)
    text: TextEvidence | None = None
    crisis: bool = False

    @property
    def bank_match(self) -> bool:
        return bool(self.matches)

    @property
    def detector_score(self) -> float:
        return self.text.score if self.text else 0.0

    @property
    def detected(self) -> bool:
        """Whether Vigil's own detection found something (a bank match, or text flagged for violation or review)."""
        return self.bank_match or (self.text is not None and self.text.verdict in ("violating", "review"))


def merged(found: list[Evidence]) -> Evidence:
    """A case's evidence from the checks of its copies: every bank match (once), the strongest text verdict, and
    crisis if any copy is. A copy that matches a bank counts even when it is not the first notice's content."""
    matches: list[MatchEvidence] = []
    seen: set[tuple[str, int]] = set()
    for ev in found:
        for m in ev.matches:
            if (m.bank, m.entry_id) not in seen:
                seen.add((m.bank, m.entry_id))
                matches.append(m)
    texts = [ev.text for ev in found if ev.text]
    return Evidence(matches=matches, text=max(texts, key=lambda t: t.score) if texts else None,
                    crisis=any(ev.crisis for ev in found))
