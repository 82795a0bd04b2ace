"""vigil-lexicon/1: the dev lexicon loads as it is; bad entries are named; matching rules per script."""

from __future__ import annotations

import json

import pytest

from vigil.text.lexicon import Lexicon, LexiconError, load_entries, parse_entries
from vigil.text.normalize import normalize
from vigil.text.phrases import PhraseMatcher, TextView


def test_dev_lexicon_loads_as_it_is(dev_lexicon):
    entries, warnings = load_entries(dev_lexicon)
    assert len(entries) == len(json.loads(dev_lexicon.read_text(encoding="utf-8"))["entries"])
    assert warnings == []
    sheep = next(e for e in entries if e.id == "dev-sheep")
    assert sheep.coded and "shaykh" in sheep.context


def test_default_lexicon_is_valid_and_has_both_languages():
    lex = Lexicon.load()
    assert lex.entries and lex.warnings == ()
    langs = {lang for e in lex.entries for lang in e.languages}
    assert {"en", "zh"} <= langs


def _doc(**entry):
    base = {"id": "e1", "category": "incitement", "severity": "high", "terms": ["x y"], "coded": False}
    base.update(entry)
    return {"format": "vigil-lexicon/1", "entries": [base]}


@pytest.mark.parametrize(
    "doc, message",
    [
        ({"format": "other", "entries": []}, "'format' must be 'vigil-lexicon/1'"),
        ({"format": "vigil-lexicon/1"}, "'entries' must be a list"),
        (_doc(category="hate"), "entry 'e1': field 'category' must be one of"),
        (_doc(severity="extreme"), "entry 'e1': field 'severity'"),
        (_doc(terms=[]), "entry 'e1': field 'terms' must not be empty"),
        (_doc(terms=["ok", ""]), "entry 'e1': field 'terms'[1]"),
        (_doc(coded="yes"), "entry 'e1': field 'coded' must be true or false"),
        (_doc(context="brothers"), "entry 'e1': field 'context' must be a list"),
        (_doc(meaning=3), "entry 'e1': field 'meaning' must be a string"),
        ({"format": "vigil-lexicon/1", "entries": [{"category": "incitement"}]}, "entry #0: field 'id'"),
    ],
)
def test_errors_name_the_entry_and_field(doc, message):
    with pytest.raises(LexiconError) as err:
        parse_entries(doc, "partner.json")
    assert message in str(err.value)
    assert str(err.value).startswith("partner.json: ")


def test_missing_field_and_duplicate_id_are_errors():
    doc = _doc()
    del doc["entries"][0]["coded"]
    with pytest.raises(LexiconError, match="entry 'e1': missing field 'coded'"):
        parse_entries(doc)
    doc = _doc()
    doc["entries"].append(dict(doc["entries"][0]))
    with pytest.raises(LexiconError, match="entry 'e1': duplicate id"):
        parse_entries(doc)


def test_unknown_fields_warn_and_coded_without_context_warns():
    entries, warnings = parse_entries(_doc(notes="from partner", coded=True), "p.json")
    assert len(entries) == 1
    assert any("unknown field 'notes'" in w for w in warnings)
    assert any("can never fire" in w for w in warnings)


def test_file_errors_are_clear(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_bytes(b'{"format": "vigil-lexicon/1", "entries": [')
    with pytest.raises(LexiconError, match="invalid JSON at line 1"):
        load_entries(bad)
    bad.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(LexiconError, match="not UTF-8"):
        load_entries(bad)
    with pytest.raises(LexiconError, match="cannot read"):
        load_entries(tmp_path / "missing.json")


def _find(phrases, text):
    m = PhraseMatcher([(normalize(p).text, p) for p in phrases])
    n = normalize(text)
    return [(h.label, n.original[slice(*n.source_span(h.start, h.end))], sorted(h.steps)) for h in m.find(TextView(n))]


def test_latin_word_boundaries_plurals_and_doubled_letters():
    assert _find(["sheep"], "my sheepdog and the goalkeeper") == []
    assert [h[0] for h in _find(["infidel"], "kill the infidels")] == ["infidel"]
    assert [h[0] for h in _find(["kill the infidels"], "kiil the infidels")] == ["kill the infidels"]
    assert [h[1] for h in _find(["kill the infidels"], "#KillTheInfidels now")] == ["KillTheInfidels"]


def test_chinese_homophones_pinyin_and_initials():
    assert _find(["加入圣战"], "兄弟们，加入胜站吧。") == [("加入圣战", "加入胜站", ["homophone"])]
    assert _find(["迁徙到圣战之地"], "迁徙到shengzhan之地") == [("迁徙到圣战之地", "迁徙到shengzhan之地", ["pinyin"])]
    assert _find(["独狼袭击"], "DL袭 击才是最好的回应")[0][:2] == ("独狼袭击", "DL袭 击")
    assert _find(["殺死異教徒"], "杀死异教徒") != []


def test_short_chinese_words_need_the_real_characters():
    assert _find(["婚礼"], "婚礼定了") != []
    assert _find(["婚礼"], "昏礼定了") == []  # a homophone of a two-character word is too weak


def test_one_typo_in_a_long_word_of_an_explicit_phrase():
    from vigil.text.lexicon import Entry, Lexicon

    lex = Lexicon([
        Entry("k", "incitement", "critical", ("kill the infidels",), coded=False),
        Entry("s", "recruitment", "low", ("buying sheep",), coded=True, context=("brothers",)),
    ])
    n = normalize("Kill the infdiels tonight")
    hits = lex.matcher.find(TextView(n))
    assert [(h.label[1], sorted(h.steps)) for h in hits] == [(0, ["misspelling"])]
    # code words never get typo tolerance: "buying sheet" is not "buying sheep"
    assert [h for h in lex.matcher.find(TextView(normalize("buying sheet brothers"))) if h.label[0] == "term"] == []


def test_spaced_and_toned_pinyin_next_to_han():
    assert _find(["迁徙到圣战之地"], "迁徙到 shèng zhàn 之地")[0][0] == "迁徙到圣战之地"
    assert _find(["加入圣战"], "我觉得this is fine的加入") == []


def test_articles_are_optional():
    assert [h[0] for h in _find(["kill the infidels"], "kill da infidels")] == ["kill the infidels"]
    assert [h[0] for h in _find(["be a lone wolf"], "be lone wolf")] == ["be a lone wolf"]
