"""The outbox's retry schedule in time: an outage of hours never dead-letters an action; a day-long one does."""

from datetime import datetime, timedelta, timezone

import httpx
import pytest
import sqlalchemy as sa

from vigil import outbox
from vigil.store.cases import OutboxMessage
from vigil.store.db import session_scope

from .conftest import Receiver, deliver_due


def fail_for(db_url, client, span: timedelta) -> tuple[timedelta, OutboxMessage]:
    """Deliver the one queued message until `span` of scheduled waiting has passed or it is no longer pending.

    Each round adds the wait the outbox scheduled, then makes the message due at once, so a day passes in seconds.
    Returns the waiting so far and the message.
    """
    waited = timedelta()
    while True:
        before = datetime.now(timezone.utc)
        deliver_due(db_url, client)
        with session_scope(db_url) as s:
            msg = s.scalars(sa.select(OutboxMessage)).one()
            s.expunge(msg)
        if msg.state != "pending":
            return waited, msg
        waited += msg.next_attempt_at.replace(tzinfo=timezone.utc) - before
        if waited >= span:
            return waited, msg
        with session_scope(db_url) as s:
            s.execute(sa.update(OutboxMessage).values(next_attempt_at=before - timedelta(seconds=1)))


@pytest.fixture
def outage(db_url, monkeypatch):
    """A platform that refuses every webhook, and one removal queued for it."""
    r = Receiver(always_fail=True)
    monkeypatch.setenv("VIGIL_WEBHOOK_URL", r.url)
    with session_scope(db_url) as s:
        outbox.enqueue(s, [outbox.Message("action:tco-1", "action", {"action": "remove", "ground": "TCO"})])
    yield r
    r.close()


def test_an_outage_of_hours_delays_a_removal_but_never_drops_it(db_url, outage):
    with httpx.Client(timeout=5) as client:
        waited, msg = fail_for(db_url, client, timedelta(hours=12))
        assert msg.state == "pending" and waited >= timedelta(hours=12)
        assert msg.next_attempt_at.replace(tzinfo=timezone.utc) - datetime.now(timezone.utc) <= outbox.MAX_DELAY
        outage.always_fail = False
        with session_scope(db_url) as s:
            s.execute(sa.update(OutboxMessage).values(next_attempt_at=datetime.now(timezone.utc)))
        assert deliver_due(db_url, client)["delivered"] == 1
    assert outage.keys() == {"action:tco-1"} and outage.bad_signatures == 0


def test_only_a_day_of_failures_dead_letters(db_url, outage):
    with httpx.Client(timeout=5) as client:
        waited, msg = fail_for(db_url, client, timedelta(days=2))
    assert msg.state == "dead" and msg.attempts == outbox.MAX_ATTEMPTS == outage.posts
    assert timedelta(hours=24) <= waited < timedelta(hours=24) + outbox.MAX_DELAY
