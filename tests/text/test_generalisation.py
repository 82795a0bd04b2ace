"""A partner lexicon with code words unlike the dev set's: the mechanisms, not the dev sentences, must carry.

Runs without the embedding model, so it shows what lexicon, normalisation, context and grammar do alone.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from vigil.text.detect import Detector

LEXICON = Path(__file__).parent / "data" / "partner_lexicon.json"


@pytest.fixture(scope="module")
def detector():
    return Detector([LEXICON], embeddings=None)


@pytest.mark.parametrize("text", [
    "Harvest day is close. Wait for the signal, no phones, brothers.",
    "收割日定了，叔叔把工具准备好了，兄弟们等信号。",
    "The doctor mixed the medicine last night, brothers, before they kill more kuffar.",
    "Send gifts for the cousins to the usual wallet, brothers, the front is short.",
    "5l4ught3r th3 4p0st4t3s wherever you find them.",
    "S L A U G H T E R the apostates, brothers.",
    "ѕlаughtеr thе аpоѕtаtеѕ tonight.",
    "兄弟们，图杀叛叫者！",
    "清洗panjiaozhe，一个不留。",
    "屠*殺*叛*教*者",
    "Every apostate deserves a bullet and we will deliver it.",
    "我们要把那些基督徒全部杀光。",
])
def test_violating(detector, text):
    v = detector.check(text)
    assert v.flagged, v.reason


@pytest.mark.parametrize("text", [
    "Grandma's harvest day was lovely, the whole family helped in the field.",
    "I bought gifts for the cousins and sent the money by bank transfer.",
    "Prosecutors said the cell used 'the harvest' as a code word for the attack date.",
    "警方称，该团伙用“收割日”指代袭击日期。",
    "If someone tells you to 'slaughter the apostates', report them. That is a call to murder.",
    "有人在群里喊“屠杀叛教者”，请立即举报。",
    "In the game the cult wants to slaughter the apostates of the northern kingdom, the quest is to stop them.",
    "My brothers and I are going to the field for a picnic, no phones allowed, pure relaxation.",
    "Our imam reminded us that harvest time is a time to give thanks and share with neighbours.",
])
def test_benign(detector, text):
    v = detector.check(text)
    assert v.verdict == "benign", v.reason
