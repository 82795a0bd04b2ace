"""Console fixtures: a real uvicorn server on loopback over the test database, keys per role, and Chromium."""

from __future__ import annotations

import os
import re
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@dataclass
class LiveServer:
    url: str
    db_url: str
    keys: dict[str, str]  # name -> plaintext API key


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_keys(db_url: str, names_roles: dict[str, str]) -> dict[str, str]:
    from vigil.keys import create_key
    from vigil.store.db import session_scope

    with session_scope(db_url) as s:
        return {name: create_key(s, name, role).key for name, role in names_roles.items()}


PEOPLE = {
    "ada": "reviewer",
    "ben": "reviewer",
    "sam": "senior_reviewer",
    "sub": "submitter",
    "aud": "auditor",
    "adm": "admin",
}


@pytest.fixture
def live_server(db_url, make_app):
    """`vigil serve`'s app under a real uvicorn on 127.0.0.1, on this test's database."""
    import uvicorn

    keys = make_keys(db_url, PEOPLE)
    port = _free_port()
    config = uvicorn.Config(make_app(), host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    yield LiveServer(url=f"http://127.0.0.1:{port}", db_url=db_url, keys=keys)
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="session")
def artifacts() -> Path:
    path = Path(os.environ.get("VIGIL_ARTIFACTS") or "test-artifacts/screenshots")
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is absent: install Debian's chromium (apt-get install chromium) to run browser tests")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture
def browser_context(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    yield context
    context.close()


CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    return CSRF.search(html).group(1)


@pytest.fixture
def csrf():
    """Reads the synchroniser token out of a console page, as the browser's form would post it."""
    return csrf_of


@pytest.fixture
def signed_in(live_server):
    """signed_in("ada") -> an httpx client holding ada's console session cookie."""
    clients = []

    def make(who: str) -> httpx.Client:
        client = httpx.Client(base_url=live_server.url, follow_redirects=False, timeout=30)
        clients.append(client)
        token = csrf_of(client.get("/console/login").text)
        r = client.post("/console/login", data={"csrf_token": token, "api_key": live_server.keys[who], "next": ""})
        assert r.status_code == 303, r.text
        return client

    yield make
    for c in clients:
        c.close()


@pytest.fixture
def seed_case(live_server):
    """Insert one case as intake would leave it (case, copies, notices, evidence) and return its id.

    Evidence is given explicitly so tests can check exactly what the console shows of it.
    """
    from datetime import datetime, timedelta, timezone

    from vigil.store.cases import Case, CaseContent, Notice
    from vigil.store.db import session_scope

    def make(*, source="user", priority=10.0, deadline_in=timedelta(hours=24), category="terrorism", language="en",
             queue="default", content_type="text", copies=(), evidence=None, explanation="Recruitment post",
             authority=None, order_reference=None) -> int:
        now = datetime.now(timezone.utc)
        with session_scope(live_server.db_url) as s:
            case = Case(state="open", queue=queue, priority=priority, source=source, category=category,
                        language=language, content_type=content_type, deadline=now + deadline_in,
                        evidence=evidence or {"matches": [], "text": None, "crisis": False},
                        notice_count=1, notifier_confidence=0.0, views=100, created_at=now, updated_at=now)
            s.add(case)
            s.flush()
            for i, copy in enumerate(copies or [{"content_id": f"post-{case.id}", "content_type": content_type}]):
                s.add(CaseContent(case_id=case.id, first_seen_at=now - timedelta(minutes=i), **copy))
            first = (copies or [{"content_id": f"post-{case.id}"}])[0]
            s.add(Notice(case_id=case.id, source=source, authority=authority, order_reference=order_reference,
                         content_id=first["content_id"], content_type=content_type, content_hashes={},
                         explanation=explanation, good_faith=source != "authority_order", received_at=now,
                         digest="0" * 64, notifier_name="Notifier Person" if source == "user" else None))
            return case.id

    return make
