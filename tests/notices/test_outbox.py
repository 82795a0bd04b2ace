"""Signed webhooks through the outbox to a real HTTP receiver on loopback: delivery, retries, dead letters."""

from datetime import datetime, timedelta, timezone

import httpx
import sqlalchemy as sa

from vigil import outbox
from vigil.store.cases import OutboxMessage
from vigil.store.db import session_scope

from .conftest import SECRET, Receiver, auth, deliver_due, runtime_for


def queue(db_url, n=3, event="action"):
    with session_scope(db_url) as s:
        outbox.enqueue(s, [outbox.Message(f"{event}:{i}", event, {"decision_id": i, "text": "é ✓"}) for i in range(n)])


def drain(db_url, rounds=50, at_step=None):
    """Deliver until nothing is due, moving due times into the past instead of sleeping through backoff."""
    with httpx.Client(timeout=5) as client:
        for _ in range(rounds):
            with session_scope(db_url) as s:
                s.execute(sa.update(OutboxMessage).where(OutboxMessage.state == "pending")
                          .values(next_attempt_at=datetime.now(timezone.utc) - timedelta(seconds=1)))
            counts = deliver_due(db_url, client)
            if not any(counts.values()):
                return


def test_delivery_is_signed_and_carries_idempotency_key(db_url, receiver):
    queue(db_url)
    drain(db_url)
    assert receiver.bad_signatures == 0
    assert receiver.keys() == {"action:0", "action:1", "action:2"}
    assert all(d["event"] == "action" and d["body"]["text"] == "é ✓" for d in receiver.deliveries)
    with session_scope(db_url) as s:
        states = s.scalars(sa.select(OutboxMessage.state)).all()
    assert states == ["delivered"] * 3


def test_wrong_secret_is_rejected_by_receiver_and_retried(db_url, monkeypatch):
    r = Receiver(secret="another-secret")
    monkeypatch.setenv("VIGIL_WEBHOOK_URL", r.url)
    try:
        queue(db_url, 1)
        with httpx.Client() as client:
            deliver_due(db_url, client)
        assert r.bad_signatures == 1 and r.deliveries == []
        with session_scope(db_url) as s:
            m = s.scalars(sa.select(OutboxMessage)).one()
            assert m.state == "pending" and m.attempts == 1 and "401" in m.last_error
    finally:
        r.close()


def test_retries_with_backoff_then_delivers(db_url, monkeypatch):
    r = Receiver(fail_first=2)
    monkeypatch.setenv("VIGIL_WEBHOOK_URL", r.url)
    try:
        queue(db_url, 1)
        t0 = datetime.now(timezone.utc)
        with httpx.Client() as client:
            deliver_due(db_url, client)
        with session_scope(db_url) as s:
            m = s.scalars(sa.select(OutboxMessage)).one()
            wait = m.next_attempt_at.replace(tzinfo=timezone.utc) - t0
            assert m.attempts == 1 and timedelta(seconds=1) < wait < timedelta(seconds=10)
        drain(db_url)
        assert r.keys() == {"action:0"} and r.posts == 3
    finally:
        r.close()


def test_backoff_grows_exponentially_and_is_capped():
    assert [outbox.backoff(n).total_seconds() for n in (1, 2, 3, 4)] == [2, 4, 8, 16]
    assert outbox.backoff(9).total_seconds() == 512
    assert outbox.backoff(10) == outbox.backoff(40) == outbox.backoff(10**6) == timedelta(minutes=15)


def test_dead_letter_after_max_attempts_is_visible_and_retryable(db_url, client, role_keys, monkeypatch):
    r = Receiver(always_fail=True)
    monkeypatch.setenv("VIGIL_WEBHOOK_URL", r.url)
    try:
        queue(db_url, 1)
        drain(db_url, rounds=outbox.MAX_ATTEMPTS + 1)
        assert r.posts == outbox.MAX_ATTEMPTS
        out = client.get("/v1/outbox", params={"state": "dead"}, headers=auth(role_keys, "admin")).json()
        assert out["counts"]["dead"] == 1
        [dead] = out["deliveries"]
        assert dead["attempts"] == outbox.MAX_ATTEMPTS and "503" in dead["last_error"]
        assert client.get("/v1/outbox", headers=auth(role_keys, "reviewer")).status_code == 403
        r.always_fail = False
        retried = client.post(f"/v1/outbox/{dead['id']}/retry", headers=auth(role_keys, "admin")).json()
        assert retried["state"] == "pending" and retried["attempts"] == 0
        drain(db_url)
        assert r.keys() == {"action:0"}
    finally:
        r.close()


def test_unreachable_receiver_is_an_error_not_a_crash(db_url, monkeypatch):
    monkeypatch.setenv("VIGIL_WEBHOOK_URL", "http://127.0.0.1:9/hooks")
    queue(db_url, 1)
    with httpx.Client(timeout=2) as client:
        counts = deliver_due(db_url, client)
    assert counts["retry"] == 1
    with session_scope(db_url) as s:
        assert "ConnectError" in s.scalars(sa.select(OutboxMessage.last_error)).one()


def test_no_url_configured_waits_without_spending_attempts(db_url):
    queue(db_url, 1)
    with httpx.Client() as client:
        assert deliver_due(db_url, client)["waiting"] == 1
    with session_scope(db_url) as s:
        m = s.scalars(sa.select(OutboxMessage)).one()
        assert m.attempts == 0 and "VIGIL_WEBHOOK_URL" in m.last_error


def test_same_key_is_queued_once(db_url):
    queue(db_url, 2)
    queue(db_url, 2)
    with session_scope(db_url) as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)) == 2


def test_a_claimed_message_is_not_claimed_twice(db_url):
    queue(db_url, 5)
    first = outbox.claim_due(runtime_for(db_url).db, 10)
    second = outbox.claim_due(runtime_for(db_url).db, 10)
    assert len(first) == 5 and second == []
    later = outbox.claim_due(runtime_for(db_url).db, 10, at=datetime.now(timezone.utc) + outbox.LEASE + timedelta(seconds=1))
    assert len(later) == 5  # a worker that died holding them only delays them by the lease


def test_signature_helpers_agree():
    body = b'{"a":1}'
    assert outbox.verify(SECRET.encode(), body, outbox.sign(SECRET.encode(), body))
    assert not outbox.verify(SECRET.encode(), body + b" ", outbox.sign(SECRET.encode(), body))


def test_worker_thread_delivers_decisions_end_to_end(db_url, client, role_keys, receiver):
    from .conftest import notice

    r = client.post("/v1/notices", json=notice("c1", uploader_id="u1"), headers=auth(role_keys, "submitter")).json()
    client.post(f"/v1/cases/{r['case_id']}/decision", headers=auth(role_keys, "reviewer"), json={
        "action": "remove", "territorial_scope": [], "ground": {"type": "legal", "reference": "TCO"}, "explanation": "x"})
    from vigil.runtime import Loop
    from vigil.settings import Settings

    delivery = outbox.Delivery(runtime_for(db_url).db, outbox.Webhook.configured(Settings().webhook_url, SECRET,
                                                                                  Settings().home))
    loop = Loop("outbox", 0.05, delivery, close=delivery.close)
    loop.start()
    try:
        import time

        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and len(receiver.keys()) < 3:
            time.sleep(0.05)
    finally:
        loop.stop()
    events = sorted(d["event"] for d in receiver.deliveries)
    assert events == ["action", "notifier_notification", "uploader_notification"]
    action = next(d for d in receiver.deliveries if d["event"] == "action")["body"]
    assert action["contents"][0]["content_id"] == "c1" and action["action"] == "remove"


def test_the_service_delivers_its_own_webhooks(db_url, receiver, role_keys, monkeypatch, make_app):
    """`vigil serve` runs delivery itself when a webhook URL is configured: no separate worker needed."""
    import time

    from fastapi.testclient import TestClient

    monkeypatch.setenv("VIGIL_OUTBOX_WORKER", "on")
    queue(db_url, n=3)
    with TestClient(make_app()):
        deadline = time.monotonic() + 15
        while len(receiver.keys()) < 3 and time.monotonic() < deadline:
            time.sleep(0.1)
    assert receiver.keys() == {"action:0", "action:1", "action:2"}
    assert receiver.bad_signatures == 0
    with session_scope(db_url) as s:
        assert set(s.scalars(sa.select(OutboxMessage.state))) == {"delivered"}
