"""API-key authentication, role checks and per-key rate limits.

`Depends(require(Permission.X))` answers 401 (with WWW-Authenticate) for a missing, unknown or
revoked key, 429 (with Retry-After) when the key is over its rate, and 403 when the key's role lacks
the permission. The dependency records its permissions on itself, so `route_permissions(route)`
can tell what every route demands: the role test walks `app.routes` with it.

Keys are checked against the database at most once per `ttl` seconds per process (a small cache,
because /v1/check must answer in milliseconds); a revocation therefore takes effect within `ttl`.
"""

from __future__ import annotations

import math
import re
import threading
import time
from dataclasses import dataclass, field
from datetime import timedelta

from fastapi import Request
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool

from vigil import keys as keystore
from vigil.api.errors import ApiError
from vigil.roles import GRANTS, Permission, Role
from vigil.store.db import session_scope

SECURITY_SCHEME = {"bearer": {"type": "http", "scheme": "bearer",
                               "description": "An API key from `vigil keys create`, as `Authorization: Bearer <key>`."}}

AUTH_TTL_SECONDS = 1.0
LAST_USED_EVERY = timedelta(minutes=1)  # coarse, so recording use costs one write a minute per key, not one per request
CACHE_MAX = 10_000


@dataclass(frozen=True)
class Principal:
    key_id: int
    name: str
    role: Role


class Authenticator:
    """Presented key -> Principal (or None), cached for `ttl` seconds, negative answers included."""

    def __init__(self, db_url: str, ttl: float = AUTH_TTL_SECONDS) -> None:
        self.db_url, self.ttl = db_url, ttl
        self._cache: dict[str, tuple[float, Principal | None]] = {}

    def _load(self, key: str) -> Principal | None:
        with session_scope(self.db_url) as s:
            row = keystore.lookup(s, key)
            if row is None:
                return None
            stamp = keystore.now()
            last = row.last_used_at
            if last is not None and last.tzinfo is None:  # SQLite hands back naive datetimes
                last = last.replace(tzinfo=stamp.tzinfo)
            if last is None or stamp - last > LAST_USED_EVERY:
                row.last_used_at = stamp
            return Principal(key_id=row.id, name=row.name, role=Role(row.role))

    async def principal(self, key: str) -> Principal | None:
        digest = keystore.hash_key(key)
        hit = self._cache.get(digest)
        now = time.monotonic()
        if hit is not None and hit[0] > now:
            return hit[1]
        principal = await run_in_threadpool(self._load, key)
        if len(self._cache) >= CACHE_MAX:
            self._cache.clear()
        self._cache[digest] = (now + self.ttl, principal)
        return principal


@dataclass(frozen=True)
class RateLimit:
    """`capacity` requests per `period` seconds per key, refilled continuously (a token bucket)."""

    capacity: float
    period: float

    @property
    def per_second(self) -> float:
        return self.capacity / self.period

    @classmethod
    def parse(cls, text: str | None) -> RateLimit | None:
        """'100/s', '6000/min', '100' (per second); 'off' or '0' disables limiting."""
        if text is None:
            return None
        text = text.strip().lower()
        if text in ("", "off", "none", "0"):
            return None
        m = re.fullmatch(r"(\d+(?:\.\d+)?)\s*(?:/\s*(s|sec|second|m|min|minute|h|hour))?", text)
        if not m or float(m.group(1)) <= 0:
            raise ValueError(f"rate limit {text!r} is not like '100/s', '6000/min' or 'off'")
        unit = (m.group(2) or "s")[0]
        return cls(capacity=float(m.group(1)), period={"s": 1.0, "m": 60.0, "h": 3600.0}[unit])


DEFAULT_RATE_LIMIT = "100/s"


@dataclass
class RateLimiter:
    """Token buckets per key, in this process. With N workers a key gets up to N times the limit;
    that is the price of not touching the database on every request."""

    limit: RateLimit | None
    _buckets: dict[int, list[float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def take(self, key_id: int, cost: float = 1.0) -> float:
        """Spend `cost` tokens; return 0 when allowed, else the seconds to wait before retrying."""
        if self.limit is None:
            return 0.0
        cost = min(cost, self.limit.capacity)
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.get(key_id, (self.limit.capacity, now))
            tokens = min(self.limit.capacity, tokens + (now - last) * self.limit.per_second)
            if tokens >= cost:
                self._buckets[key_id] = [tokens - cost, now]
                return 0.0
            self._buckets[key_id] = [tokens, now]
            return (cost - tokens) / self.limit.per_second


def rate_limited(wait: float) -> ApiError:
    seconds = max(1, math.ceil(wait))
    return ApiError(429, "rate_limited", f"This key is over its rate limit; retry after {seconds} s, or ask the "
                    "operator to raise VIGIL_RATE_LIMIT.", headers={"Retry-After": str(seconds)})


def charge(request: Request, principal: Principal, cost: float) -> None:
    """Spend extra tokens (e.g. for the items of a batch beyond the first)."""
    wait = request.app.state.rate_limiter.take(principal.key_id, cost)
    if wait:
        raise rate_limited(wait)


UNAUTHORIZED_HEADERS = {"WWW-Authenticate": 'Bearer realm="vigil"'}


def presented_key(request: Request) -> str | None:
    """The key from `Authorization: Bearer <key>`, read directly: this runs on every call of the hot path.

    Routes that use `require` are marked with SECURITY_SCHEME in /openapi.json by the app factory.
    """
    scheme, _, key = request.headers.get("authorization", "").partition(" ")
    key = key.strip()
    return key if scheme.lower() == "bearer" and key else None


def require(*permissions: Permission):
    """A dependency that admits a key whose role has every one of `permissions`."""
    needed = frozenset(Permission(p) for p in permissions)

    async def dependency(request: Request) -> Principal:
        key = presented_key(request)
        if key is None:
            raise ApiError(401, "unauthorized", "Send an API key as 'Authorization: Bearer <key>' "
                           "(create one with `vigil keys create`).", headers=UNAUTHORIZED_HEADERS)
        principal = await request.app.state.authenticator.principal(key)
        if principal is None:
            raise ApiError(401, "unauthorized", "The API key is unknown or revoked; ask the operator for a valid key.",
                           headers={"WWW-Authenticate": 'Bearer realm="vigil", error="invalid_token"'})
        charge(request, principal, 1)
        missing = needed - GRANTS[principal.role]
        if missing:
            raise ApiError(403, "forbidden", f"The role '{principal.role}' may not do this; it needs "
                           f"{', '.join(sorted(missing))}. Use a key with a role that has it.")
        return principal

    dependency.permissions = needed  # type: ignore[attr-defined]
    return dependency


async def public() -> None:
    """Declare a route open to anyone (`dependencies=[Depends(public)]`), so the role test knows it is on purpose."""


public.permissions = frozenset()  # type: ignore[attr-defined]


def route_permissions(route: APIRoute) -> frozenset[Permission] | None:
    """The permissions a route demands through `require` (empty for `public`), or None if it declares nothing."""
    found: set[Permission] = set()
    seen = False
    stack = list(route.dependant.dependencies)
    while stack:
        dep = stack.pop()
        perms = getattr(dep.call, "permissions", None)
        if perms is not None:
            seen = True
            found |= perms
        stack.extend(dep.dependencies)
    return frozenset(found) if seen else None
