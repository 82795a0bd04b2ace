"""Submitting statements through the outbox to a Transparency Database stand-in on loopback."""

import socket
from datetime import date, datetime, timedelta, timezone

import httpx
import sqlalchemy as sa
from typer.testing import CliRunner

from vigil.cli import app
from vigil.store.db import Database, session_scope
from vigil.store.statements import Statement
from vigil.transparency import submit
from vigil.transparency.sor import build_statement, record_statement

from .conftest import make_facts


def record(db_url, n, prefix="p", **changes):
    with session_scope(db_url) as s:
        for i in range(n):
            record_statement(s, make_facts(f"{prefix}-{i}", **changes))


def states(db_url):
    with session_scope(db_url) as s:
        return {st.puid: (st.state, st.attempts, st.last_error) for st in s.scalars(sa.select(Statement))}


def test_batches_of_at_most_100_all_get_through(db_url, tdb):
    record(db_url, 250)
    result = submit.submit_pending(Database(db_url), tdb.url, tdb.token)
    assert (result.submitted, result.failed, result.retrying) == (250, 0, 0)
    assert tdb.db.requests == 3
    assert set(tdb.db.statements) == {f"p-{i}" for i in range(250)}
    assert {v[0] for v in states(db_url).values()} == {"submitted"}
    assert submit.submit_pending(Database(db_url), tdb.url, tdb.token).submitted == 0 and tdb.db.requests == 3


def test_a_422_fails_only_the_statements_it_names(db_url, tdb, monkeypatch):
    """The Database refuses a whole batch for one bad statement (`statement_<i>`): only that one fails."""
    record(db_url, 4, "good")
    with session_scope(db_url) as s:  # stored before the rules tightened, say: Vigil would refuse it today
        body = {**build_statement(make_facts("old-0")), "content_date": "1999-12-31"}
        s.add(Statement(puid="old-0", body=body, source="user", decision_date=date(2026, 1, 6), state="pending",
                        attempts=0, next_attempt_at=datetime.now(timezone.utc), created_at=datetime.now(timezone.utc)))
    record(db_url, 4, "more")
    monkeypatch.setattr(submit, "validate_statement", lambda body: [])  # as if Vigil's own check had missed it
    result = submit.submit_pending(Database(db_url), tdb.url, tdb.token)
    assert (result.submitted, result.failed) == (8, 1)
    state, attempts, error = states(db_url)["old-0"]
    assert state == "failed" and attempts == 1 and "content_date" in error and "2000-01-01" in error
    assert "old-0" not in tdb.db.statements and len(tdb.db.statements) == 8
    assert tdb.db.requests == 2  # the batch, then the batch without the statement at fault


def test_a_statement_that_got_through_before_counts_as_submitted(db_url, tdb):
    """The response to an earlier attempt was lost: the Database already holds the puid."""
    record(db_url, 3)
    with session_scope(db_url) as s:
        body = s.scalars(sa.select(Statement).where(Statement.puid == "p-1")).one().body
    assert httpx.post(tdb.url + "/api/v1/statement", json=body, headers={"Authorization": f"Bearer {tdb.token}"}).status_code == 201
    result = submit.submit_pending(Database(db_url), tdb.url, tdb.token)
    assert (result.submitted, result.failed) == (3, 0)
    assert set(tdb.db.statements) == {"p-0", "p-1", "p-2"}


def test_an_invalid_stored_statement_fails_without_being_sent(db_url, tdb):
    record(db_url, 3)
    with session_scope(db_url) as s:
        row = s.scalars(sa.select(Statement).where(Statement.puid == "p-0")).one()
        row.body = {**row.body, "decision_facts": "x" * 6000}
    result = submit.submit_pending(Database(db_url), tdb.url, tdb.token)
    assert (result.submitted, result.failed) == (2, 1)
    assert "decision_facts" in states(db_url)["p-0"][2] and "p-0" not in tdb.db.statements


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_outages_retry_with_backoff_then_give_up(db_url):
    record(db_url, 2)
    down = f"http://127.0.0.1:{free_port()}"
    t0 = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(minutes=1)
    result = submit.submit_pending(Database(db_url), down, "t", now=t0)
    assert (result.submitted, result.retrying) == (0, 2)
    with session_scope(db_url) as s:
        row = s.scalars(sa.select(Statement).where(Statement.puid == "p-0")).one()
        assert row.state == "pending" and row.attempts == 1 and "ConnectError" in row.last_error
        due = row.next_attempt_at.replace(tzinfo=timezone.utc)
        assert due == t0 + submit.FIRST_RETRY
    assert submit.submit_pending(Database(db_url), down, "t", now=t0 + timedelta(seconds=1)).retrying == 0  # not due yet
    now = t0
    for attempt in range(2, submit.MAX_ATTEMPTS + 1):
        now += submit.backoff(attempt - 1)
        result = submit.submit_pending(Database(db_url), down, "t", now=now)
    assert result.failed == 2
    assert {v[0] for v in states(db_url).values()} == {"failed"}
    assert submit.backoff(1) == submit.FIRST_RETRY and submit.backoff(30) == submit.MAX_RETRY


def test_a_refused_token_keeps_statements_pending(db_url, tdb):
    record(db_url, 1)
    result = submit.submit_pending(Database(db_url), tdb.url, "wrong-token")
    assert result.retrying == 1 and "refused the token" in states(db_url)["p-0"][2]
    assert not tdb.db.statements


def test_standin_follows_the_documented_api(tdb):
    auth = {"Authorization": f"Bearer {tdb.token}"}
    one = build_statement(make_facts("single-1"))
    assert httpx.post(tdb.url + "/api/v1/statement", json=one).status_code == 401
    created = httpx.post(tdb.url + "/api/v1/statement", json=one, headers=auth)
    assert created.status_code == 201 and created.json()["puid"] == "single-1" and created.json()["uuid"]
    dup = httpx.post(tdb.url + "/api/v1/statement", json=one, headers={**auth, "Accept": "application/json"})
    assert dup.status_code == 422 and "puid" in dup.json()["errors"]
    too_many = [build_statement(make_facts(f"b-{i}")) for i in range(101)]
    r = httpx.post(tdb.url + "/api/v1/statements", json={"statements": too_many}, headers={**auth, "Accept": "application/json"})
    assert r.status_code == 422 and "statements" in r.json()["errors"]
    bad = {**build_statement(make_facts("b-x")), "decision_ground": "nope"}
    r = httpx.post(tdb.url + "/api/v1/statements", json={"statements": [too_many[0], bad]},
                   headers={**auth, "Accept": "application/json"})
    assert r.status_code == 422 and list(r.json()["errors"]) == ["statement_1"]
    assert list(r.json()["errors"]["statement_1"]) == ["decision_ground"]
    assert "b-0" not in tdb.db.statements  # nothing from a failed batch is stored
    r = httpx.post(tdb.url + "/api/v1/statements", content=b"{not json", headers={**auth, "Accept": "application/json"})
    assert r.status_code == 422  # the Database reads an undecodable body as an empty one


def test_cli_submits_and_lists(db_url, tdb, monkeypatch):
    record(db_url, 3)
    runner = CliRunner()
    monkeypatch.delenv("VIGIL_TDB_TOKEN", raising=False)
    r = runner.invoke(app, ["statements", "submit", "--db", db_url, "--endpoint", tdb.url])
    assert r.exit_code == 2 and "VIGIL_TDB_TOKEN" in r.output
    monkeypatch.setenv("VIGIL_TDB_TOKEN", tdb.token)
    r = runner.invoke(app, ["statements", "submit", "--db", db_url, "--endpoint", tdb.url])
    assert r.exit_code == 0 and "submitted 3, failed 0" in r.output
    listed = runner.invoke(app, ["statements", "list", "--db", db_url, "--state", "submitted"])
    assert listed.exit_code == 0 and "p-2" in listed.output
    assert runner.invoke(app, ["statements", "list", "--db", db_url, "--state", "lost"]).exit_code == 2


def test_periodic_submission_drains_the_outbox_until_stopped(db_url, tdb):
    import time

    from vigil.runtime import Loop

    submission = submit.Submission(Database(db_url), tdb.url, tdb.token)
    loop = Loop("statements", 0.1, submission, close=submission.close)
    loop.start()
    worker = loop.thread
    try:
        record(db_url, 2, "a")
        deadline = time.monotonic() + 20
        while len(tdb.db.statements) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        record(db_url, 1, "b")
        while len(tdb.db.statements) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        loop.stop()
    assert not worker.is_alive()
    assert set(tdb.db.statements) == {"a-0", "a-1", "b-0"}
