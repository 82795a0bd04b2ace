"""The outbox: webhooks to the platform (actions, restores, notifications), delivered at least once.

A message is written in the same transaction as the decision that causes it, so a decision never
exists without its action, and a crash never loses one. Its body is RFC 8785 canonical JSON
(vigil.canonical). A worker then posts each message to the configured URL with an HMAC-SHA256
signature of the exact body and an idempotency key (the receiver drops repeats), retries
with exponential backoff capped at `MAX_DELAY` per wait, and after `MAX_ATTEMPTS` (a day of trying)
leaves it in the `dead` state for an operator. A platform outage of minutes or hours must not
dead-letter actions, least of all one-hour removal orders.

A worker claims due messages by pushing their next attempt a lease into the future, so several
workers share the work, and a worker killed mid-delivery only delays its messages by the lease.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import sqlalchemy as sa
from sqlalchemy.orm import Session

from vigil import canonical
from vigil.clock import now
from vigil.store.bulk import chunks
from vigil.store.cases import OutboxMessage
from vigil.store.db import Database, is_postgres

log = logging.getLogger("vigil.outbox")

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


@dataclass(frozen=True)
class Webhook:
    """Where messages go and the secret they are signed with. An empty URL: messages wait, nothing is lost."""

    url: str
    secret: bytes

    @classmethod
    def configured(cls, url: str, secret: str | None, home: Path) -> Webhook:
        """The configured URL, and the configured secret or the one kept in the state folder (see `secret_file`)."""
        return cls(url, secret.encode() if secret else secret_file(home))


def secret_file(home: Path) -> bytes:
    """A random secret kept in `home` (mode 0600), created on first use.

    Written to a temporary file and linked into place (atomic, never overwriting), so concurrent first
    users all read the one secret that won, never an empty or half-written file.
    """
    path = home / SECRET_FILE
    if not path.exists():
        home.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32))
            f.flush()
            os.fsync(f.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
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
    """A message body's one text: RFC 8785 canonical JSON, so the signature covers exactly what is sent."""
    return canonical.dumps(body)


@dataclass(frozen=True)
class Message:
    key: str
    event: str
    body: dict


def enqueue(session: Session, messages: list[Message], at: datetime | None = None) -> int:
    """Add messages in the caller's transaction; a key already queued is not queued again. Returns how many were added.

    Messages are signed when they are sent (with the URL and secret configured then), so queuing needs no
    configuration, and a rotated secret applies to messages still waiting.
    """
    if not messages:
        return 0
    at = at or now()
    existing: set[str] = set()
    for keys in chunks([m.key for m in messages], 1000):
        existing.update(session.scalars(sa.select(OutboxMessage.idempotency_key)
                                        .where(OutboxMessage.idempotency_key.in_(keys))))
    rows = []
    for m in messages:
        if m.key in existing:
            continue
        existing.add(m.key)
        text = encode({"event": m.event, "idempotency_key": m.key, **m.body})
        rows.append({"idempotency_key": m.key, "event": m.event, "url": "", "body": text, "signature": "",
                     "state": "pending", "attempts": 0, "next_attempt_at": at, "created_at": at})
    if rows:
        session.execute(sa.insert(OutboxMessage), rows)
    return len(rows)


def claim_due(db: Database, limit: int = 50, at: datetime | None = None) -> list[OutboxMessage]:
    """Take up to `limit` due messages for this worker, leasing them for LEASE."""
    at = at or now()
    with db.session() as s:
        due = (sa.select(OutboxMessage.id)
               .where(OutboxMessage.state == "pending", OutboxMessage.next_attempt_at <= at)
               .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id).limit(limit))
        if is_postgres(s):
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


def post(client: httpx.Client, msg: OutboxMessage, webhook: Webhook) -> str | None:
    """Post one message, signed now; None when the receiver took it (2xx), else what went wrong."""
    body = msg.body.encode("utf-8")
    try:
        r = client.post(webhook.url, content=body, headers={
            "Content-Type": "application/json", SIGNATURE_HEADER: sign(webhook.secret, body),
            IDEMPOTENCY_HEADER: msg.idempotency_key, EVENT_HEADER: msg.event})
    except httpx.HTTPError as e:
        return f"{type(e).__name__}: {e}"[:1000]
    if 200 <= r.status_code < 300:
        return None
    return f"HTTP {r.status_code}: {r.text[:500]}"


def deliver_due(db: Database, client: httpx.Client, webhook: Webhook, limit: int = 50) -> dict[str, int]:
    """One round: claim due messages, post them, record each outcome. Returns counts by outcome."""
    counts = {"delivered": 0, "retry": 0, "dead": 0, "waiting": 0}
    for msg in claim_due(db, limit):
        at = now()
        url = webhook.url
        if not url:
            values = {"next_attempt_at": at + UNCONFIGURED_DELAY,
                      "last_error": "no webhook URL configured; set VIGIL_WEBHOOK_URL"}
            counts["waiting"] += 1
        else:
            error = post(client, msg, webhook)
            attempts = msg.attempts + 1
            if error is None:
                values = {"state": "delivered", "attempts": attempts, "delivered_at": at, "url": url, "last_error": None,
                          "signature": sign(webhook.secret, msg.body.encode("utf-8"))}
                counts["delivered"] += 1
            elif attempts >= MAX_ATTEMPTS:
                values = {"state": "dead", "attempts": attempts, "last_error": error, "url": url}
                counts["dead"] += 1
                log.warning("outbox message %s is dead after %d attempts: %s", msg.id, attempts, error)
            else:
                values = {"attempts": attempts, "next_attempt_at": at + backoff(attempts), "last_error": error, "url": url}
                counts["retry"] += 1
        with db.session() as s:
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


class Delivery:
    """The delivery loop's work: one round per call, True while there was something to do (vigil.runtime runs it)."""

    def __init__(self, db: Database, webhook: Webhook, batch: int = 50) -> None:
        self.db, self.webhook, self.batch = db, webhook, batch
        self.client = httpx.Client(timeout=TIMEOUT_SECONDS)

    def __call__(self) -> bool:
        return any(deliver_due(self.db, self.client, self.webhook, self.batch).values())

    def close(self) -> None:
        self.client.close()
