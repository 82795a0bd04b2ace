"""Every route of the app against every role: the expected status comes from the permission the route declares.

Routes are read from the app itself, so routes added later are covered without editing this test.
"""

from __future__ import annotations

import re

from vigil.app import api_routes
from vigil.api.auth import route_permissions
from vigil.roles import GRANTS, Role

from .conftest import auth

# The console signs people in with its own session cookie (vigil.console.signin); only these pages are open.
CONSOLE_OPEN = {"/console/login", "/console/static/{name}", "/console", "/console/"}


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "1", path)


def send(client, method: str, path: str, headers: dict | None = None):
    body = {"json": {}} if method in ("POST", "PUT", "PATCH") else {}
    return client.request(method, concrete(path), headers=headers or {}, follow_redirects=False, **body)


def operations(app):
    for ctx in api_routes(app):
        for method in sorted(ctx.methods - {"HEAD"}):
            yield ctx, method


def test_the_walk_sees_the_routes(app):
    seen = {(ctx.path, method) for ctx, method in operations(app)}
    assert ("/v1/check", "POST") in seen and ("/v1/banks", "GET") in seen and ("/healthz", "GET") in seen


def test_every_api_route_against_every_role(app, client, role_keys):
    checked = 0
    for ctx, method in operations(app):
        if ctx.path.startswith("/console"):
            continue
        where = f"{method} {ctx.path}"
        needed = route_permissions(ctx)
        assert needed is not None, f"{where} declares no permission: add Depends(require(Permission.X)) or Depends(public)"
        if not needed:
            for headers in ({}, auth("vigil_wrong"), *(auth(k) for k in role_keys.values())):
                status = send(client, method, ctx.path, headers).status_code
                assert status not in (401, 403), f"public {where} refused a caller: {status}"
                assert status < 500 or (ctx.path == "/readyz" and status == 503), where  # 503 while the index loads
            continue
        for headers in ({}, auth("vigil_wrong"), {"Authorization": "Basic Zm9vOmJhcg=="}):
            r = send(client, method, ctx.path, headers)
            assert r.status_code == 401, f"{where} without a valid key: {r.status_code} {r.text[:200]}"
            assert r.headers["www-authenticate"].startswith("Bearer"), where
            assert r.json()["error"]["code"] == "unauthorized", where
        for role, key in role_keys.items():
            r = send(client, method, ctx.path, auth(key))
            if needed <= GRANTS[role]:
                assert r.status_code not in (401, 403), f"{where} as {role}: {r.status_code} {r.text[:200]}"
                assert r.status_code < 500, f"{where} as {role}: {r.status_code} {r.text[:300]}"
            else:
                assert r.status_code == 403, f"{where} as {role} should be forbidden, got {r.status_code} {r.text[:200]}"
                assert r.json()["error"]["code"] == "forbidden", where
            checked += 1
    assert checked >= 5 * 10


def test_console_pages_need_a_session(app, client):
    for ctx, method in operations(app):
        if not ctx.path.startswith("/console") or ctx.path in CONSOLE_OPEN:
            continue
        r = send(client, method, ctx.path)
        assert r.status_code != 200 and r.status_code < 500, f"{method} {ctx.path} without a session: {r.status_code}"


def test_errors_have_one_shape(client, role_keys):
    for r in (
        client.get("/no/such/path"),
        client.delete("/healthz"),
        client.get("/v1/banks"),
        client.post("/v1/banks", headers=auth(role_keys[Role.ADMIN]), json={"name": "x", "nope": 1}),
        client.get("/v1/banks/missing", headers=auth(role_keys[Role.ADMIN])),
    ):
        assert r.status_code >= 400
        body = r.json()
        assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "field"}, body
        assert body["error"]["message"].endswith((".", ")")), body
