"""The normaliser: total, mapping always valid, idempotent, and each evasion undone with its step named."""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vigil.text.normalize import normalize, text_key

# Any code point, lone surrogates included, mixed with the characters evasion is made of.
TRICKY = list("k1ll 7h3 4@$!| .-_*·•/\u200b\u200d\ufeff\u0301\u0308ａｂｃ𝓳𝓲𝓱аеоі圣戰*者💰🔪🏴ßİ'’\n\t")
any_char = st.integers(min_value=0, max_value=0x10FFFF).map(chr)
texts = st.lists(st.one_of(any_char, st.sampled_from(TRICKY)), max_size=60).map("".join)


@settings(max_examples=600, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(texts)
def test_total_and_mapping_valid(text):
    n = normalize(text)
    assert n.original == text
    offsets = [n.source_index(i) for i in range(len(n.text))]
    assert all(0 <= o < len(text) for o in offsets)
    assert offsets == sorted(offsets), "spans must be monotone"
    for start in range(0, len(n.text), 7):
        s, e = n.source_span(start, min(len(n.text), start + 5))
        assert 0 <= s <= e <= len(text)
        assert isinstance(n.steps_for(start, min(len(n.text), start + 5)), list)


@settings(max_examples=600, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(texts)
def test_idempotent(text):
    once = normalize(text).text
    assert normalize(once).text == once


@settings(max_examples=200, deadline=None)
@given(texts)
def test_text_key_is_stable_hex(text):
    key = text_key(text)
    assert re.fullmatch(r"[0-9a-f]{64}", key)
    assert key == text_key(text)


def test_rejects_non_string():
    with pytest.raises(TypeError, match="takes str"):
        normalize(b"bytes")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "text, expected, step",
    [
        ("K1ll 7h3 1nf1d3l5", "kill the infidels", "leet"),
        ("brоthеrs", "brothers", "homoglyph"),  # Cyrillic о and е
        ("ｌｏｎｅ ｗｏｌｆ", "lone wolf", "fullwidth"),
        ("𝓳𝓲𝓱𝓪𝓭", "jihad", "fullwidth"),
        ("e\u200dx\u200dp\u200da\u200dn\u200dd", "expand", "invisible"),
        ("c.a.s.u.a.l.t.i.e.s", "casualties", "split"),
        ("j o i n", "join", "split"),
        ("Kiiiill", "kill", "repeated"),
        ("Their 🩸 is halal", "their blood is halal", "emoji"),
        ("殺死異教徒", "杀死异教徒", "traditional"),
        ("圣*战*者", "圣战者", "split"),
        ("jíhád", "jihad", "accent"),
    ],
)
def test_each_evasion_is_undone_and_named(text, expected, step):
    n = normalize(text)
    assert n.text == expected
    assert step in n.steps_for(0, len(n.text))


def test_offsets_point_back_to_the_original_characters():
    text = "Kiiiill the ｋｕｆｆａｒ"
    n = normalize(text)
    i = n.text.index("kuffar")
    s, e = n.source_span(i, i + len("kuffar"))
    assert text[s:e] == "ｋｕｆｆａｒ"
    s, e = n.source_span(0, 4)
    assert text[s:e] == "Kiiiill"


def test_ordinary_text_is_left_alone():
    for text in ("10am on the 2nd, 90s music", "Final exam tomorrow!", "hero!", "我们周末去爬山"):
        n = normalize(text)
        assert n.text == text.lower()
        assert n.steps_for(0, len(n.text)) == []


def test_lone_surrogates_and_combining_marks_are_removed():
    assert normalize("a\ud800b\udfffc").text == "abc"
    assert normalize("a" + "\u0301" * 1000).text == "a"


def test_text_key_groups_obfuscated_variants_and_separates_different_texts():
    assert text_key("Join the caravan, brothers!") == text_key("J.o.i.n  the  CARAVAN brоthers")
    assert text_key("Join the caravan, brothers!") != text_key("Join the club, brothers!")
    assert text_key("加入聖戰") == text_key("加入 圣 战")


def test_chinese_characters_written_as_parts_are_joined_but_words_are_not():
    n = normalize("我忄艮他们，歹戋疾人")
    assert n.text == "我恨他们,残疾人"
    assert "components" in n.steps_for(0, len(n.text))
    assert normalize("女子学校的木木").text == "女子学校的木木"  # everyday characters side by side stay


@pytest.mark.parametrize("text, expected", [
    ("ᴋɪʟʟ ᴛʜᴇ ɪɴꜰɪᴅᴇʟꜱ", "kill the infidels"),  # small capitals
    ("🇰🇮🇱🇱 them", "kill them"),  # regional indicators
    ("🅺🅸🅻🅻", "kill"),  # negative squared letters
    ("k🔥i🔥l🔥l", "kill"),  # letters split by emoji
    ("圣🔥战", "圣战"),
    ("inf*dels", "infdels"),  # a masked letter is dropped; the matcher forgives one typo
])
def test_decorated_letters_and_masks(text, expected):
    assert normalize(text).text == expected
