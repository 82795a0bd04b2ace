"""Console fixtures: a real uvicorn server on loopback over the test database, keys per role, and Chromium."""

from __future__ import annotations

import os
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path

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
def live_server(db_url):
    """`vigil serve`'s app under a real uvicorn on 127.0.0.1, on this test's database."""
    import uvicorn

    from vigil.api.app import create_app

    keys = make_keys(db_url, PEOPLE)
    port = _free_port()
    config = uvicorn.Config(create_app(db_url), host="127.0.0.1", port=port, log_level="warning", lifespan="on")
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
