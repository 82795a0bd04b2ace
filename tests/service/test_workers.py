"""Several `vigil serve` worker processes on one database (the backend under test) see each other's bank changes within 1 s."""

from __future__ import annotations

import time

import httpx
import pytest

from vigil import keys
from vigil.banks import service
from vigil.roles import Role
from vigil.store.db import session_scope

from .conftest import auth

VALUE = "5" * 32
CHECK = {"content_id": "w", "signals": [{"type": "md5", "value": VALUE}]}


def verdicts(url: str, key: str, n: int) -> list[str]:
    """n checks, each on a new connection, so the kernel spreads them over the workers."""
    return [httpx.post(url + "/v1/check", json=CHECK, headers=auth(key), timeout=10).json()["verdict"] for _ in range(n)]


def answering_workers(url: str, n: int) -> set[str]:
    """The workers (X-Vigil-Worker) that answered n requests, each on a new connection."""
    return {httpx.get(url + "/healthz", timeout=10).headers["x-vigil-worker"] for _ in range(n)}


@pytest.mark.slow
def test_workers_see_each_others_bank_changes_within_a_second(db_url, serve):
    with session_scope(db_url) as s:
        service.create_bank(s, "live")
        admin = keys.create_key(s, "admin", Role.ADMIN).key
        submitter = keys.create_key(s, "submitter", Role.SUBMITTER).key
    server = serve(db_url, "--workers", "2", "--rate-limit", "off")
    assert "serving on http://127.0.0.1:" in server.output()
    deadline = time.monotonic() + 60
    while not all(httpx.get(server.url + "/readyz", timeout=10).status_code == 200 for _ in range(15)):
        assert time.monotonic() < deadline, "workers did not all become ready"
        time.sleep(0.5)
    assert len(answering_workers(server.url, 30)) >= 2, "requests were not spread over several workers"
    assert set(verdicts(server.url, submitter, 15)) == {"benign"}

    r = httpx.post(server.url + "/v1/banks/live/entries", json={"signal_type": "md5", "value": VALUE}, headers=auth(admin))
    assert r.status_code == 201, r.text
    entry_id = r.json()["id"]
    time.sleep(1.0)
    assert set(verdicts(server.url, submitter, 30)) == {"violating"}

    r = httpx.patch(f"{server.url}/v1/banks/live/entries/{entry_id}", json={"enabled": False}, headers=auth(admin))
    assert r.status_code == 200, r.text
    time.sleep(1.0)
    assert set(verdicts(server.url, submitter, 30)) == {"benign"}
