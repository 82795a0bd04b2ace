"""API keys: minting, hashing, looking up and revoking them.

A key is 32 random bytes (256 bits) from `secrets`, so it cannot be guessed or brute-forced from
its hash. That is why a plain SHA-256 is the right hash here: slow password hashes (bcrypt, argon2)
exist to protect low-entropy passwords, and would cost milliseconds on every request for no gain.
The hash is also the lookup key, so checking a key is one indexed query.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timezone

import sqlalchemy as sa
from sqlalchemy.orm import Session

from vigil.roles import Role
from vigil.store.keys import ApiKey

KEY_PREFIX = "vigil_"
PREFIX_SHOWN = len(KEY_PREFIX) + 6


class ApiKeyError(ValueError):
    """A key operation that cannot be done as asked (unknown key, duplicate name); the message says why."""


def mint() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def now() -> datetime:
    return datetime.now(timezone.utc)


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
