"""Fixtures for the service: an app on the test database, a key per role, and a real uvicorn server."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from vigil import keys
from vigil.roles import Role
from vigil.store.db import session_scope

VIGIL = str(Path(sys.executable).parent / "vigil")


def make_keys(db_url: str) -> dict[Role, str]:
    with session_scope(db_url) as s:
        return {role: keys.create_key(s, f"test-{role.value}", role).key for role in Role}


@pytest.fixture
def role_keys(db_url) -> dict[Role, str]:
    return make_keys(db_url)


@pytest.fixture
def app(make_app):
    return make_app()


@pytest.fixture
def client(app):
    from fastapi.testclient import TestClient

    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """`vigil serve` in a subprocess on a loopback port; stopped (by its own pid) at teardown."""

    def __init__(self, db_url: str, *args: str, env: dict[str, str] | None = None, cwd: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        # Output goes to files, not pipes: an undrained pipe would block the server once it filled.
        self.out, self.err = cwd / f"serve-{self.port}.out", cwd / f"serve-{self.port}.err"
        with open(self.out, "w") as out, open(self.err, "w") as err:
            self.proc = subprocess.Popen(
                [VIGIL, "serve", "--db", db_url, "--port", str(self.port), *args],
                env={**os.environ, **(env or {})}, cwd=cwd, stdout=out, stderr=err,
            )
        self.wait_ready()

    def output(self) -> str:
        return self.out.read_text() + self.err.read_text()

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"vigil serve exited {self.proc.returncode}: {self.output()}")
            try:
                if httpx.get(self.url + "/healthz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"vigil serve did not become ready: {self.output()}")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture
def serve(tmp_path):
    servers: list[Server] = []

    def start(db_url: str, *args: str, env: dict[str, str] | None = None) -> Server:
        server = Server(db_url, *args, env={"VIGIL_HOME": str(tmp_path / "home"), **(env or {})}, cwd=tmp_path)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()
