"""The queue's order: removal orders by deadline (the law), everything else by priority; the same on every page."""

from datetime import datetime, timedelta, timezone

from vigil.cases import queue
from vigil.store.db import session_scope

from .conftest import auth, ingest, notice

T0 = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(minutes=55)


def seed(db_url) -> dict[str, int]:
    """Three orders received 55, 35 and 5 minutes ago (the latest the most severe), and two trusted flags."""
    cases = {}
    for name, body, received in [
        ("order_due_in_5_min", notice("o1", source="authority_order"), T0),
        ("order_due_in_25_min", notice("o2", source="authority_order"), T0 + timedelta(minutes=20)),
        ("order_severe_due_in_55_min", notice("o3", source="authority_order", category="terrorist_content"),
         T0 + timedelta(minutes=50)),
        ("trusted_plain", notice("t1", source="trusted_flagger"), T0),
        ("trusted_severe", notice("t2", source="trusted_flagger", category="terrorist_content"), T0 + timedelta(minutes=30)),
        ("user", notice("u1", category="terrorist_content"), T0),
    ]:
        [receipt] = ingest(db_url, [body], now=received)
        cases[name] = receipt.case_id
    return cases


EXPECTED = ["order_due_in_5_min", "order_due_in_25_min", "order_severe_due_in_55_min", "trusted_severe",
            "trusted_plain", "user"]


def test_orders_go_by_deadline_and_the_rest_by_priority(db_url):
    cases = seed(db_url)
    with session_scope(db_url) as s:
        listed = queue.list_cases(s)
    by_id = {c["id"]: c for c in listed}
    severe, soonest = by_id[cases["order_severe_due_in_55_min"]], by_id[cases["order_due_in_5_min"]]
    assert severe["priority"] > soonest["priority"] and severe["deadline"] > soonest["deadline"]
    later_trusted, earlier_trusted = by_id[cases["trusted_severe"]], by_id[cases["trusted_plain"]]
    assert later_trusted["priority"] > earlier_trusted["priority"] and later_trusted["deadline"] > earlier_trusted["deadline"]
    assert [c["id"] for c in listed] == [cases[k] for k in EXPECTED]


def test_pages_of_the_api_follow_the_same_order(db_url, client, role_keys):
    cases = seed(db_url)
    pages = [client.get("/v1/cases", params={"limit": 2, "offset": o}, headers=auth(role_keys, "reviewer")).json()
             for o in (0, 2, 4)]
    assert [c["id"] for page in pages for c in page] == [cases[k] for k in EXPECTED]
    orders = client.get("/v1/cases", params={"source": "authority_order"}, headers=auth(role_keys, "reviewer")).json()
    assert [c["id"] for c in orders] == [cases[k] for k in EXPECTED[:3]]
