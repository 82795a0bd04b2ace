"""Probes, metrics, and the request-scoped session (commit before the response, rollback on error)."""

from __future__ import annotations

import time

import pytest
from prometheus_client.parser import text_string_to_metric_families
import sqlalchemy as sa
from fastapi import Depends
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from vigil import keys
from vigil.clock import now as clock_now
from vigil.web.deps import DbSession
from vigil.errors import Conflict
from vigil.banks import service
from vigil.roles import Role
from vigil.store.db import session_scope
from vigil.store.keys import ApiKey

from .conftest import auth


def ready(client, timeout: float = 20) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        r = client.get("/readyz")
        if r.status_code == 200 or time.monotonic() > deadline:
            return r
        time.sleep(0.1)


def test_healthz(client):
    assert client.get("/healthz").json() == {"status": "ok"}


def test_readyz_reports_database_migrations_and_index(client):
    r = ready(client)
    assert r.status_code == 200, r.text
    assert r.json() == {"status": "ready", "checks": {"database": "ok", "migrations": "ok", "index": "ok"}}


def test_readyz_is_503_on_an_unmigrated_database(fresh_db_url, make_app):
    with TestClient(make_app(fresh_db_url), raise_server_exceptions=False) as c:
        r = c.get("/readyz")
        assert r.status_code == 503
        assert r.json()["checks"]["migrations"].startswith("not at head")


def test_readyz_is_503_when_the_database_is_unreachable(make_app):
    app = make_app("postgresql://postgres@127.0.0.1:1/nothing")
    with TestClient(app, raise_server_exceptions=False) as c:
        r = c.get("/readyz")
        assert r.status_code == 503 and r.json()["checks"]["database"].startswith("unreachable")


def test_metrics_count_requests_and_report_index_sizes(db_url, role_keys, make_app):
    with session_scope(db_url) as s:
        service.create_bank(s, "tvec")
        service.add_entry(s, "tvec", "md5", "1" * 32)
    with TestClient(make_app()) as c:
        ready(c)
        for _ in range(3):
            c.post("/v1/check", json={"content_id": "m", "signals": [{"type": "md5", "value": "1" * 32}]},
                   headers=auth(role_keys[Role.SUBMITTER]))
        c.get("/v1/banks", headers=auth(role_keys[Role.SUBMITTER]))
        assert c.get("/metrics").status_code == 401  # bank names and traffic are the operator's business
        text = c.get("/metrics", headers=auth(role_keys[Role.AUDITOR])).text
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
               for family in text_string_to_metric_families(text) for s in family.samples}
    assert "# TYPE vigil_http_requests_total counter" in text
    assert samples[("vigil_http_requests_total", (("method", "POST"), ("route", "/v1/check"), ("status", "200")))] == 3
    assert ("vigil_http_requests_total", (("method", "GET"), ("route", "/v1/banks"), ("status", "403"))) in samples
    assert samples[("vigil_http_request_duration_seconds_bucket",
                    (("le", "+Inf"), ("method", "POST"), ("route", "/v1/check"), ("status", "200")))] == 3
    assert samples[("vigil_index_size", (("name", "tvec/md5"),))] == 1


@pytest.fixture
def session_app(db_url, make_app):
    app = make_app()

    @app.post("/test/duplicate-key")
    def duplicate(s: DbSession):
        """Two keys with one hash: the unique constraint fails only at commit, after this returns."""
        for name in ("a", "b"):
            s.add(ApiKey(name=name, role="admin", key_hash="f" * 64, prefix="x", created_at=clock_now()))
        return {"ok": True}

    @app.post("/test/add-then-fail")
    def fail(s: DbSession):
        s.add(ApiKey(name="ghost", role="admin", key_hash="e" * 64, prefix="x", created_at=clock_now()))
        s.flush()
        raise Conflict("On purpose")

    @app.post("/test/add")
    def add(s: DbSession):
        s.add(ApiKey(name="kept", role="admin", key_hash="d" * 64, prefix="x", created_at=clock_now()))
        return {"ok": True}

    return app


def names(db_url) -> set[str]:
    with session_scope(db_url) as s:
        return set(s.scalars(sa.select(ApiKey.name)))


def test_a_failed_commit_is_an_error_response_not_a_200(session_app, db_url):
    with TestClient(session_app, raise_server_exceptions=False) as c:
        r = c.post("/test/duplicate-key")
    assert r.status_code == 409, r.text
    assert names(db_url) == set()


def test_an_error_rolls_back(session_app, db_url):
    with TestClient(session_app, raise_server_exceptions=False) as c:
        assert c.post("/test/add-then-fail").status_code == 409
    assert "ghost" not in names(db_url)


def test_a_2xx_means_committed(session_app, db_url):
    with TestClient(session_app) as c:
        assert c.post("/test/add").status_code == 200
        assert "kept" in names(db_url)  # visible to another connection as soon as the answer arrives
