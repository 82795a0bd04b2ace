"""Fixtures for statements of reasons: a Transparency Database stand-in on loopback, and valid facts."""

from __future__ import annotations

import importlib.util
import threading
from datetime import date
from pathlib import Path

import pytest

from vigil.transparency.sor import DecisionFacts

TOOLS = Path(__file__).resolve().parents[2] / "tools"


def load_tool(name: str):
    spec = importlib.util.spec_from_file_location(name, TOOLS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def standin_module():
    return load_tool("tdb_standin")


@pytest.fixture
def tdb(standin_module):
    """A running stand-in: `.url`, `.token`, `.db.statements` (what it stored), `.db.requests`."""
    server = standin_module.make_server("127.0.0.1", 0, "test-token")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    server.url = f"http://127.0.0.1:{server.server_address[1]}"
    server.token = "test-token"
    yield server
    server.shutdown()
    server.server_close()


def make_facts(puid: str = "vigil-d1-c1", **changes) -> DecisionFacts:
    base = dict(puid=puid, action="remove", territorial_scope=["DE", "FR"], ground_type="legal",
                ground_reference="Regulation (EU) 2021/784 (TCO), Art. 3",
                explanation="The video is a copy of an attacker's livestream listed in a shared hash bank.",
                content_type=["video"], content_date=date(2026, 1, 5), decision_date=date(2026, 1, 6),
                source="authority_order", automated_detection=True, automated_decision="partially",
                category=None, language="en")
    base.update(changes)
    return DecisionFacts(**base)


@pytest.fixture
def facts():
    return make_facts
