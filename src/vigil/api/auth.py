"""API-key authentication, role checks and per-key rate limits.

`Depends(require(Permission.X))` answers 401 (with WWW-Authenticate) for a missing, unknown or
revoked key, 429 (with Retry-After) when the key is over its rate, and 403 when the key's role lacks
the permission. The dependency records its permissions on itself, so `route_permissions(route)`
can tell what every route demands: the role test walks `app.routes` with it.

Keys are looked up through the runtime's Authenticator (vigil.keys), which caches answers for a
second: a cache hit costs no thread hop, a miss is looked up in a worker thread.
"""

from __future__ import annotations

import math

from fastapi import Request
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool

from vigil.errors import Forbidden, RateLimited, Unauthorized
from vigil.keys import Principal
from vigil.roles import GRANTS, Permission
from vigil.web.deps import runtime

SECURITY_SCHEME = {"bearer": {"type": "http", "scheme": "bearer",
                               "description": "An API key from `vigil keys create`, as `Authorization: Bearer <key>`."}}
UNAUTHORIZED_HEADERS = {"WWW-Authenticate": 'Bearer realm="vigil"'}

__all__ = ["Principal", "charge", "public", "require", "route_permissions"]


def rate_limited(wait: float) -> RateLimited:
    seconds = max(1, math.ceil(wait))
    return RateLimited(f"This key is over its rate limit; retry after {seconds} s, or ask the operator to raise "
                       "VIGIL_RATE_LIMIT.", headers={"Retry-After": str(seconds)})


def charge(request: Request, principal: Principal, cost: float) -> None:
    """Spend extra tokens (e.g. for the items of a batch beyond the first)."""
    wait = runtime(request).limiter.take(principal.key_id, cost)
    if wait:
        raise rate_limited(wait)


def presented_key(request: Request) -> str | None:
    """The key from `Authorization: Bearer <key>`, read directly: this runs on every call of the hot path.

    Routes that use `require` are marked with SECURITY_SCHEME in /openapi.json by the app factory.
    """
    scheme, _, key = request.headers.get("authorization", "").partition(" ")
    key = key.strip()
    return key if scheme.lower() == "bearer" and key else None


async def authenticate(request: Request) -> Principal:
    """The caller's principal; 401 for a missing, unknown or revoked key."""
    key = presented_key(request)
    if key is None:
        raise Unauthorized("Send an API key as 'Authorization: Bearer <key>' (create one with `vigil keys create`).",
                           headers=UNAUTHORIZED_HEADERS)
    authenticator = runtime(request).authenticator
    found, principal = authenticator.cached(key)
    if not found:
        principal = await run_in_threadpool(authenticator.principal, key)
    if principal is None:
        raise Unauthorized("The API key is unknown or revoked; ask the operator for a valid key.",
                           headers={"WWW-Authenticate": 'Bearer realm="vigil", error="invalid_token"'})
    return principal


def require(*permissions: Permission):
    """A dependency that admits a key whose role has every one of `permissions`."""
    needed = frozenset(Permission(p) for p in permissions)

    async def dependency(request: Request) -> Principal:
        principal = await authenticate(request)
        charge(request, principal, 1)
        missing = needed - GRANTS[principal.role]
        if missing:
            raise Forbidden(f"The role '{principal.role}' may not do this; it needs {', '.join(sorted(missing))}. "
                            "Use a key with a role that has it.")
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
