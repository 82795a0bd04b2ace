"""The verdict policy: a positive bank match is violating, the text verdict passes through, the stronger wins."""

from __future__ import annotations

import pytest

from vigil.cases.checks import evidence_of
from vigil.match import Match
from vigil.policy.verdict import assess
from vigil.text.detect import TextVerdict


def combine(matches, text_verdict):
    """The verdict rule on the evidence of these matches and this text verdict: (verdict, reasons)."""
    a = assess(evidence_of(list(matches), text_verdict, None))
    return a.verdict, a.reasons


def text(verdict: str, reason: str = "because") -> TextVerdict:
    return TextVerdict(verdict=verdict, score=0.5, category=None, hits=[], reason=reason)


MATCH = Match("tvec", 7, "pdq", "ab" * 32, 12, {"entity": "Group A", "content_type": "video"}, {})
EXACT = Match("hashes", 9, "md5", "0" * 32, 0, {}, {})


def test_nothing_is_benign_without_reasons():
    assert combine([], None) == ("benign", [])
    assert combine([], text("benign")) == ("benign", [])


@pytest.mark.parametrize("v", ["review", "violating"])
def test_text_verdict_passes_through_with_its_reason(v):
    verdict, reasons = combine([], text(v, "Flagged: x."))
    assert verdict == v and reasons == ["Text: Flagged: x."]


@pytest.mark.parametrize("v", ["benign", "review", "violating"])
def test_a_bank_match_is_violating_whatever_the_text_says(v):
    verdict, reasons = combine([MATCH], text(v))
    assert verdict == "violating"
    assert "entry 7 of bank 'tvec'" in reasons[0] and "distance 12" in reasons[0] and "Group A" in reasons[0]
    assert len(reasons) == (1 if v == "benign" else 2)


def test_every_match_gets_a_reason():
    verdict, reasons = combine([EXACT, MATCH], None)
    assert verdict == "violating" and len(reasons) == 2 and "exactly" in reasons[0]
