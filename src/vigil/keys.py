"""API keys: minting, hashing, looking up and revoking them.

A key is 32 random bytes (256 bits) from `secrets`, so it cannot be guessed or brute-forced from
its hash. That is why a plain SHA-256 is the right hash here: slow password hashes (bcrypt, argon2)
exist to protect low-entropy passwords, and would cost milliseconds on every request for no gain.
The hash is also the lookup key, so checking a key is one indexed query.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from vigil.clock import now
from vigil.errors import InvalidInput
from vigil.roles import Role
from vigil.store.db import Database
from vigil.store.keys import ApiKey

KEY_PREFIX = "vigil_"
PREFIX_SHOWN = len(KEY_PREFIX) + 6
AUTH_TTL_SECONDS = 1.0
"""Keys are checked against the database at most once a second per process: a revocation takes effect within it."""
LAST_USED_EVERY = timedelta(minutes=1)  # coarse, so recording use costs one write a minute per key, not one per request
CACHE_MAX = 10_000


class ApiKeyError(InvalidInput):
    """A key operation that cannot be done as asked (unknown key, duplicate name); the message says why."""

    code = "invalid_key_request"


def mint() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True)
class NewKey:
    row: ApiKey
    key: str


def create_key(session: Session, name: str, role: Role | str) -> NewKey:
    """Mint a key for `name` with `role`. The plaintext is returned once and never stored."""
    role = Role(role)
    name = name.strip()
    if not name:
        raise ApiKeyError("a key needs a non-empty name")
    if session.scalar(sa.select(ApiKey.id).where(ApiKey.name == name)) is not None:
        raise ApiKeyError(f"a key named {name!r} already exists")
    key = mint()
    row = ApiKey(name=name, role=role.value, key_hash=hash_key(key), prefix=key[:PREFIX_SHOWN], created_at=now())
    session.add(row)
    session.flush()
    return NewKey(row=row, key=key)


def list_keys(session: Session) -> list[ApiKey]:
    return list(session.scalars(sa.select(ApiKey).order_by(ApiKey.id)))


def find_key(session: Session, id_or_name: str) -> ApiKey:
    """A key by its numeric id or by its name."""
    row = None
    if id_or_name.isdigit():
        row = session.get(ApiKey, int(id_or_name))
    if row is None:
        row = session.scalar(sa.select(ApiKey).where(ApiKey.name == id_or_name))
    if row is None:
        raise ApiKeyError(f"no key with id or name {id_or_name!r}")
    return row


def revoke_key(session: Session, id_or_name: str) -> ApiKey:
    """Revoke a key; revoking twice keeps the first revocation time."""
    row = find_key(session, id_or_name)
    if row.revoked_at is None:
        row.revoked_at = now()
    return row


def lookup(session: Session, key: str) -> ApiKey | None:
    """The live (not revoked) key row for a presented key, or None."""
    if not key.startswith(KEY_PREFIX) or len(key) > 200:
        return None
    row = session.scalar(sa.select(ApiKey).where(ApiKey.key_hash == hash_key(key)))
    if row is None or row.revoked_at is not None:
        return None
    return row


@dataclass(frozen=True)
class Principal:
    """Who is calling: a live key's id, name and role."""

    key_id: int
    name: str
    role: Role


class Authenticator:
    """Presented key -> Principal (or None), cached for `ttl` seconds, negative answers included.

    /v1/check must answer in milliseconds, so a key is not looked up on every request; revocation
    therefore takes effect within `ttl`. The cache evicts its oldest entries when full.
    """

    def __init__(self, db: Database, ttl: float = AUTH_TTL_SECONDS) -> None:
        self.db, self.ttl = db, ttl
        self._cache: dict[str, tuple[float, Principal | None]] = {}
        self._lock = threading.Lock()

    def _load(self, key: str) -> Principal | None:
        with self.db.session() as s:
            row = lookup(s, key)
            if row is None:
                return None
            stamp = now()
            if row.last_used_at is None or stamp - row.last_used_at > LAST_USED_EVERY:
                row.last_used_at = stamp
            return Principal(key_id=row.id, name=row.name, role=Role(row.role))

    def cached(self, key: str) -> tuple[bool, Principal | None]:
        """(True, answer) when the cache has a fresh answer for `key`, else (False, None)."""
        hit = self._cache.get(hash_key(key))
        if hit is not None and hit[0] > time.monotonic():
            return True, hit[1]
        return False, None

    def principal(self, key: str) -> Principal | None:
        """Look `key` up (blocking: the service calls this from a worker thread on a cache miss)."""
        found, principal = self.cached(key)
        if found:
            return principal
        principal = self._load(key)
        with self._lock:
            if len(self._cache) >= CACHE_MAX:
                for old in list(self._cache)[: CACHE_MAX // 10]:
                    del self._cache[old]
            self._cache[hash_key(key)] = (time.monotonic() + self.ttl, principal)
        return principal
