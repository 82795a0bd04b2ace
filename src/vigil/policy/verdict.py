"""The verdict /v1/check gives: bank matches and the text detector's verdict combined into one, with reasons.

The rules, strongest first:
1. Any match against a (positive) bank makes the content `violating`. A bank entry is content that
   people, or a hash-sharing programme such as GIFCT or Tech Against Terrorism, already judged; a
   match within the bank's threshold is a copy of it. Negative banks (known false positives) never
   reach this function: the Matcher drops every match they overlap.
2. The text detector's verdict (violating, review or benign) passes through unchanged, with its reason:
   the detector already weighed protected contexts such as reporting and counter-speech.
3. The stronger of the two wins; with neither, the content is `benign` and there are no reasons.

Every non-benign verdict has at least one reason, each a sentence a reviewer can read.
"""

from __future__ import annotations

from typing import Any, Sequence

BENIGN, REVIEW, VIOLATING = "benign", "review", "violating"
SEVERITY = {BENIGN: 0, REVIEW: 1, VIOLATING: 2}


def match_reason(match: Any) -> str:
    labels = match.labels or {}
    described = ", ".join(f"{k} {v if isinstance(v, str) else '/'.join(map(str, v))}"
                          for k, v in labels.items() if k in ("entity", "behaviour", "content_type") and v)
    where = f"entry {match.entry_id} of bank '{match.bank}'"
    closeness = "exactly" if match.distance == 0 else f"at {match.signal_type} distance {match.distance}"
    return f"Matches {where} {closeness}" + (f" ({described})." if described else ".")


def combine(matches: Sequence[Any], text_verdict: Any | None) -> tuple[str, list[str]]:
    """(verdict, reasons) from Matcher matches and an optional TextVerdict."""
    verdict = BENIGN
    reasons: list[str] = []
    if matches:
        verdict = VIOLATING
        reasons += [match_reason(m) for m in matches]
    if text_verdict is not None and text_verdict.verdict != BENIGN:
        if SEVERITY[text_verdict.verdict] > SEVERITY[verdict]:
            verdict = text_verdict.verdict
        reasons.append(f"Text: {text_verdict.reason}")
    return verdict, reasons
