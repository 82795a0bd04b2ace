"""The notice-and-action contract as the platform and reviewers see it: webhook bodies, case evidence, list filters, routing."""

import json

import httpx
import pytest

from vigil import outbox
from vigil.banks import service as banks
from vigil.review.decisions import REDRESS
from vigil.store.db import session_scope

from .conftest import auth, deliver_due, notice

MD5 = "5d41402abc4b2a76b9719d911017c592"
EXTREMIST = "Brothers, join the mujahideen before the borders close."
REMOVE = {"action": "remove", "territorial_scope": [], "ground": {"type": "legal", "reference": "TCO Art. 2(7)"},
          "explanation": "Praises a terrorist attack."}
LABEL = {"action": "label", "territorial_scope": [], "ground": {"type": "contractual", "reference": "ToS 4.2"},
         "explanation": "Graphic footage of an attack, shown as news."}


def submit(client, role_keys, content_id, **kw) -> int:
    r = client.post("/v1/notices", json=notice(content_id, **kw), headers=auth(role_keys, "submitter"))
    assert r.status_code == 202, r.text
    return r.json()["case_id"]


def decide(client, role_keys, case_id, body=REMOVE, who="reviewer") -> dict:
    r = client.post(f"/v1/cases/{case_id}/decision", json=body, headers=auth(role_keys, who))
    assert r.status_code == 201, r.text
    return r.json()


def deliver(db_url, receiver) -> dict[str, list[dict]]:
    """Deliver everything queued to the loopback receiver; the bodies it accepted, by event."""
    with httpx.Client(timeout=5) as http:
        for _ in range(10):
            if not any(deliver_due(db_url, http).values()):
                break
    assert receiver.bad_signatures == 0
    out: dict[str, list[dict]] = {}
    for d in receiver.deliveries:
        out.setdefault(d["event"], []).append(d["body"])
    return out


def listed(client, role_keys, **params) -> list[int]:
    r = client.get("/v1/cases", params=params, headers=auth(role_keys, "reviewer"))
    assert r.status_code == 200, r.text
    return sorted(c["id"] for c in r.json())


@pytest.fixture
def policy_client(make_app, tmp_path):
    """Start a client of a service that runs with these case-policy settings (read once, at start)."""
    from fastapi.testclient import TestClient

    clients = []

    def start(**settings):
        path = tmp_path / f"case-policy-{len(clients)}.json"
        path.write_text(json.dumps(settings), "utf-8")
        clients.append(TestClient(make_app(case_policy=path), raise_server_exceptions=False).__enter__())
        return clients[-1]

    yield start
    for c in clients:
        c.__exit__(None, None, None)


# 1. The uploader's message carries the statement of reasons.

def test_uploader_message_carries_each_copys_statement_of_reasons(db_url, client, role_keys, receiver):
    case = submit(client, role_keys, "a", hashes={"md5": MD5}, uploader_id="u1", language="de-AT")
    assert submit(client, role_keys, "b", hashes={"md5": MD5}, uploader_id="u2") == case
    d = decide(client, role_keys, case, {**REMOVE, "action": "disable", "territorial_scope": ["de", "AT"]})
    sent = deliver(db_url, receiver)
    uploads = {m["content_id"]: m for m in sent["uploader_notification"]}
    assert set(uploads) == {"a", "b"}
    assert uploads["a"]["uploader_id"] == "u1" and uploads["b"]["uploader_id"] == "u2"
    puids = set()
    for m in uploads.values():
        sor = m["statement_of_reasons"]
        assert sor is not None, m
        assert sor["decision_visibility"] == ["DECISION_VISIBILITY_CONTENT_DISABLED"]
        assert sor["decision_ground"] == "DECISION_GROUND_ILLEGAL_CONTENT"
        assert sor["illegal_content_legal_ground"] == "TCO Art. 2(7)"
        assert sor["decision_facts"] == sor["illegal_content_explanation"] == "Praises a terrorist attack."
        assert sor["territorial_scope"] == ["AT", "DE"]
        assert sor["source_type"] == "SOURCE_ARTICLE_16"
        assert sor["automated_decision"] == "AUTOMATED_DECISION_NOT_AUTOMATED"
        assert sor["puid"].startswith(f"vigil-d{d['id']}-")
        assert sor["content_language"] == "DE"
        puids.add(sor["puid"])
    assert len(puids) == 2  # one statement per copy, never shared


def test_uploader_statement_of_reasons_is_the_one_recorded_for_the_database(db_url, client, role_keys, receiver):
    import sqlalchemy as sa

    from vigil.store.statements import Statement

    case = submit(client, role_keys, "a", uploader_id="u1")
    decide(client, role_keys, case, LABEL)
    [m] = deliver(db_url, receiver)["uploader_notification"]
    with session_scope(db_url) as s:
        [row] = s.scalars(sa.select(Statement)).all()
        assert m["statement_of_reasons"] == row.body
    assert m["statement_of_reasons"]["decision_ground"] == "DECISION_GROUND_INCOMPATIBLE_CONTENT"
    assert m["statement_of_reasons"]["incompatible_content_ground"] == "ToS 4.2"
    assert m["explanation"] == LABEL["explanation"] and m["redress"] == REDRESS


# 2. GET /v1/cases/{id} returns the evidence.

def test_case_detail_shows_the_bank_match_that_opened_it(db_url, client, role_keys):
    with session_scope(db_url) as s:
        banks.create_bank(s, "tvec")
        entry = banks.add_entry(s, "tvec", "md5", MD5, labels={"entity": "x", "behaviour": "praise"}).id
    hit = submit(client, role_keys, "hit", hashes={"md5": MD5})
    miss = submit(client, role_keys, "miss", hashes={"md5": "0" * 32})
    detail = client.get(f"/v1/cases/{hit}", headers=auth(role_keys, "reviewer")).json()
    [m] = detail["evidence"]["matches"]
    assert (m["bank"], m["entry_id"], m["signal_type"], m["value"], m["distance"]) == ("tvec", entry, "md5", MD5, 0)
    assert m["labels"]["behaviour"] == "praise"
    assert detail["evidence"]["text"] is None
    other = client.get(f"/v1/cases/{miss}", headers=auth(role_keys, "reviewer")).json()
    assert other["evidence"]["matches"] == []


def test_case_detail_shows_the_text_hits_with_their_reason(db_url, client, role_keys):
    case = submit(client, role_keys, "t1", text=EXTREMIST)
    calm = submit(client, role_keys, "t2", text="We had lunch with the family after the match.")
    text = client.get(f"/v1/cases/{case}", headers=auth(role_keys, "reviewer")).json()["evidence"]["text"]
    assert text["verdict"] == "violating" and text["category"] == "recruitment"
    [hit] = text["hits"]
    assert hit["matched"] == "join the mujahideen" and EXTREMIST[slice(*hit["span"])] == "join the mujahideen"
    assert "join the mujahideen" in text["reason"]
    benign = client.get(f"/v1/cases/{calm}", headers=auth(role_keys, "reviewer")).json()["evidence"]["text"]
    assert benign["verdict"] == "benign" and benign["hits"] == []


# 3. GET /v1/cases filters by state and by queue.

def test_case_list_state_filter_returns_exactly_the_cases_in_that_state(db_url, client, role_keys):
    open_ = submit(client, role_keys, "o1")
    claimed = submit(client, role_keys, "c1")
    decided = submit(client, role_keys, "d1")
    assert client.post(f"/v1/cases/{claimed}/claim", headers=auth(role_keys, "reviewer")).status_code == 200
    decide(client, role_keys, decided)
    assert listed(client, role_keys) == sorted([open_, claimed])  # default: open and claimed
    assert listed(client, role_keys, state="open") == [open_]
    assert listed(client, role_keys, state="claimed") == [claimed]
    assert listed(client, role_keys, state="decided") == [decided]
    assert listed(client, role_keys, state="appealed") == []
    [row] = client.get("/v1/cases", params={"state": "decided"}, headers=auth(role_keys, "reviewer")).json()
    assert row["state"] == "decided" and row["decided_at"] is not None
    r = client.get("/v1/cases", params={"state": "closed"}, headers=auth(role_keys, "reviewer"))
    assert r.status_code == 422


def test_case_list_queue_filter_returns_exactly_that_queue(db_url, client, role_keys):
    user = submit(client, role_keys, "u1")
    flagger = submit(client, role_keys, "f1", source="trusted_flagger")
    order = submit(client, role_keys, "o1", source="authority_order")
    decided_flagger = submit(client, role_keys, "f2", source="trusted_flagger")
    decide(client, role_keys, decided_flagger)
    assert listed(client, role_keys, queue="default") == [user]
    assert listed(client, role_keys, queue="trusted_flaggers") == [flagger]
    assert listed(client, role_keys, queue="authority_orders") == [order]
    assert listed(client, role_keys, queue="nonexistent") == []
    assert listed(client, role_keys, queue="trusted_flaggers", state="decided") == [decided_flagger]


# 4. Queue routing rules on category and language, through intake.

def test_intake_routes_on_category_and_language_rules(db_url, role_keys, policy_client):
    client = policy_client(default_queue="general", queue_rules=[
        {"queue": "zh_recruitment", "category": "recruitment", "language": "zh"},
        {"queue": "recruitment", "category": "recruitment"},
        {"queue": "chinese", "language": "zh"},
    ])
    both = submit(client, role_keys, "n1", category="recruitment", language="zh")
    category = submit(client, role_keys, "n2", category="recruitment", language="en")
    language = submit(client, role_keys, "n3", category="glorification", language="zh")
    neither = submit(client, role_keys, "n4", category="glorification", language="en")
    bare = submit(client, role_keys, "n5")
    queues = {c["id"]: c["queue"] for c in client.get("/v1/cases", headers=auth(role_keys, "reviewer")).json()}
    assert queues == {both: "zh_recruitment", category: "recruitment", language: "chinese", neither: "general",
                      bare: "general"}
    assert listed(client, role_keys, queue="recruitment") == [category]
    assert listed(client, role_keys, queue="chinese") == [language]


def test_intake_routes_on_the_category_the_detector_found(db_url, role_keys, policy_client):
    client = policy_client(queue_rules=[{"queue": "recruitment", "category": "recruitment"}])
    detected = submit(client, role_keys, "t1", text=EXTREMIST)
    calm = submit(client, role_keys, "t2", text="We had lunch with the family after the match.")
    rev = auth(role_keys, "reviewer")
    assert client.get(f"/v1/cases/{detected}", headers=rev).json()["queue"] == "recruitment"
    assert client.get(f"/v1/cases/{calm}", headers=rev).json()["queue"] == "default"


def test_policy_rules_replace_the_default_source_rules(db_url, role_keys, policy_client):
    client = policy_client(queue_rules=[{"queue": "arabic", "language": "ar"}])
    order = submit(client, role_keys, "o1", source="authority_order", language="ar")
    flagger = submit(client, role_keys, "f1", source="trusted_flagger", language="fr")
    rev = auth(role_keys, "reviewer")
    assert client.get(f"/v1/cases/{order}", headers=rev).json()["queue"] == "arabic"
    assert client.get(f"/v1/cases/{flagger}", headers=rev).json()["queue"] == "default"


def test_language_rule_matches_regional_and_differently_cased_tags(db_url, role_keys, policy_client):
    client = policy_client(queue_rules=[{"queue": "english", "language": "en"}])
    rev = auth(role_keys, "reviewer")
    for cid, tag in (("n1", "en"), ("n2", "en-GB"), ("n3", "EN")):
        case = submit(client, role_keys, cid, language=tag)
        assert client.get(f"/v1/cases/{case}", headers=rev).json()["queue"] == "english", tag


# 5. The notifiers' messages name the decision, its ground and the redress options.

def test_notifier_messages_name_decision_ground_and_redress(db_url, client, role_keys, receiver):
    case = submit(client, role_keys, "a", hashes={"md5": MD5}, notifier={"id": "n1", "email": "n1@example.test"})
    assert submit(client, role_keys, "b", hashes={"md5": MD5}, notifier={"id": "n2"}) == case
    d = decide(client, role_keys, case)
    sent = deliver(db_url, receiver)
    msgs = sent["notifier_notification"]
    assert sorted(m["content_id"] for m in msgs) == ["a", "b"]
    assert len({m["notice_id"] for m in msgs}) == 2
    for m in msgs:
        assert m["decision_id"] == d["id"] and m["case_id"] == case
        assert m["action"] == "remove"
        assert m["ground"] == {"type": "legal", "reference": "TCO Art. 2(7)"}
        assert m["explanation"] == "Praises a terrorist attack."
        assert m["redress"] == REDRESS
        assert "appeal" in m["redress"] and "out-of-court" in m["redress"] and "court" in m["redress"]
        assert m["automated"] is False
    assert "n1@example.test" not in json.dumps(msgs)  # the platform reaches its notifier; no contact details leave


def test_notifier_is_told_of_a_decision_to_take_no_action(db_url, client, role_keys, receiver):
    case = submit(client, role_keys, "a", uploader_id="u1", notifier={"id": "n1"})
    no = {**LABEL, "action": "no_action", "explanation": "Satire, not praise."}
    d = decide(client, role_keys, case, no)
    sent = deliver(db_url, receiver)
    assert set(sent) == {"notifier_notification"}  # nothing to act on, nobody's content restricted
    [m] = sent["notifier_notification"]
    assert m["decision_id"] == d["id"] and m["action"] == "no_action"
    assert m["ground"] == {"type": "contractual", "reference": "ToS 4.2"}
    assert m["explanation"] == "Satire, not praise." and m["redress"] == REDRESS


def test_late_notifier_is_answered_with_the_decision_already_taken(db_url, client, role_keys, receiver):
    case = submit(client, role_keys, "a", hashes={"md5": MD5}, notifier={"id": "n1"})
    d = decide(client, role_keys, case)
    deliver(db_url, receiver)
    receiver.deliveries.clear()
    r = client.post("/v1/notices", json=notice("a", hashes={"md5": MD5}, notifier={"id": "n2"}),
                    headers=auth(role_keys, "submitter"))
    assert r.status_code == 202 and r.json()["case_id"] == case
    [m] = deliver(db_url, receiver)["notifier_notification"]
    assert m["notice_id"] == r.json()["notice_id"] and m["decision_id"] == d["id"]
    assert m["action"] == "remove" and m["ground"] == REMOVE["ground"] and m["redress"] == REDRESS
