"""The outbox: webhooks to the platform (actions, restores, notifications), delivered at least once.

A message is written in the same transaction as the decision that causes it, so a decision never
exists without its action, and a crash never loses one. A worker then posts each message with an
HMAC-SHA256 signature of the exact body and an idempotency key (the receiver drops repeats), retries
with exponential backoff capped at `MAX_DELAY` per wait, and after `MAX_ATTEMPTS` (a day of trying)
leaves it in the `dead` state for an operator. A platform outage of minutes or hours must not
dead-letter actions, least of all one-hour removal orders.

A worker claims due messages by pushing their next attempt a lease into the future, so several
workers share the work, and a worker killed mid-delivery only delays its messages by the lease.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import secrets
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import httpx
import sqlalchemy as sa
from sqlalchemy.orm import Session

from vigil.config import home_dir
from vigil.store.cases import OutboxMessage
from vigil.store.db import session_scope

log = logging.getLogger("vigil.outbox")

WEBHOOK_URL_ENV = "VIGIL_WEBHOOK_URL"
WEBHOOK_SECRET_ENV = "VIGIL_WEBHOOK_SECRET"
SECRET_FILE = "webhook.secret"
SIGNATURE_HEADER = "X-Vigil-Signature"  # "sha256=<hex HMAC-SHA256 of the raw body>"
EVENT_HEADER = "X-Vigil-Event"
IDEMPOTENCY_HEADER = "Idempotency-Key"

BASE_DELAY = timedelta(seconds=2)
MAX_DELAY = timedelta(minutes=15)  # a receiver back from an outage gets its actions within 15 minutes
# Waits of 2 s doubling to 512 s (17 min in all), then 15 minutes each: the 105th attempt comes 24 h 2 min
# after the first, so only a receiver down for a whole day dead-letters a message.
MAX_ATTEMPTS = 105
LEASE = timedelta(seconds=60)  # a claimed message is retried after this if its worker dies
UNCONFIGURED_DELAY = timedelta(seconds=60)
TIMEOUT_SECONDS = 10.0
STATES = ("pending", "delivered", "dead")


def now() -> datetime:
    return datetime.now(timezone.utc)


def configured_url() -> str:
    return os.environ.get(WEBHOOK_URL_ENV, "")


def webhook_secret() -> bytes:
    """VIGIL_WEBHOOK_SECRET, else a random secret kept in the state folder (created on first use, mode 0600)."""
    env = os.environ.get(WEBHOOK_SECRET_ENV)
    if env:
        return env.encode()
    path = home_dir() / SECRET_FILE
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32))
    return path.read_text().strip().encode()


def sign(secret: bytes, body: bytes) -> str:
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


def verify(secret: bytes, body: bytes, signature: str) -> bool:
    """What a receiver does: recompute and compare in constant time."""
    return hmac.compare_digest(sign(secret, body), signature)


def backoff(attempts: int) -> timedelta:
    """Delay before the next try after `attempts` failures: 2 s, 4 s, 8 s, ... 512 s, then 15 minutes each."""
    doublings = min(max(0, attempts - 1), 20)  # 2 s x 2^20 is far past the cap; the bound keeps timedelta finite
    return min(MAX_DELAY, BASE_DELAY * 2**doublings)


def encode(body: dict) -> str:
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


@dataclass(frozen=True)
class Message:
    key: str
    event: str
    body: dict


def enqueue(session: Session, messages: list[Message], at: datetime | None = None) -> int:
    """Add messages in the caller's transaction; a key already queued is not queued again. Returns how many were added."""
    if not messages:
        return 0
    at = at or now()
    existing: set[str] = set()
    keys = [m.key for m in messages]
    for i in range(0, len(keys), 1000):
        existing.update(session.scalars(sa.select(OutboxMessage.idempotency_key)
                                        .where(OutboxMessage.idempotency_key.in_(keys[i : i + 1000]))))
    url = configured_url()
    secret = webhook_secret()
    rows = []
    for m in messages:
        if m.key in existing:
            continue
        existing.add(m.key)
        text = encode({"event": m.event, "idempotency_key": m.key, **m.body})
        rows.append({"idempotency_key": m.key, "event": m.event, "url": url, "body": text,
                     "signature": sign(secret, text.encode("utf-8")), "state": "pending", "attempts": 0,
                     "next_attempt_at": at, "created_at": at})
    if rows:
        session.execute(sa.insert(OutboxMessage), rows)
    return len(rows)


def claim_due(db_url: str, limit: int = 50, at: datetime | None = None) -> list[OutboxMessage]:
    """Take up to `limit` due messages for this worker, leasing them for LEASE."""
    at = at or now()
    with session_scope(db_url) as s:
        due = (sa.select(OutboxMessage.id)
               .where(OutboxMessage.state == "pending", OutboxMessage.next_attempt_at <= at)
               .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id).limit(limit))
        if s.get_bind().dialect.name == "postgresql":
            due = due.with_for_update(skip_locked=True)
        ids = list(s.scalars(due))
        if not ids:
            return []
        # Conditional, so a message another worker claimed meanwhile is not claimed twice.
        rows = s.scalars(sa.update(OutboxMessage)
                         .where(OutboxMessage.id.in_(ids), OutboxMessage.state == "pending",
                                OutboxMessage.next_attempt_at <= at)
                         .values(next_attempt_at=at + LEASE).returning(OutboxMessage)).all()
        s.expunge_all()
        return sorted(rows, key=lambda r: r.id)


def post(client: httpx.Client, msg: OutboxMessage, url: str) -> str | None:
    """Post one message; None when the receiver took it (2xx), else what went wrong."""
    try:
        r = client.post(url, content=msg.body.encode("utf-8"), headers={
            "Content-Type": "application/json", SIGNATURE_HEADER: msg.signature,
            IDEMPOTENCY_HEADER: msg.idempotency_key, EVENT_HEADER: msg.event})
    except httpx.HTTPError as e:
        return f"{type(e).__name__}: {e}"[:1000]
    if 200 <= r.status_code < 300:
        return None
    return f"HTTP {r.status_code}: {r.text[:500]}"


def deliver_due(db_url: str, client: httpx.Client, limit: int = 50) -> dict[str, int]:
    """One round: claim due messages, post them, record each outcome. Returns counts by outcome."""
    counts = {"delivered": 0, "retry": 0, "dead": 0, "waiting": 0}
    configured = configured_url()
    for msg in claim_due(db_url, limit):
        url = msg.url or configured
        at = now()
        if not url:
            values = {"next_attempt_at": at + UNCONFIGURED_DELAY,
                      "last_error": f"no webhook URL configured; set {WEBHOOK_URL_ENV}"}
            counts["waiting"] += 1
        else:
            error = post(client, msg, url)
            attempts = msg.attempts + 1
            if error is None:
                values = {"state": "delivered", "attempts": attempts, "delivered_at": at, "url": url, "last_error": None}
                counts["delivered"] += 1
            elif attempts >= MAX_ATTEMPTS:
                values = {"state": "dead", "attempts": attempts, "last_error": error, "url": url}
                counts["dead"] += 1
                log.warning("outbox message %s is dead after %d attempts: %s", msg.id, attempts, error)
            else:
                values = {"attempts": attempts, "next_attempt_at": at + backoff(attempts), "last_error": error, "url": url}
                counts["retry"] += 1
        with session_scope(db_url) as s:
            s.execute(sa.update(OutboxMessage).where(OutboxMessage.id == msg.id, OutboxMessage.state == "pending")
                      .values(**values))
    return counts


def retry(session: Session, message_id: int) -> OutboxMessage | None:
    """Give a dead message a fresh set of attempts (after the receiver is fixed)."""
    msg = session.get(OutboxMessage, message_id)
    if msg is None:
        return None
    if msg.state == "dead":
        msg.state, msg.attempts, msg.next_attempt_at = "pending", 0, now()
    return msg


def run_worker(db_url: str, stop: threading.Event, poll_seconds: float = 0.5, batch: int = 50) -> None:
    """Deliver until `stop` is set: busy rounds back to back, idle rounds `poll_seconds` apart."""
    with httpx.Client(timeout=TIMEOUT_SECONDS) as client:
        while not stop.is_set():
            try:
                counts = deliver_due(db_url, client, batch)
            except sa.exc.OperationalError as e:
                log.error("outbox worker: database unavailable (%s); retrying", e.orig)
                counts = {}
            if not any(counts.values()):
                stop.wait(poll_seconds)


def start_worker(db_url: str, poll_seconds: float = 0.5) -> tuple[threading.Thread, threading.Event]:
    """Run the delivery loop in a daemon thread (for `vigil serve`); set the event to stop it."""
    stop = threading.Event()
    thread = threading.Thread(target=run_worker, args=(db_url, stop, poll_seconds), name="vigil-outbox", daemon=True)
    thread.start()
    return thread, stop
