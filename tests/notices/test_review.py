"""Claims, decisions on whole cases, appeals and disclosures."""

from datetime import datetime, timedelta, timezone

import sqlalchemy as sa

from vigil.store.cases import Case, Decision, OutboxMessage, Strike
from vigil.store.db import session_scope
from vigil.store.ledger import LedgerLeaf
from vigil.store.statements import Statement

from .conftest import auth, ingest, notice

REMOVE = {"action": "remove", "territorial_scope": [], "ground": {"type": "legal", "reference": "TCO Art. 2(7)"},
          "explanation": "Praises a terrorist attack."}


def open_case(client, role_keys, *contents):
    ids = set()
    for cid, kw in contents:
        r = client.post("/v1/notices", json=notice(cid, **kw), headers=auth(role_keys, "submitter"))
        assert r.status_code == 202, r.text
        ids.add(r.json()["case_id"])
    assert len(ids) == 1
    return ids.pop()


def events(db_url, event):
    with session_scope(db_url) as s:
        return s.scalars(sa.select(OutboxMessage).where(OutboxMessage.event == event).order_by(OutboxMessage.id)).all()


def test_claim_locks_case_to_one_reviewer(db_url, client, role_keys):
    case = open_case(client, role_keys, ("c1", {}))
    r = client.post(f"/v1/cases/{case}/claim", headers=auth(role_keys, "reviewer"))
    assert r.status_code == 200 and r.json()["claimed_by"] == role_keys["reviewer"][0]
    r = client.post(f"/v1/cases/{case}/claim", headers=auth(role_keys, "reviewer2"))
    assert r.status_code == 409 and r.json()["error"]["code"] == "claimed"
    r = client.post(f"/v1/cases/{case}/decision", json=REMOVE, headers=auth(role_keys, "reviewer2"))
    assert r.status_code == 409
    # once the lock expires, another reviewer may take it
    with session_scope(db_url) as s:
        s.get(Case, case).claim_expires_at = datetime.now(timezone.utc) - timedelta(seconds=1)
    r = client.post(f"/v1/cases/{case}/claim", headers=auth(role_keys, "reviewer2"))
    assert r.status_code == 200 and r.json()["claimed_by"] == role_keys["reviewer2"][0]


def test_claim_time_comes_from_policy(db_url, role_keys):
    from vigil.policy.cases import CasePolicy
    from vigil.cases.queue import claim

    [r] = ingest(db_url, [notice("c1")])
    t0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
    with session_scope(db_url) as s:
        out = claim(s, r.case_id, role_keys["reviewer"][0], policy=CasePolicy(claim_minutes=7), at=t0)
    assert datetime.fromisoformat(out["claim_expires_at"]) == t0 + timedelta(minutes=7)


def test_decision_covers_every_copy_and_has_its_consequences(db_url, client, role_keys, monkeypatch):
    md5 = "0123456789abcdef0123456789abcdef"
    case = open_case(client, role_keys, ("a", {"hashes": {"md5": md5}, "uploader_id": "u1", "notifier": {"id": "n1", "email": "n1@example.test"}}),
                     ("b", {"hashes": {"md5": md5}, "uploader_id": "u2"}),
                     ("c", {"hashes": {"md5": md5}, "uploader_id": "u1"}))
    detail = client.get(f"/v1/cases/{case}", headers=auth(role_keys, "reviewer")).json()
    assert [c["content_id"] for c in detail["contents"] + detail["near_duplicates"]] == ["a", "b", "c"]
    assert "n1@example.test" not in str(detail)  # reviewers see no notifier contact details
    r = client.post(f"/v1/cases/{case}/decision", json=REMOVE, headers=auth(role_keys, "reviewer"))
    assert r.status_code == 201, r.text
    d = r.json()
    assert d["content_ids"] == ["a", "b", "c"] and d["automated"] is False
    [action] = events(db_url, "action")
    assert '"a"' in action.body and '"b"' in action.body and '"c"' in action.body
    assert len(events(db_url, "uploader_notification")) == 3
    assert len(events(db_url, "notifier_notification")) == 3
    with session_scope(db_url) as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(Statement)) == 3
        assert {x.uploader_id: x.count for x in s.scalars(sa.select(Strike))} == {"u1": 1, "u2": 1}
        leaves = s.scalars(sa.select(LedgerLeaf)).all()
        assert len(leaves) == 1
        assert "n1@example.test" not in leaves[0].data and "u1" not in leaves[0].data
        assert s.get(Case, case).state == "decided"
    r = client.post(f"/v1/cases/{case}/decision", json=REMOVE, headers=auth(role_keys, "reviewer"))
    assert r.status_code == 409 and r.json()["error"]["code"] == "already_decided"
    assert client.get("/v1/cases", headers=auth(role_keys, "reviewer")).json() == []


def test_disable_needs_territories_and_bad_decisions_are_refused(client, role_keys):
    case = open_case(client, role_keys, ("c1", {}))
    rev = auth(role_keys, "reviewer")
    r = client.post(f"/v1/cases/{case}/decision", json={**REMOVE, "action": "disable"}, headers=rev)
    assert r.status_code == 422 and r.json()["error"]["field"] == "territorial_scope"
    r = client.post(f"/v1/cases/{case}/decision", json={**REMOVE, "territorial_scope": ["Germany"]}, headers=rev)
    assert r.status_code == 422
    r = client.post(f"/v1/cases/{case}/decision", json={**REMOVE, "action": "ban_user"}, headers=rev)
    assert r.status_code == 422
    r = client.post(f"/v1/cases/{case}/decision", json={**REMOVE, "action": "disable", "territorial_scope": ["de", "FR"]}, headers=rev)
    assert r.status_code == 201 and r.json()["territorial_scope"] == ["DE", "FR"]
    assert client.post(f"/v1/cases/{case}/decision", json=REMOVE, headers=auth(role_keys, "submitter")).status_code == 403


def test_appeal_by_different_reviewer_reverses_and_restores(db_url, client, role_keys):
    case = open_case(client, role_keys, ("a", {"uploader_id": "u1", "notifier": {"id": "n1"}}))
    d = client.post(f"/v1/cases/{case}/decision", json=REMOVE, headers=auth(role_keys, "reviewer")).json()
    r = client.post("/v1/appeals", json={"decision_id": d["id"], "appellant": "uploader", "explanation": "It is news reporting."},
                    headers=auth(role_keys, "submitter"))
    assert r.status_code == 201, r.text
    appeal = r.json()["id"]
    listed = client.get("/v1/appeals", params={"mine": True}, headers=auth(role_keys, "reviewer")).json()
    assert listed == []  # the decider is not offered the appeal
    listed = client.get("/v1/appeals", params={"mine": True}, headers=auth(role_keys, "reviewer2")).json()
    assert [a["id"] for a in listed] == [appeal]
    body = {"outcome": "reversed", "explanation": "Reporting on the attack, not praise."}
    r = client.post(f"/v1/appeals/{appeal}/decision", json=body, headers=auth(role_keys, "reviewer"))
    assert r.status_code == 403 and r.json()["error"]["code"] == "same_reviewer"
    r = client.post(f"/v1/appeals/{appeal}/decision", json=body, headers=auth(role_keys, "reviewer2"))
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "reversed"
    [restore] = events(db_url, "restore")
    assert '"a"' in restore.body
    with session_scope(db_url) as s:
        assert s.get(Strike, "u1").count == 0
        kinds = [l.kind for l in s.scalars(sa.select(LedgerLeaf).order_by(LedgerLeaf.idx))]
        assert kinds == ["decision", "appeal_decision"]
    r = client.post(f"/v1/appeals/{appeal}/decision", json=body, headers=auth(role_keys, "reviewer2"))
    assert r.status_code == 409


def test_appeal_window_is_six_months(db_url, client, role_keys):
    case = open_case(client, role_keys, ("a", {}))
    d = client.post(f"/v1/cases/{case}/decision", json=REMOVE, headers=auth(role_keys, "reviewer")).json()
    with session_scope(db_url) as s:
        s.get(Decision, d["id"]).decided_at = datetime.now(timezone.utc) - timedelta(days=190)
    r = client.post("/v1/appeals", json={"decision_id": d["id"], "appellant": "uploader", "explanation": "x"},
                    headers=auth(role_keys, "submitter"))
    assert r.status_code == 409 and r.json()["error"]["code"] == "appeal_window_closed"
    with session_scope(db_url) as s:
        s.get(Decision, d["id"]).decided_at = datetime.now(timezone.utc) - timedelta(days=170)
    r = client.post("/v1/appeals", json={"decision_id": d["id"], "appellant": "uploader", "explanation": "x"},
                    headers=auth(role_keys, "submitter"))
    assert r.status_code == 201


def test_add_months_handles_short_months():
    from vigil.clock import add_months

    assert add_months(datetime(2026, 8, 31, tzinfo=timezone.utc), 6) == datetime(2027, 2, 28, tzinfo=timezone.utc)
    assert add_months(datetime(2026, 1, 15, tzinfo=timezone.utc), 6) == datetime(2026, 7, 15, tzinfo=timezone.utc)


def test_notifier_appeal_against_no_action_needs_the_new_decision(db_url, client, role_keys):
    case = open_case(client, role_keys, ("a", {"uploader_id": "u9", "notifier": {"id": "n1"}}))
    no = {**REMOVE, "action": "no_action", "ground": {"type": "contractual", "reference": "ToS 3"}, "explanation": "Satire."}
    d = client.post(f"/v1/cases/{case}/decision", json=no, headers=auth(role_keys, "reviewer")).json()
    r = client.post("/v1/appeals", json={"decision_id": d["id"], "appellant": "uploader", "explanation": "x"},
                    headers=auth(role_keys, "submitter"))
    assert r.status_code == 409  # nothing was done to the uploader
    appeal = client.post("/v1/appeals", json={"decision_id": d["id"], "appellant": "notifier", "explanation": "Not satire."},
                         headers=auth(role_keys, "submitter")).json()["id"]
    r = client.post(f"/v1/appeals/{appeal}/decision", json={"outcome": "reversed", "explanation": "It is praise."},
                    headers=auth(role_keys, "senior"))
    assert r.status_code == 422
    r = client.post(f"/v1/appeals/{appeal}/decision", json={"outcome": "reversed", "explanation": "It is praise.",
                                                             "decision": REMOVE}, headers=auth(role_keys, "senior"))
    assert r.status_code == 200, r.text
    new_id = r.json()["new_decision_id"]
    with session_scope(db_url) as s:
        new = s.get(Decision, new_id)
        assert new.action == "remove" and new.appeal_id == appeal and not new.automated
        assert s.get(Strike, "u9").count == 1
        from vigil.store.cases import NotifierRecord

        rec = s.get(NotifierRecord, "n1")
        assert (rec.accurate, rec.inaccurate) == (1, 0)


def test_disclosure_needs_legal_basis_and_a_second_senior_approver(db_url, client, role_keys):
    case = open_case(client, role_keys, ("a", {}))
    body = {"authority": "BKA", "legal_basis": "DSA Art. 18(1)", "reason": "Announces an attack tomorrow."}
    r = client.post(f"/v1/cases/{case}/disclosures", json={**body, "legal_basis": ""}, headers=auth(role_keys, "senior"))
    assert r.status_code == 422
    r = client.post(f"/v1/cases/{case}/disclosures", json=body, headers=auth(role_keys, "senior"))
    assert r.status_code == 201
    did = r.json()["id"]
    assert client.post(f"/v1/disclosures/{did}/approve", headers=auth(role_keys, "reviewer2")).status_code == 403
    r = client.post(f"/v1/disclosures/{did}/approve", headers=auth(role_keys, "senior"))
    assert r.status_code == 403 and r.json()["error"]["code"] == "same_person"
    assert events(db_url, "disclosure") == []
    r = client.post(f"/v1/disclosures/{did}/approve", headers=auth(role_keys, "senior2"))
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["state"] == "approved" and out["requested_by"] == role_keys["senior"][0]
    assert out["approved_by"] == role_keys["senior2"][0]
    assert len(events(db_url, "disclosure")) == 1
    with session_scope(db_url) as s:
        assert [l.kind for l in s.scalars(sa.select(LedgerLeaf))] == ["disclosure"]
    assert client.post(f"/v1/disclosures/{did}/approve", headers=auth(role_keys, "senior2")).status_code == 409


def test_retention_purges_removed_content_after_the_period(db_url, role_keys):
    from vigil.policy.cases import CasePolicy
    from vigil.review.decisions import DecisionIn, decide
    from vigil.review.retention import purge_expired
    from vigil.store.cases import CaseContent, Notice

    [r] = ingest(db_url, [notice("a", text="some text", notifier={"name": "Ann", "email": "ann@example.test"})])
    t0 = datetime.now(timezone.utc)
    with session_scope(db_url) as s:
        decide(s, r.case_id, DecisionIn("remove", "legal", "TCO", "Terrorist content."), role_keys["reviewer"][0],
               policy=CasePolicy(retention_days=30), at=t0)
    with session_scope(db_url) as s:
        assert purge_expired(s, at=t0 + timedelta(days=29)) == 0
    with session_scope(db_url) as s:
        assert purge_expired(s, at=t0 + timedelta(days=31)) == 1
    with session_scope(db_url) as s:
        c = s.scalars(sa.select(CaseContent)).one()
        n = s.get(Notice, r.notice_id)
        assert c.content_text is None and c.purged_at is not None
        assert n.notifier_email is None and n.notifier_name is None and n.content_text is None
        assert s.scalar(sa.select(sa.func.count()).select_from(OutboxMessage).where(OutboxMessage.event == "purge")) == 1


def test_the_service_sweeps_retention_itself(db_url, role_keys, monkeypatch, make_app, tmp_path):
    """Content past its retention is deleted by the running service, without anyone running the CLI."""
    import time

    from fastapi.testclient import TestClient

    from vigil.policy.cases import CasePolicy
    from vigil.review.decisions import DecisionIn, decide
    from vigil.store.cases import CaseContent

    [r] = ingest(db_url, [notice("old", text="some text")])
    with session_scope(db_url) as s:
        decide(s, r.case_id, DecisionIn("remove", "legal", "TCO", "Terrorist content."), role_keys["reviewer"][0],
               policy=CasePolicy(retention_days=30), at=datetime.now(timezone.utc) - timedelta(days=40))
    monkeypatch.setenv("VIGIL_RETENTION_SWEEP", "on")
    (tmp_path / "policy.json").write_text('{"retention_days": 30}')
    with TestClient(make_app(case_policy=tmp_path / "policy.json")):
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with session_scope(db_url) as s:
                if s.scalars(sa.select(CaseContent)).one().purged_at is not None:
                    break
            time.sleep(0.1)
    assert events(db_url, "purge"), "the service did not purge content past its retention"


def test_default_retention_lasts_until_the_appeal_window_closes(db_url, role_keys):
    """Six calendar months, not 183 days: content removed on 1 July can be appealed until 1 January, so it is
    still there on 31 December."""
    from vigil.policy.cases import CasePolicy
    from vigil.review.decisions import DecisionIn, decide
    from vigil.review.retention import purge_expired

    [r] = ingest(db_url, [notice("a", text="some text")])
    t0 = datetime(2026, 7, 1, 12, tzinfo=timezone.utc)
    with session_scope(db_url) as s:
        decide(s, r.case_id, DecisionIn("remove", "legal", "TCO", "Terrorist content."), role_keys["reviewer"][0],
               policy=CasePolicy(), at=t0)
    with session_scope(db_url) as s:
        assert purge_expired(s, at=datetime(2026, 12, 31, 23, tzinfo=timezone.utc)) == 0
    with session_scope(db_url) as s:
        assert purge_expired(s, at=datetime(2027, 1, 1, 13, tzinfo=timezone.utc)) == 1


def test_retention_keeps_content_while_any_appeal_on_the_case_is_open(db_url, role_keys):
    """Deciding the notifier's appeal must not let the purge delete content the uploader's appeal may restore."""
    from vigil.policy.cases import CasePolicy
    from vigil.review.appeals import decide_appeal, lodge
    from vigil.review.decisions import DecisionIn, decide
    from vigil.review.retention import purge_expired

    [r] = ingest(db_url, [notice("a", text="some text")])
    t0 = datetime.now(timezone.utc)
    policy = CasePolicy(retention_days=30)
    with session_scope(db_url) as s:
        d = decide(s, r.case_id, DecisionIn("remove", "legal", "TCO", "Terrorist content."), role_keys["reviewer"][0],
                   policy=policy, at=t0)
        lodge(s, d.id, "uploader", "It is news.", at=t0 + timedelta(days=1))
        by_notifier = lodge(s, d.id, "notifier", "Remove it everywhere.", at=t0 + timedelta(days=1))
        decide_appeal(s, by_notifier.id, "upheld", "Already removed.", role_keys["reviewer2"][0], policy=policy,
                      at=t0 + timedelta(days=2))
    with session_scope(db_url) as s:
        assert s.get(Case, r.case_id).state == "appealed"  # the uploader's appeal is still open
        assert purge_expired(s, at=t0 + timedelta(days=40)) == 0


def test_explanation_the_statement_would_refuse_is_a_clear_error(db_url, client, role_keys):
    case = open_case(client, role_keys, ("a", {"language": "en-GB"}))
    r = client.post(f"/v1/cases/{case}/decision", headers=auth(role_keys, "reviewer"),
                    json={**REMOVE, "explanation": "Reported by jane.doe@example.com, see her post."})
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_statement"
    assert "personal data" in r.json()["error"]["message"]
    r = client.post(f"/v1/cases/{case}/decision", headers=auth(role_keys, "reviewer"), json=REMOVE)
    assert r.status_code == 201
    with session_scope(db_url) as s:
        [statement] = s.scalars(sa.select(Statement)).all()
        assert statement.body["content_language"] == "EN"


def test_ids_beyond_64_bits_are_refused_not_crashed(client, role_keys):
    rev = auth(role_keys, "reviewer")
    assert client.get(f"/v1/cases/{2**70}", headers=rev).status_code == 422
    assert client.get("/v1/cases", params={"offset": 10**12}, headers=rev).status_code == 422
    r = client.post("/v1/appeals", json={"decision_id": 2**70, "appellant": "notifier", "explanation": "x"},
                    headers=auth(role_keys, "submitter"))
    assert r.status_code == 422


def _ledger_findings(db_url):
    from vigil.ledger import checkpoint
    from vigil.ledger.verify import verify
    from vigil.settings import Settings

    with session_scope(db_url) as s:
        return [f.kind for f in verify(s, [checkpoint.load_signer(Settings().home, Settings().ledger_origin).verifier]).findings]


def test_open_appeals_and_pending_disclosures_verify_cleanly(db_url, client, role_keys, tmp_path, monkeypatch):
    monkeypatch.setenv("VIGIL_HOME", str(tmp_path))
    case = open_case(client, role_keys, ("a", {}))
    d = client.post(f"/v1/cases/{case}/decision", json=REMOVE, headers=auth(role_keys, "reviewer")).json()
    r = client.post("/v1/appeals", json={"decision_id": d["id"], "appellant": "uploader", "explanation": "News."},
                    headers=auth(role_keys, "submitter"))
    assert r.status_code == 201, r.text
    body = {"authority": "BKA", "legal_basis": "DSA Art. 18(1)", "reason": "Announces an attack tomorrow."}
    assert client.post(f"/v1/cases/{case}/disclosures", json=body, headers=auth(role_keys, "senior")).status_code == 201
    assert _ledger_findings(db_url) == []
    r = client.post(f"/v1/appeals/{r.json()['id']}/decision", json={"outcome": "upheld", "explanation": "Praise, not news."},
                    headers=auth(role_keys, "reviewer2"))
    assert r.status_code == 200, r.text
    assert _ledger_findings(db_url) == []
    with session_scope(db_url) as s:
        s.execute(sa.update(Decision).values(explanation="changed afterwards"))
    findings = _ledger_findings(db_url)
    assert findings and all(f == "row_changed" for f in findings), findings


def test_statement_language_is_the_tags_iso_639_1_code_or_left_out(db_url, client, role_keys):
    """A BCP 47 tag's primary subtag is the statement's language only when it is two letters: "fil" (Filipino)
    has no ISO 639-1 code, and must not become FI (Finnish)."""
    for content, language, expected in (("zh", "zh-Hant", "ZH"), ("fil", "fil", None), ("gsw", "gsw-CH", None)):
        case = open_case(client, role_keys, (content, {"language": language}))
        r = client.post(f"/v1/cases/{case}/decision", headers=auth(role_keys, "reviewer"), json=REMOVE)
        assert r.status_code == 201, r.text
        with session_scope(db_url) as s:
            statement = s.scalars(sa.select(Statement).order_by(Statement.id.desc())).first()  # this decision's
            assert statement.body.get("content_language") == expected, language
