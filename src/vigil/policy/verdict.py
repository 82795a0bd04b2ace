"""The verdict rule: what Vigil concludes from content's evidence, and whether it may act without a person.

`/v1/check` and notice intake ask this one rule the same question about the same evidence
(vigil.evidence.Evidence) and get the same answer. Intake also uses the second half of the answer,
`act_on`: the evidence that allows an automatic action, which a check only reports.

The rules, strongest first:
1. Any match against a (positive) bank makes the content `violating`. A bank entry is content that
   people, or a hash-sharing programme such as GIFCT or Tech Against Terrorism, already judged; a
   match within the bank's threshold is a copy of it. Negative banks (known false positives) never
   reach this rule: the Matcher drops every match they overlap.
2. The text detector's verdict (violating, review or benign) passes through unchanged, with its reason:
   the detector already weighed protected contexts such as reporting and counter-speech.
3. The stronger of the two wins; with neither, the content is `benign` and there are no reasons.
4. Automatic action needs more than a verdict: an exact match (md5, sha256, or PDQ at distance 0) to an
   entry of a bank the operator verified for it (`CasePolicy.auto_action_banks`). Everything else waits
   for a person.

Every non-benign verdict has at least one reason, each a sentence a reviewer can read.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Collection

from vigil.evidence import Evidence, MatchEvidence
from vigil.vocabulary import VERDICT_SEVERITY, Verdict

EXACT_SIGNALS = frozenset({"md5", "sha256"})


@dataclass(frozen=True)
class Assessment:
    verdict: Verdict
    reasons: list[str]
    act_on: MatchEvidence | None
    """The match that allows acting without review, or None: a person decides."""


def match_reason(match: MatchEvidence) -> str:
    labels = match.labels or {}
    described = ", ".join(f"{k} {v if isinstance(v, str) else '/'.join(map(str, v))}"
                          for k, v in labels.items() if k in ("entity", "behaviour", "content_type") and v)
    where = f"entry {match.entry_id} of bank '{match.bank}'"
    closeness = "exactly" if match.distance == 0 else f"at {match.signal_type} distance {match.distance}"
    return f"Matches {where} {closeness}" + (f" ({described})." if described else ".")


def verified_exact_match(evidence: Evidence, auto_action_banks: Collection[str]) -> MatchEvidence | None:
    """The first match that allows automatic action: an exact match to an entry in a bank the operator verified."""
    for m in evidence.matches:
        if m.bank in auto_action_banks and (m.signal_type in EXACT_SIGNALS or m.distance == 0):
            return m
    return None


def assess(evidence: Evidence, auto_action_banks: Collection[str] = frozenset()) -> Assessment:
    """The verdict on `evidence`, its reasons, and the match (if any) that allows acting without review."""
    verdict = Verdict.BENIGN
    reasons: list[str] = []
    if evidence.matches:
        verdict = Verdict.VIOLATING
        reasons += [match_reason(m) for m in evidence.matches]
    text = evidence.text
    if text is not None and text.verdict != Verdict.BENIGN:
        said = Verdict(text.verdict)
        if VERDICT_SEVERITY[said] > VERDICT_SEVERITY[verdict]:
            verdict = said
        reasons.append(f"Text: {text.reason}")
    return Assessment(verdict, reasons, verified_exact_match(evidence, auto_action_banks))
