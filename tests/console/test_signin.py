"""Sign-in, sessions and CSRF over real HTTP (no browser): the security properties a browser test can't see."""

from __future__ import annotations

import re

import httpx
import pytest

from vigil.console.signin import SESSION_COOKIE


def signin_page(client: httpx.Client) -> str:
    page = client.get("/console/login")
    assert page.status_code == 200
    return re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)


def sign_in(client: httpx.Client, key: str) -> httpx.Response:
    token = signin_page(client)
    return client.post("/console/login", data={"csrf_token": token, "api_key": key, "next": ""})


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


@pytest.fixture
def client(live_server):
    with httpx.Client(base_url=live_server.url, follow_redirects=False) as c:
        yield c


def test_pages_need_a_session(client):
    r = client.get("/console/settings")
    assert r.status_code == 303
    assert r.headers["location"] == "/console/login?next=%2Fconsole%2Fsettings"


def test_sign_in_sets_a_strict_httponly_cookie_and_stores_only_its_hash(client, live_server):
    r = sign_in(client, live_server.keys["ada"])
    assert r.status_code == 303
    assert r.headers["location"] == "/console/queue"
    cookie = next(v for k, v in r.headers.multi_items() if k == "set-cookie" and v.startswith(SESSION_COOKIE))
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/console" in cookie
    assert "Secure" not in cookie  # plain http on loopback; https gets Secure
    token = client.cookies[SESSION_COOKIE]
    from sqlalchemy import select

    from vigil.store.console import ConsoleSession
    from vigil.store.db import session_scope

    with session_scope(live_server.db_url) as s:
        stored = list(s.scalars(select(ConsoleSession.token_hash)))
    assert len(stored) == 1 and token not in stored[0]
    assert client.get("/console/settings").status_code == 200


def test_wrong_key_is_refused_with_a_message(client):
    r = sign_in(client, "vigil_not-a-real-key")
    assert r.status_code == 401
    assert "unknown or revoked" in r.text
    assert SESSION_COOKIE not in client.cookies


def test_sign_in_form_needs_its_csrf_token(client, live_server):
    signin_page(client)
    r = client.post("/console/login", data={"csrf_token": "forged", "api_key": live_server.keys["ada"]})
    assert r.status_code == 403
    assert SESSION_COOKIE not in client.cookies


def test_forms_without_the_session_token_are_refused(client, live_server):
    sign_in(client, live_server.keys["ada"])
    r = client.post("/console/settings", data={"blur_media": "on"})
    assert r.status_code == 403
    r = client.post("/console/settings", data={"csrf_token": "x" * 43})
    assert r.status_code == 403
    page = client.get("/console/settings")
    r = client.post("/console/settings", data={"csrf_token": csrf_of(page.text)})
    assert r.status_code == 303
    assert 'id="blur_media" name="blur_media" value="on" checked' not in client.get("/console/settings").text


def test_sign_out_ends_the_session_on_the_server(client, live_server):
    sign_in(client, live_server.keys["ada"])
    token = client.cookies[SESSION_COOKIE]
    page = client.get("/console/settings")
    r = client.post("/console/logout", data={"csrf_token": csrf_of(page.text)})
    assert r.status_code == 303
    # Replaying the old cookie after sign-out gets nothing.
    with httpx.Client(base_url=live_server.url, cookies={SESSION_COOKIE: token}) as replay:
        assert replay.get("/console/settings", follow_redirects=False).status_code == 303


def test_revoking_the_key_ends_its_console_sessions(client, live_server):
    from vigil.keys import revoke_key
    from vigil.store.db import session_scope

    sign_in(client, live_server.keys["ada"])
    assert client.get("/console/settings").status_code == 200
    with session_scope(live_server.db_url) as s:
        revoke_key(s, "ada")
    assert client.get("/console/settings").status_code == 303


def test_next_only_follows_local_console_paths(client, live_server):
    token = signin_page(client)
    r = client.post("/console/login", data={"csrf_token": token, "api_key": live_server.keys["ada"],
                                            "next": "https://evil.example/console"})
    assert r.headers["location"] == "/console/queue"


def test_security_headers(client):
    r = client.get("/console/login")
    assert "script-src 'self'" in r.headers["content-security-policy"]
    assert r.headers["cache-control"] == "no-store"
    assert r.headers["x-frame-options"] == "DENY"


def test_cookie_is_secure_behind_https(client, live_server):
    """Behind a TLS-terminating proxy on loopback (X-Forwarded-Proto: https) the cookies carry Secure."""
    headers = {"X-Forwarded-Proto": "https"}
    page = client.get("/console/login", headers=headers)
    assert "Secure" in page.headers["set-cookie"]
    # httpx keeps Secure cookies for https only, as browsers do; send the sign-in form's cookie by hand.
    signin_cookie = page.headers["set-cookie"].split(";")[0]
    r = client.post("/console/login", headers={**headers, "Cookie": signin_cookie}, data={
        "csrf_token": re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1),
        "api_key": live_server.keys["ada"], "next": ""})
    cookie = next(v for k, v in r.headers.multi_items() if k == "set-cookie" and v.startswith(SESSION_COOKIE))
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie


def test_media_defaults_are_per_reviewer(live_server, signed_in, csrf, seed_case):
    cid = seed_case()
    ada, ben = signed_in("ada"), signed_in("ben")
    assert 'data-blur="on" data-greyscale="on"' in ada.get(f"/console/cases/{cid}").text
    page = ada.get("/console/settings").text
    ada.post("/console/settings", data={"csrf_token": csrf(page), "greyscale_media": "on"})
    assert 'data-blur="off" data-greyscale="on"' in ada.get(f"/console/cases/{cid}").text
    assert 'data-blur="on" data-greyscale="on"' in ben.get(f"/console/cases/{cid}").text
    # The preference belongs to the reviewer, not the browser session: it survives signing in again.
    assert 'data-blur="off"' in signed_in("ada").get(f"/console/cases/{cid}").text
