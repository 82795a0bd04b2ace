"""Cue specificity, kinship and the obfuscations the held-out set exposed: mechanisms, not sentences."""

from __future__ import annotations

from pathlib import Path

import pytest

from vigil.text.context import kinship_spans
from vigil.text.detect import Detector
from vigil.text.normalize import normalize
from vigil.text.specificity import MIN_WEIGHT, frequency_weight, generic_cues

HELDOUT = Path(__file__).parent / "data" / "heldout_lexicon.json"


@pytest.fixture(scope="module")
def lexical():
    return Detector([HELDOUT], embeddings=None)


def test_rare_cues_weigh_more_than_everyday_ones():
    pytest.importorskip("wordfreq")
    for rare, common in (("hawala", "training"), ("pressure cooker", "uncle"), ("蛇头", "工具")):
        assert frequency_weight(rare) > frequency_weight(common), (rare, common)
    for cue in ("hawala", "training", "the patient", "兄弟", "zzqxv unknown"):
        assert MIN_WEIGHT <= frequency_weight(cue) <= 1.0


def test_cue_listed_by_most_code_words_is_generic():
    contexts = [{"brother", "wallet"}, {"brother", "signal"}, {"brother", "groom"}, {"coach"}]
    assert generic_cues(contexts) == {"brother"}
    assert generic_cues([{"brother"}]) == frozenset()  # one entry cannot make a cue generic


@pytest.mark.parametrize("text, kin", [
    ("my brothers and i went", True), ("the bride's brothers flew in", True), ("her two brothers", True),
    ("兄弟俩吵了一下午", True), ("表兄弟来了", True),
    ("brothers, the day is close", False), ("pray for our brother", False), ("兄弟们等信号", False),
])
def test_kinship(text, kin):
    assert bool(kinship_spans(normalize(text).text)) is kin


def test_brothers_as_family_are_not_an_in_group_cue(lexical):
    assert lexical.check("My brothers and I fought over the toys all afternoon.").verdict == "benign"
    assert lexical.check("Brothers, the toys are hidden at the farm, pick them up with the rounds.").flagged


def test_one_everyday_cue_never_wakes_the_model():
    d = Detector([HELDOUT])
    v = d.check("兄弟们的玩具都收起来了。")
    assert v.verdict == "benign" and v.semantic == "not_needed"


@pytest.mark.parametrize("text, expected", [
    ("b e h 3 a d the 4 p o s t a t e s", "behead the apostates"),
    ("j0in th3 s0ldi3rs 0f th3 khil4f4h", "join the soldiers of the khilafah"),
    ("call 5 5 5 1 2 3 now", "call 5 5 5 1 2 3 now"),  # numbers stay numbers
    ("room 4 b", "room 4 b"),
    ("of 2d art", "of 2d art"),  # two-letter leet only where the message already uses leet
])
def test_leet_inside_spaced_letters_and_short_leet_words(text, expected):
    assert normalize(text).text == expected


@pytest.mark.parametrize("text", ["#jointhesoldiersofthekhilafah", "s p o n s o r a m u j a h i d"])
def test_single_token_hashtags_and_spelt_phrases(lexical, text):
    v = lexical.check(text)
    assert v.verdict == "violating", v.reason
    assert v.hits[0].matched.lstrip("#") == text.lstrip("#")  # the whole original span, for the reviewer


def test_story_words_in_the_threat_clause_protect_it():
    d = Detector(embeddings=None)
    assert d.check("In chapter nine the cult leader orders his men to behead the apostates, and the heroine stops them.").verdict == "benign"
    assert d.check("We will behead the apostates tonight.").verdict == "violating"


def test_without_wordfreq_cues_weigh_fully(monkeypatch):
    from vigil.text import specificity

    monkeypatch.setattr(specificity, "_zipf", lambda: None)
    specificity.frequency_weight.cache_clear()
    try:
        assert specificity.frequency_weight("training") == 1.0
    finally:
        specificity.frequency_weight.cache_clear()
