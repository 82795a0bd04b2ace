"""Fixtures for notice and action: keys per role, an app client, and a real webhook receiver on loopback."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from vigil import keys
from vigil.roles import Role
from vigil.store.db import session_scope

SECRET = "test-webhook-secret"


@pytest.fixture(autouse=True)
def _env(monkeypatch, tmp_path):
    monkeypatch.setenv("VIGIL_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("VIGIL_WEBHOOK_SECRET", SECRET)
    monkeypatch.delenv("VIGIL_WEBHOOK_URL", raising=False)
    monkeypatch.delenv("VIGIL_CASE_POLICY", raising=False)
    yield
    # PostgreSQL tests reuse one database URL (truncated between tests): each test starts with fresh runtimes.
    for rt in _RUNTIMES.values():
        rt.close()
    _RUNTIMES.clear()


_RUNTIMES: dict = {}
_DETECTOR: list = []


def runtime_for(db_url: str):
    """The runtime intake helpers use for `db_url` in this test (one per test, as one per worker process).

    The text detector depends on no database and takes seconds to build, so all tests share one."""
    from vigil.runtime import Runtime
    from vigil.settings import Settings
    from vigil.text.detect import Detector

    if db_url not in _RUNTIMES:
        if not _DETECTOR:
            _DETECTOR.append(Detector())
        _RUNTIMES[db_url] = Runtime.build(Settings(database_url=db_url, rate_limit="off"), detector=_DETECTOR[0])
    return _RUNTIMES[db_url]


class Keys(dict):
    """Role -> (key id, plaintext key); a second reviewer and senior for four-eyes tests."""


@pytest.fixture
def role_keys(db_url) -> dict[str, tuple[int, str]]:
    out = {}
    with session_scope(db_url) as s:
        for name, role in (("submitter", Role.SUBMITTER), ("reviewer", Role.REVIEWER), ("reviewer2", Role.REVIEWER),
                           ("senior", Role.SENIOR_REVIEWER), ("senior2", Role.SENIOR_REVIEWER),
                           ("auditor", Role.AUDITOR), ("admin", Role.ADMIN)):
            k = keys.create_key(s, f"test-{name}", role)
            out[name] = (k.row.id, k.key)
    return out


@pytest.fixture
def client(make_app):
    from fastapi.testclient import TestClient

    with TestClient(make_app(), raise_server_exceptions=False) as c:
        yield c


def auth(keys_: dict, who: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {keys_[who][1]}"}


def notice(content_id: str = "c1", *, source: str = "user", text: str | None = None, hashes: dict | None = None,
           **extra) -> dict:
    body = {"source": source, "content": {"id": content_id, "url": f"https://example.test/{content_id}"},
            "explanation": "This post glorifies a terrorist attack.", "good_faith": True}
    if text is not None:
        body["content"]["text"] = text
    if hashes:
        body["content"]["hashes"] = hashes
    if source == "authority_order":
        body.update(authority="Example Police", order_reference="ORD-1")
    for k, v in extra.items():
        if k in ("uploader_id", "views", "type"):
            body["content"][k] = v
        else:
            body[k] = v
    return body


class Receiver:
    """A webhook endpoint on loopback: verifies the HMAC, records deliveries, fails the first `fail_first` posts."""

    def __init__(self, secret: str = SECRET, fail_first: int = 0, always_fail: bool = False) -> None:
        self.secret, self.fail_first, self.always_fail = secret.encode(), fail_first, always_fail
        self.deliveries: list[dict] = []
        self.bad_signatures = 0
        self.posts = 0
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                sig = self.headers.get("X-Vigil-Signature", "")
                good = hmac.compare_digest("sha256=" + hmac.new(receiver.secret, body, hashlib.sha256).hexdigest(), sig)
                with receiver.lock:
                    receiver.posts += 1
                    fail = receiver.always_fail or receiver.posts <= receiver.fail_first
                    if not good:
                        receiver.bad_signatures += 1
                    elif not fail:
                        receiver.deliveries.append({"key": self.headers.get("Idempotency-Key"),
                                                    "event": self.headers.get("X-Vigil-Event"), "body": json.loads(body)})
                self.send_response(401 if not good else 503 if fail else 204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def keys(self) -> set[str]:
        with self.lock:
            return {d["key"] for d in self.deliveries}

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver(monkeypatch):
    r = Receiver()
    monkeypatch.setenv("VIGIL_WEBHOOK_URL", r.url)
    yield r
    r.close()


def deliver_due(db_url: str, client, limit: int = 50) -> dict[str, int]:
    """One delivery round, to the webhook the environment configures now (tests point VIGIL_WEBHOOK_URL at a
    receiver), as the service's outbox loop would make it."""
    from vigil import outbox
    from vigil.settings import Settings

    settings = Settings()
    webhook = outbox.Webhook.configured(settings.webhook_url, SECRET, settings.home)
    return outbox.deliver_due(runtime_for(db_url).db, client, webhook, limit)


def ingest(db_url: str, notices: list[dict], policy=None, now=None):
    """Receive validated notices (intake, then the decisions that cannot wait) in one committed transaction;
    the receipts (or errors), in order."""
    from vigil.cases.notice import NoticeIn
    from vigil.policy.cases import CasePolicy
    from vigil.review.notices import receive

    rt = runtime_for(db_url)
    with session_scope(db_url) as s:
        return receive(s, [NoticeIn.model_validate(n) for n in notices], policy=policy or CasePolicy(), now=now,
                       near_index=rt.near_index, matcher=rt.matcher, detector=rt.detector)


def random_pdq(rng) -> str:
    return rng.randbytes(32).hex()


def flip(pdq: str, bits: list[int]) -> str:
    n = int(pdq, 16)
    for b in bits:
        n ^= 1 << b
    return f"{n:064x}"
