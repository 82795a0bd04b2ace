"""Kill -9 the service and the delivery worker mid-burst: every acknowledged notice and decision survives,
and every action reaches the platform at least once after a restart."""

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from vigil.store.cases import Decision, Notice
from vigil.store.db import session_scope

from .conftest import SECRET, auth, notice

VIGIL = str(Path(sys.executable).parent / "vigil")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Processes:
    """The service and the worker as subprocesses; stopped by their own pids."""

    def __init__(self, db_url: str, env: dict, port: int) -> None:
        self.db_url, self.env, self.port = db_url, env, port
        self.url = f"http://127.0.0.1:{port}"
        self.procs: list[subprocess.Popen] = []

    def start(self) -> None:
        serve = subprocess.Popen([VIGIL, "serve", "--db", self.db_url, "--port", str(self.port), "--rate-limit", "off"],
                                 env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        worker = subprocess.Popen([VIGIL, "outbox", "deliver", "--db", self.db_url, "--poll", "0.05"],
                                  env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.procs = [serve, worker]
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if serve.poll() is not None:
                raise RuntimeError(f"vigil serve exited: {serve.stderr.read().decode()}")
            try:
                if httpx.get(self.url + "/healthz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError("vigil serve did not become ready")

    def kill(self) -> None:
        for p in self.procs:
            os.kill(p.pid, signal.SIGKILL)
            p.wait(10)

    def stop(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(10)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait(5)


class Burst:
    """Clients sending notices (single and batch) and decisions; they keep only what the server acknowledged."""

    def __init__(self, url: str, keys: dict) -> None:
        self.url, self.keys = url, keys
        self.notices: dict[int, int] = {}   # acknowledged notice id -> case id
        self.decisions: dict[int, str] = {}  # acknowledged decision id -> action
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.n = 0

    def next_id(self) -> int:
        with self.lock:
            self.n += 1
            return self.n

    def notifier(self) -> None:
        with httpx.Client(base_url=self.url, timeout=10, headers=auth(self.keys, "submitter")) as c:
            while not self.stop.is_set():
                i = self.next_id()
                try:
                    if i % 3:
                        r = c.post("/v1/notices", json=notice(f"c{i % 400}", uploader_id=f"u{i % 40}"))
                        acked = [r.json()] if r.status_code == 202 else []
                    else:
                        items = [notice(f"c{(i + k) % 400}") for k in range(50)]
                        r = c.post("/v1/notices/batch", json={"notices": items})
                        acked = [x for x in r.json()["results"] if x["status"] == 202] if r.status_code == 202 else []
                except (httpx.HTTPError, ValueError):
                    time.sleep(0.05)
                    continue
                with self.lock:
                    for a in acked:
                        self.notices[a["notice_id"]] = a["case_id"]

    def reviewer(self) -> None:
        body = {"territorial_scope": [], "ground": {"type": "legal", "reference": "TCO Art. 3"}, "explanation": "Terrorist content."}
        with httpx.Client(base_url=self.url, timeout=10, headers=auth(self.keys, "reviewer")) as c:
            k = 0
            while not self.stop.is_set():
                try:
                    cases = c.get("/v1/cases", params={"limit": 5}).json()
                    for case in cases if isinstance(cases, list) else []:
                        k += 1
                        action = ("remove", "restrict", "no_action")[k % 3]
                        r = c.post(f"/v1/cases/{case['id']}/decision", json={**body, "action": action})
                        if r.status_code == 201:
                            with self.lock:
                                self.decisions[r.json()["id"]] = action
                except (httpx.HTTPError, ValueError):
                    time.sleep(0.05)

    def run(self, seconds: float) -> None:
        self.stop.clear()
        threads = [threading.Thread(target=self.notifier) for _ in range(3)] + [threading.Thread(target=self.reviewer)]
        for t in threads:
            t.start()
        time.sleep(seconds)
        return threads

    def join(self, threads) -> None:
        self.stop.set()
        for t in threads:
            t.join(30)


@pytest.mark.slow
def test_sigkill_mid_burst_loses_nothing(db_url, role_keys, receiver, tmp_path):
    env = {**os.environ, "VIGIL_WEBHOOK_URL": receiver.url, "VIGIL_WEBHOOK_SECRET": SECRET,
           "VIGIL_HOME": str(tmp_path / "home"), "VIGIL_RATE_LIMIT": "off"}
    procs = Processes(db_url, env, free_port())
    procs.start()
    burst = Burst(procs.url, role_keys)
    try:
        threads = burst.run(4.0)
        procs.kill()           # mid-burst: requests in flight, deliveries in flight
        time.sleep(1.0)        # clients keep trying against a dead server
        burst.join(threads)
        before = (len(burst.notices), len(burst.decisions))
        procs.start()
        threads = burst.run(2.0)
        burst.join(threads)
        print(f"acknowledged before the kill: {before[0]} notices, {before[1]} decisions; in all: "
              f"{len(burst.notices)} notices, {len(burst.decisions)} decisions")
        assert before[0] > 20 and before[1] > 0, before  # the burst had something to lose
        with session_scope(db_url) as s:
            stored = dict(s.execute(sa.select(Notice.id, Notice.case_id).where(Notice.id.in_(list(burst.notices)))).all())
            decided = dict(s.execute(sa.select(Decision.id, Decision.action).where(Decision.id.in_(list(burst.decisions)))).all())
            all_acting = set(s.scalars(sa.select(Decision.id).where(Decision.action != "no_action")))
        assert stored == burst.notices
        assert decided == burst.decisions
        wanted = {f"action:{d}" for d in all_acting}
        deadline = time.monotonic() + 240  # a killed worker's claimed messages wait out their lease
        while time.monotonic() < deadline and not wanted <= receiver.keys():
            time.sleep(0.2)
        assert wanted <= receiver.keys(), f"{len(wanted - receiver.keys())} actions never delivered"
        assert receiver.bad_signatures == 0
    finally:
        procs.stop()
