"""Authority orders first (due in one hour), trusted flaggers next, then severity + confidence, reach as tie-break."""

from datetime import datetime, timedelta, timezone

from vigil.policy import priority as p
from vigil.policy.cases import CasePolicy
from vigil.policy.routing import QueueRule, route

from .conftest import auth, ingest, notice


def inputs(**kw) -> p.PriorityInputs:
    base = dict(source="user", category=None, crisis=False, bank_match=False, detector_score=0.0, notice_count=1,
                notifier_confidence=0.5, views=0)
    return p.PriorityInputs(**{**base, **kw})


def test_tiers_beat_any_score():
    best_user = inputs(category="terrorist_content", crisis=True, bank_match=True, detector_score=1.0, notice_count=50,
                       notifier_confidence=1.0, views=10**12)
    plain_trusted = inputs(source="trusted_flagger")
    plain_order = inputs(source="authority_order")
    assert p.priority(plain_order) > p.priority(plain_trusted) > p.priority(best_user)
    assert p.score(best_user) == 10.0


def test_score_components():
    assert p.severity(inputs(category="terrorist_content")) > p.severity(inputs())
    assert p.severity(inputs(crisis=True)) == p.severity(inputs()) + p.CRISIS_SEVERITY
    assert p.confidence(inputs(bank_match=True)) > p.confidence(inputs())
    assert p.confidence(inputs(notice_count=3)) > p.confidence(inputs(notice_count=2))
    assert p.confidence(inputs(notifier_confidence=0.9)) > p.confidence(inputs(notifier_confidence=0.5))
    # reach only breaks ties: a viral post never outranks a more severe one
    assert p.priority(inputs(category="terrorist_content")) > p.priority(inputs(views=10**12))
    assert p.priority(inputs(views=1000)) > p.priority(inputs(views=10))


def test_notifier_weight_starts_neutral_and_learns():
    assert p.notifier_weight(0, 0) == 0.5
    assert p.notifier_weight(9, 1) > 0.8 > p.notifier_weight(5, 5) > p.notifier_weight(1, 9)


def test_deadlines():
    t0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
    levels = CasePolicy().service_levels_hours
    assert p.deadline(inputs(source="authority_order"), t0, levels, t0) == t0 + timedelta(hours=1)
    assert p.deadline(inputs(source="trusted_flagger"), t0, levels) == t0 + timedelta(hours=levels["trusted_flagger"])
    assert p.deadline(inputs(), t0, levels) == t0 + timedelta(hours=levels["low"])
    assert p.deadline(inputs(category="terrorist_content", crisis=True), t0, levels) == t0 + timedelta(hours=levels["high"])


def test_routing_first_matching_rule_wins():
    rules = [QueueRule("zh", language="zh"), QueueRule("terror", category="terrorist_content"), QueueRule("tf", source="trusted_flagger")]
    assert route(rules, "default", category="terrorist_content", language="zh", source="user") == "zh"
    assert route(rules, "default", category="terrorist_content", language="en", source="trusted_flagger") == "terror"
    assert route(rules, "default", category=None, language=None, source="trusted_flagger") == "tf"
    assert route(rules, "default", category=None, language=None, source="user") == "default"


def test_queue_order_and_deadlines_through_the_api(db_url, client, role_keys):
    t0 = datetime.now(timezone.utc)
    sub = auth(role_keys, "submitter")
    ids = {}
    for name, body in [
        ("user_low", notice("u1")),
        ("user_severe", notice("u2", category="terrorist_content", views=10)),
        ("trusted", notice("t1", source="trusted_flagger")),
        ("order", notice("o1", source="authority_order")),
        ("user_viral", notice("u3", views=10**9)),
    ]:
        r = client.post("/v1/notices", json=body, headers=sub)
        assert r.status_code == 202, r.text
        ids[name] = r.json()["case_id"]
    cases = client.get("/v1/cases", headers=auth(role_keys, "reviewer")).json()
    assert [c["id"] for c in cases] == [ids[k] for k in ("order", "trusted", "user_severe", "user_viral", "user_low")]
    order = cases[0]
    deadline = datetime.fromisoformat(order["deadline"])
    assert timedelta(minutes=59) < deadline - t0 <= timedelta(hours=1, seconds=5)
    assert 3500 < order["time_left"] <= 3600
    assert order["queue"] == "authority_orders" and cases[1]["queue"] == "trusted_flaggers"
    only = client.get("/v1/cases", params={"queue": "trusted_flaggers"}, headers=auth(role_keys, "reviewer")).json()
    assert [c["id"] for c in only] == [ids["trusted"]]


def test_order_on_existing_case_lifts_it_and_sets_the_one_hour_deadline(db_url):
    t0 = datetime(2026, 3, 1, 12, tzinfo=timezone.utc)
    [first] = ingest(db_url, [notice("c1")], now=t0)
    [order] = ingest(db_url, [notice("c1", source="authority_order")], now=t0 + timedelta(minutes=5))
    assert order.case_id == first.case_id
    from vigil.store.cases import Case
    from vigil.store.db import session_scope

    with session_scope(db_url) as s:
        case = s.get(Case, first.case_id)
        assert case.source == "authority_order" and case.priority >= p.TIER_BASE["authority_order"]
        assert case.deadline.replace(tzinfo=timezone.utc) == t0 + timedelta(minutes=65)
        assert case.queue == "authority_orders"


def test_several_notices_and_accurate_notifiers_raise_priority(db_url):
    from vigil.store.cases import Case, NotifierRecord
    from vigil.store.db import session_scope

    with session_scope(db_url) as s:
        s.add(NotifierRecord(notifier_id="good", accurate=20, inaccurate=0))
    [a] = ingest(db_url, [notice("a")])
    [b] = ingest(db_url, [notice("b", notifier={"id": "good"})])
    ingest(db_url, [notice("c"), notice("c"), notice("c")])
    with session_scope(db_url) as s:
        pa, pb = s.get(Case, a.case_id).priority, s.get(Case, b.case_id).priority
        pc = s.scalar(__import__("sqlalchemy").select(Case.priority).where(Case.id == 3))
    assert pb > pa and pc > pa
