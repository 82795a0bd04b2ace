"""`make run` is `vigil demo`: it must seed, scan, print a URL and a working one-time admin key, and serve."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_demo_serves_seeded_cases_with_a_one_time_admin_key(fresh_db_url, tmp_path):
    port = _free_port()
    env = {**os.environ, "VIGIL_HOME": str(tmp_path), "VIGIL_DATABASE_URL": fresh_db_url}
    proc = subprocess.Popen([sys.executable, "-m", "vigil.cli", "demo", "--port", str(port)], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []
    try:
        key = None
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            m = re.search(r"Admin key .*: (\S+)$", line.strip())
            if m:
                key = m.group(1)
                break
        assert key, "".join(lines)
        out = "".join(lines)
        assert f"http://127.0.0.1:{port}/console" in out
        assert "6 matched" in out and "could not be hashed" in out, out
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                if httpx.get(f"{base}/healthz").status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        cases = httpx.get(f"{base}/v1/cases", headers={"Authorization": f"Bearer {key}"}).json()
        assert len(cases) >= 6
        assert cases[0]["source"] == "authority_order"
        assert httpx.get(f"{base}/v1/cases").status_code == 401
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
