"""API keys: hashed at rest, 401 without a valid key, 403 for the wrong role, 429 over the rate, revocation."""

from __future__ import annotations

import subprocess

import httpx
import pytest
import sqlalchemy as sa

from vigil import keys
from vigil.ratelimit import RateLimiter
from vigil.settings import RateLimit
from vigil.roles import Role
from vigil.store.db import connect, session_scope
from vigil.store.keys import ApiKey

from .conftest import VIGIL, auth


def cli(*args: str, db_url: str) -> subprocess.CompletedProcess:
    return subprocess.run([VIGIL, *args, "--db", db_url], capture_output=True, text=True, timeout=60)


def test_keys_are_stored_only_as_hashes(db_url):
    with session_scope(db_url) as s:
        new = keys.create_key(s, "uploader", Role.SUBMITTER)
    with connect(db_url) as conn:
        dumped = " ".join(str(v) for row in conn.execute(sa.select(ApiKey.__table__)) for v in row)
    assert new.key not in dumped
    assert keys.hash_key(new.key) in dumped
    assert new.key.startswith(keys.KEY_PREFIX) and len(new.key) > 40


def test_duplicate_name_and_unknown_key_are_refused(db_url):
    with session_scope(db_url) as s:
        keys.create_key(s, "a", Role.ADMIN)
        with pytest.raises(keys.ApiKeyError, match="already exists"):
            keys.create_key(s, "a", Role.AUDITOR)
        with pytest.raises(keys.ApiKeyError, match="no key"):
            keys.revoke_key(s, "nobody")


def test_key_flow_against_a_real_server(db_url, serve):
    """CLI mints a key (last line), the server accepts it, revocation is honoured within a second or two."""
    server = serve(db_url)
    url = server.url + "/v1/banks"
    assert httpx.get(url).status_code == 401
    assert httpx.get(url).headers["www-authenticate"].startswith("Bearer")

    created = cli("keys", "create", "--role", "admin", "--name", "ops", db_url=db_url)
    assert created.returncode == 0, created.stderr
    key = created.stdout.strip().splitlines()[-1]
    r = httpx.get(url, headers=auth(key))
    assert r.status_code == 200, r.text

    wrong = httpx.get(url, headers=auth(key + "x"))
    assert wrong.status_code == 401
    assert wrong.json()["error"]["code"] == "unauthorized"

    submitter = cli("keys", "create", "--role", "submitter", "--name", "up", db_url=db_url).stdout.strip().splitlines()[-1]
    forbidden = httpx.get(url, headers=auth(submitter))
    assert forbidden.status_code == 403
    assert "submitter" in forbidden.json()["error"]["message"]

    listed = cli("keys", "list", "--json", db_url=db_url)
    assert "ops" in listed.stdout and key not in listed.stdout

    revoked = cli("keys", "revoke", "ops", db_url=db_url)
    assert revoked.returncode == 0, revoked.stderr
    import time

    deadline = time.monotonic() + 3
    while httpx.get(url, headers=auth(key)).status_code != 401:
        assert time.monotonic() < deadline, "revoked key still accepted after 3 s"
        time.sleep(0.1)


def test_cli_usage_errors_exit_2(db_url):
    assert cli("keys", "create", "--role", "emperor", "--name", "x", db_url=db_url).returncode == 2
    assert cli("keys", "revoke", "999", db_url=db_url).returncode == 2
    cli("keys", "create", "--role", "admin", "--name", "x", db_url=db_url)
    dup = cli("keys", "create", "--role", "admin", "--name", "x", db_url=db_url)
    assert dup.returncode == 2 and "already exists" in dup.stderr


@pytest.mark.parametrize("header", ["", "Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "Bearer not-a-key", "Bearer vigil_" + "a" * 500])
def test_missing_or_malformed_credentials_get_401(client, header):
    r = client.get("/v1/banks", headers={"Authorization": header} if header else {})
    assert r.status_code == 401
    assert r.headers["www-authenticate"].startswith("Bearer")
    assert set(r.json()["error"]) == {"code", "message", "field"}


def test_rate_limit_gives_429_with_retry_after(db_url, role_keys, make_app):
    from fastapi.testclient import TestClient

    app = make_app(rate_limit="3/min")
    with TestClient(app) as c:
        statuses = [c.get("/v1/banks", headers=auth(role_keys[Role.ADMIN])).status_code for _ in range(4)]
        assert statuses == [200, 200, 200, 429]
        r = c.get("/v1/banks", headers=auth(role_keys[Role.ADMIN]))
        assert r.status_code == 429
        assert int(r.headers["retry-after"]) >= 1
        assert r.json()["error"]["code"] == "rate_limited"
        # another key has its own bucket
        assert c.get("/v1/banks", headers=auth(role_keys[Role.AUDITOR])).status_code == 403


def test_token_bucket_refills():
    limiter = RateLimiter(RateLimit(capacity=2, period=0.1))
    assert limiter.take(1) == 0 and limiter.take(1) == 0
    wait = limiter.take(1)
    assert 0 < wait <= 0.05 + 1e-9
    import time

    time.sleep(wait + 0.01)
    assert limiter.take(1) == 0


@pytest.mark.parametrize("text,expected", [("100/s", (100, 1)), ("6000/min", (6000, 60)), ("5", (5, 1)), ("2/h", (2, 3600))])
def test_rate_limit_parsing(text, expected):
    limit = RateLimit.parse(text)
    assert (limit.capacity, limit.period) == expected


@pytest.mark.parametrize("text", ["off", "0", ""])
def test_rate_limit_off(text):
    assert RateLimit.parse(text) is None


@pytest.mark.parametrize("text", ["-1", "fast", "10/fortnight"])
def test_rate_limit_rejects_nonsense(text):
    with pytest.raises(ValueError):
        RateLimit.parse(text)


def test_serve_refuses_a_nonsense_rate_limit(db_url):
    r = subprocess.run([VIGIL, "serve", "--db", db_url, "--rate-limit", "fast"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "rate limit" in r.stderr


def test_no_default_keys(fresh_db_url):
    r = cli("keys", "list", "--json", db_url=fresh_db_url)
    assert r.returncode == 0 and r.stdout.strip() == ""


def test_batch_items_count_against_the_rate(db_url, role_keys, make_app):
    from fastapi.testclient import TestClient

    app = make_app(rate_limit="5/min")
    items = [{"content_id": str(i), "signals": [{"type": "md5", "value": "0" * 32}]} for i in range(10)]
    with TestClient(app) as c:
        # A valid batch larger than the bucket is admitted on an idle key (F8), and its items are paid for after:
        first = c.post("/v1/check/batch", json={"items": items}, headers=auth(role_keys[Role.SUBMITTER]))
        assert first.status_code == 200, first.text
        r = c.post("/v1/check/batch", json={"items": items}, headers=auth(role_keys[Role.SUBMITTER]))
        assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1
        small = c.post("/v1/check/batch", json={"items": items[:2]}, headers=auth(role_keys[Role.AUDITOR]))
        assert small.status_code == 403  # a different key, its own bucket; then the role check
