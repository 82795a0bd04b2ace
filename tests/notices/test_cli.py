"""`vigil cases list`, `vigil outbox deliver --once`, `vigil outbox list`, `vigil retention purge`; and the policy file."""

import json
from datetime import datetime, timedelta, timezone

import pytest
from typer.testing import CliRunner

from vigil.cli import app
from vigil.store.cases import Notice
from vigil.store.db import session_scope

from .conftest import ingest, notice

runner = CliRunner(env={"COLUMNS": "200"})


def test_cases_list_shows_priority_order(db_url):
    ingest(db_url, [notice("u1"), notice("o1", source="authority_order")])
    r = runner.invoke(app, ["cases", "list", "--db", db_url])
    assert r.exit_code == 0, r.output
    assert r.output.index("authority_order") < r.output.index(" user ")
    assert runner.invoke(app, ["cases", "list", "--db", db_url, "--state", "nonsense"]).exit_code == 2


def test_outbox_deliver_once_and_list(db_url, receiver):
    from vigil import outbox

    with session_scope(db_url) as s:
        outbox.enqueue(s, [outbox.Message("action:1", "action", {"decision_id": 1})])
    r = runner.invoke(app, ["outbox", "deliver", "--db", db_url, "--once"])
    assert r.exit_code == 0 and "delivered: 1" in r.output, r.output
    assert receiver.keys() == {"action:1"}
    r = runner.invoke(app, ["outbox", "list", "--db", db_url])
    assert r.exit_code == 0 and "delivered: 1" in r.output


def test_retention_purge_clears_contact_details_after_the_period(db_url, role_keys, monkeypatch, tmp_path):
    from vigil.policy.cases import CasePolicy
    from vigil.review.decisions import DecisionIn, decide

    [receipt] = ingest(db_url, [notice("a", notifier={"name": "Ann", "email": "ann@example.test"})])
    with session_scope(db_url) as s:
        decide(s, receipt.case_id, DecisionIn("no_action", "contractual", "ToS 1", "Allowed."), role_keys["reviewer"][0],
               policy=CasePolicy(), at=datetime.now(timezone.utc) - timedelta(days=40))
    policy = tmp_path / "policy.json"
    policy.write_text(json.dumps({"retention_days": 60}))
    monkeypatch.setenv("VIGIL_CASE_POLICY", str(policy))
    assert "of 0 notices" in runner.invoke(app, ["retention", "purge", "--db", db_url]).output
    policy = tmp_path / "policy-30.json"
    policy.write_text(json.dumps({"retention_days": 30}))
    monkeypatch.setenv("VIGIL_CASE_POLICY", str(policy))
    r = runner.invoke(app, ["retention", "purge", "--db", db_url])
    assert r.exit_code == 0 and "of 1 notices" in r.output, r.output
    with session_scope(db_url) as s:
        n = s.get(Notice, receipt.notice_id)
        assert n.notifier_email is None and n.notifier_name is None


def test_policy_file_routes_queues_and_rejects_unknown_keys(tmp_path, monkeypatch, db_url):
    from vigil.policy import cases as policy

    path = tmp_path / "policy.json"
    path.write_text(json.dumps({"queue_rules": [{"queue": "zh-review", "language": "zh"}], "claim_minutes": 5}))
    p = policy.CasePolicy.load(path)
    assert p.claim_minutes == 5
    [r] = ingest(db_url, [notice("c1", language="zh")], policy=p)
    from vigil.store.cases import Case

    with session_scope(db_url) as s:
        assert s.get(Case, r.case_id).queue == "zh-review"
    path.write_text(json.dumps({"claim_minuets": 5}))
    with pytest.raises(policy.PolicyError, match="claim_minuets"):
        policy.CasePolicy.load(path)


def test_text_notices_carry_detector_evidence(db_url):
    [r] = ingest(db_url, [notice("t1", text="We will kill all of them, every last one, when the day comes.")])
    from vigil.store.cases import Case

    with session_scope(db_url) as s:
        ev = s.get(Case, r.case_id).evidence.model_dump(mode='json')
    assert ev["text"]["verdict"] in ("violating", "review", "benign") and "reason" in ev["text"]
    assert ev["matches"] == []
