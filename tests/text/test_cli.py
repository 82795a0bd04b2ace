"""The text commands, run through the real Typer app."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from vigil.cli import app

runner = CliRunner()


def test_check_text_json():
    r = runner.invoke(app, ["check-text", "Be a ｌｏｎｅ ｗｏｌｆ and strike them at home.", "--json", "--no-semantic"])
    assert r.exit_code == 0, r.output
    d = json.loads(r.output)
    assert d["verdict"] == "violating"
    assert d["hits"][0]["steps"] == ["fullwidth"]


def test_check_text_file_and_table(tmp_path):
    f = tmp_path / "post.txt"
    f.write_text("兄弟们，加入胜站吧。", encoding="utf-8")
    r = runner.invoke(app, ["check-text", "--file", str(f), "--no-semantic"])
    assert r.exit_code == 0, r.output
    assert "violating" in r.output and "homophone" in r.output


def test_check_text_usage_errors(tmp_path):
    assert runner.invoke(app, ["check-text"]).exit_code == 2
    bad = tmp_path / "latin1.txt"
    bad.write_bytes("caf\xe9".encode("latin-1"))
    r = runner.invoke(app, ["check-text", "--file", str(bad)])
    assert r.exit_code == 2 and "not valid UTF-8" in r.output
    lex = tmp_path / "lex.json"
    lex.write_text('{"format": "vigil-lexicon/1", "entries": [{"id": "q", "category": "x"}]}')
    r = runner.invoke(app, ["check-text", "hi", "--lexicon", str(lex)])
    assert r.exit_code == 2 and "entry 'q'" in r.output


def test_eval_json(tmp_path, dev_lexicon):
    cases = tmp_path / "cases.jsonl"
    cases.write_text("\n".join(json.dumps(c) for c in [
        {"id": "1", "text": "Fund the m\u200bujahideen now", "lang": "en", "label": "violating", "kind": "obfuscated"},
        {"id": "2", "text": "Police said he urged people to 'fund the mujahideen'.", "lang": "en", "label": "benign", "kind": "news"},
        {"id": "3", "text": "My goal is to run a marathon.", "lang": "en", "label": "benign", "kind": "benign-homonym"},
    ]), encoding="utf-8")
    r = runner.invoke(app, ["eval", "--cases", str(cases), "--lexicon", str(dev_lexicon), "--json", "--no-semantic"])
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    assert d["overall"] == {"precision": 1.0, "recall": 1.0, "fpr": 0.0, "tp": 1, "fp": 0, "tn": 2, "fn": 0}
    assert d["by_kind"]["news"] == {"n": 1, "flagged": 0, "rate": 0.0}
    assert d["by_lang"]["en"]["n"] == 3
    r = runner.invoke(app, ["eval", "--cases", str(cases), "--no-semantic"])
    assert r.exit_code == 0 and "precision" in r.output and "flag rate by kind" in r.output


def test_lexicon_validate(tmp_path, dev_lexicon):
    r = runner.invoke(app, ["lexicon", "validate", str(dev_lexicon)])
    assert r.exit_code == 0 and "ok, 29 entries" in r.output
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "vigil-lexicon/1", "entries": [{"id": "z", "category": "incitement", "severity": "high", "terms": [], "coded": false}]}')
    r = runner.invoke(app, ["lexicon", "validate", str(bad)])
    assert r.exit_code == 2 and "entry 'z': field 'terms' must not be empty" in r.output
