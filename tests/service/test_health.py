"""Probes, metrics, and the request-scoped session (commit before the response, rollback on error)."""

from __future__ import annotations

import time

import pytest
import sqlalchemy as sa
from fastapi import Depends
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from vigil import keys
from vigil.api.app import ServiceSettings, create_app
from vigil.api.deps import get_session
from vigil.api.errors import ApiError
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


def test_readyz_is_503_on_an_unmigrated_database(fresh_db_url):
    with TestClient(create_app(fresh_db_url, ServiceSettings(rate_limit=None)), raise_server_exceptions=False) as c:
        r = c.get("/readyz")
        assert r.status_code == 503
        assert r.json()["checks"]["migrations"].startswith("not at head")


def test_readyz_is_503_when_the_database_is_unreachable():
    app = create_app("postgresql://postgres@127.0.0.1:1/nothing", ServiceSettings(rate_limit=None))
    with TestClient(app, raise_server_exceptions=False) as c:
        r = c.get("/readyz")
        assert r.status_code == 503 and r.json()["checks"]["database"].startswith("unreachable")


def test_metrics_count_requests_and_report_index_sizes(db_url, role_keys):
    with session_scope(db_url) as s:
        service.create_bank(s, "tvec")
        service.add_entry(s, "tvec", "md5", "1" * 32)
    with TestClient(create_app(db_url, ServiceSettings(rate_limit=None))) as c:
        ready(c)
        for _ in range(3):
            c.post("/v1/check", json={"content_id": "m", "signals": [{"type": "md5", "value": "1" * 32}]},
                   headers=auth(role_keys[Role.SUBMITTER]))
        c.get("/v1/banks", headers=auth(role_keys[Role.SUBMITTER]))
        text = c.get("/metrics").text
    assert "# TYPE vigil_http_requests_total counter" in text
    assert 'vigil_http_requests_total{method="POST",route="/v1/check",status="200"' in text
    line = next(l for l in text.splitlines() if l.startswith('vigil_http_requests_total{method="POST",route="/v1/check",status="200"'))
    assert line.endswith(" 3")
    assert 'route="/v1/banks",status="403"' in text
    assert 'vigil_http_request_duration_seconds_bucket{method="POST",route="/v1/check",status="200"' in text and 'le="+Inf"} 3' in text
    assert 'vigil_index_size{name="tvec/md5"' in text and any(
        l.startswith('vigil_index_size{name="tvec/md5"') and l.endswith(" 1") for l in text.splitlines())


@pytest.fixture
def session_app(db_url):
    app = create_app(db_url, ServiceSettings(rate_limit=None))

    @app.post("/test/duplicate-key")
    def duplicate(s: Session = Depends(get_session)):
        """Two keys with one hash: the unique constraint fails only at commit, after this returns."""
        for name in ("a", "b"):
            s.add(ApiKey(name=name, role="admin", key_hash="f" * 64, prefix="x", created_at=keys.now()))
        return {"ok": True}

    @app.post("/test/add-then-fail")
    def fail(s: Session = Depends(get_session)):
        s.add(ApiKey(name="ghost", role="admin", key_hash="e" * 64, prefix="x", created_at=keys.now()))
        s.flush()
        raise ApiError(409, "conflict", "On purpose")

    @app.post("/test/add")
    def add(s: Session = Depends(get_session)):
        s.add(ApiKey(name="kept", role="admin", key_hash="d" * 64, prefix="x", created_at=keys.now()))
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
