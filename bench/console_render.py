"""Console page render times (queue, case, dashboard) with 10,000 open cases, on SQLite and PostgreSQL.

    .venv/bin/python bench/console_render.py [--cases 10000] [--rounds 30] [--backends sqlite,postgresql]

For each backend it builds a fresh database, bulk-inserts --cases open cases (each with one copy, one
notice and evidence: a bank match and a text verdict), records --decided real decisions through
vigil.review (so the dashboard has ledger leaves to read), starts `vigil serve` on loopback in its own
process, signs in as a reviewer, and times full page requests (server render plus loopback HTTP) from
this process. The target is under 300 ms per page (issue 7). "dashboard, first view" is the dashboard
computing its figures (vigil.transparency.report.compute) before the per-process cache holds them.
"""

from __future__ import annotations

import argparse
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
from rich.console import Console
from rich.table import Table

TARGET_MS = 300.0
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
SOURCES = [("authority_order", 0.02, 200.0), ("trusted_flagger", 0.10, 100.0), ("user", 0.88, 0.0)]
CATEGORIES = ["terrorism", "violent_extremism", "glorification", "recruitment", None]
LANGUAGES = ["en", "de", "fr", "ar", "zh", None]
TEXT = "Brothers, the day is near: buy 10 sheep before Friday and meet at the usual place."
EVIDENCE = {
    "matches": [{"bank": "tvec", "entry_id": 1, "signal_type": "pdq", "value": "f" * 64, "distance": 9,
                 "labels": {"entity": "group-a", "behaviour": "recruitment"}, "metadata": {}}],
    "text": {"verdict": "violating", "score": 0.88, "category": "recruitment", "reason": "coded recruitment phrase",
             "hits": [{"start": 31, "end": 43, "term": "buy sheep", "reason": "coded recruitment phrase"}]},
    "crisis": False,
}


def seed(db_url: str, cases: int, decided: int) -> str:
    """Bulk-insert the open cases directly (intake is benchmarked elsewhere); returns a reviewer's key."""
    import sqlalchemy as sa

    from vigil.banks import service
    from vigil.policy.cases import CasePolicy
    from vigil.keys import create_key
    from vigil.review.decisions import DecisionIn, decide
    from vigil.store.cases import Case, CaseContent, Notice
    from vigil.store.db import session_scope, upgrade

    upgrade(db_url)
    rng = random.Random(1)
    now = datetime.now(timezone.utc)
    total = cases + decided
    with session_scope(db_url) as s:
        key = create_key(s, "bench-reviewer", "reviewer").key
        service.add_entry(s, service.create_bank(s, "tvec"), "pdq", "f" * 64, source="gifct")
        case_rows, content_rows, notice_rows = [], [], []
        for i in range(1, total + 1):
            source, tier = pick(rng)
            deadline = now + (timedelta(minutes=rng.randint(-30, 60)) if source == "authority_order"
                              else timedelta(hours=rng.randint(1, 168)))
            category, language = rng.choice(CATEGORIES), rng.choice(LANGUAGES)
            case_rows.append({"id": i, "state": "open", "queue": source + "s", "priority": tier + rng.random() * 10,
                              "source": source, "category": category, "language": language, "content_type": "text",
                              "deadline": deadline, "evidence": EVIDENCE, "notice_count": 1,
                              "notifier_confidence": 0.0, "views": rng.randint(0, 10**6), "created_at": now,
                              "updated_at": now})
            content_rows.append({"id": i, "case_id": i, "content_id": f"post-{i}", "content_type": "text",
                                 "content_text": TEXT, "first_seen_at": now})
            notice_rows.append({"id": i, "case_id": i, "source": source, "content_id": f"post-{i}",
                                "content_type": "text", "content_hashes": {}, "explanation": "Recruitment post.",
                                "good_faith": True, "category": category, "language": language, "received_at": now,
                                "digest": uuid.uuid4().hex * 2,
                                "authority": "BKA" if source == "authority_order" else None,
                                "order_reference": f"TCO-{i}" if source == "authority_order" else None})
        for table, rows in ((Case, case_rows), (CaseContent, content_rows), (Notice, notice_rows)):
            for start in range(0, len(rows), 2000):
                s.execute(sa.insert(table), rows[start:start + 2000])
        if s.get_bind().dialect.name == "postgresql":
            for table in ("cases", "case_contents", "notices"):
                s.execute(sa.text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), {total})"))
    policy = CasePolicy()
    d = DecisionIn("remove", "legal", "Regulation (EU) 2021/784 Art. 2(7)", "Recruitment for a proscribed group.")
    with session_scope(db_url) as s:
        reviewer_id = s.scalar(sa.text("SELECT id FROM api_keys WHERE name = 'bench-reviewer'"))
        for case_id in range(cases + 1, total + 1):
            decide(s, case_id, d, reviewer_id, policy=policy)
    with session_scope(db_url) as s:
        s.execute(sa.text("ANALYZE"))
    return key


def pick(rng: random.Random) -> tuple[str, float]:
    r = rng.random()
    for name, share, base in SOURCES:
        if r < share:
            return name, base
        r -= share
    return SOURCES[-1][0], SOURCES[-1][2]


def serve(db_url: str, port: int) -> subprocess.Popen:
    vigil = str(Path(sys.executable).parent / "vigil")
    proc = subprocess.Popen([vigil, "serve", "--db", db_url, "--port", str(port), "--rate-limit", "off"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"vigil serve exited with {proc.returncode}: {proc.stderr.read().decode()[-2000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/console/login", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    proc.kill()
    raise SystemExit("vigil serve did not start within 120 s")


def measure(base: str, key: str, rounds: int) -> dict[str, list[float]]:
    with httpx.Client(base_url=base, timeout=60) as c:
        token = re.search(r'name="csrf_token" value="([^"]+)"', c.get("/console/login").text).group(1)
        r = c.post("/console/login", data={"csrf_token": token, "api_key": key, "next": ""})
        assert r.status_code == 303, r.text
        top = int(re.search(r'data-case="(\d+)"', c.get("/console/queue").text).group(1))
        pages = {"queue": "/console/queue", "queue, filtered": "/console/queue?language=de&source=user",
                 "case": f"/console/cases/{top}", "dashboard": "/console/dashboard"}
        times: dict[str, list[float]] = {name: [] for name in pages}
        for _ in range(3):  # warm the connection pool and the compiled templates
            for path in pages.values():
                c.get(path)
        # The dashboard keeps its figures for a few seconds; its first view of another period computes them.
        times["dashboard, first view"] = []
        for days in (1, 7, 90, 365):
            t0 = time.perf_counter()
            assert c.get(f"/console/dashboard?days={days}").status_code == 200
            times["dashboard, first view"].append((time.perf_counter() - t0) * 1000)
        for _ in range(rounds):
            for name, path in pages.items():
                t0 = time.perf_counter()
                r = c.get(path)
                times[name].append((time.perf_counter() - t0) * 1000)
                assert r.status_code == 200, (path, r.status_code)
        return times


def pg_database() -> tuple[str, str]:
    import psycopg
    from sqlalchemy.engine import make_url

    name = f"vigil_bench_console_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return name, make_url(PG_ADMIN).set(database=name).render_as_string(hide_password=False)


def drop_pg(name: str) -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cases", type=int, default=10_000, help="open cases in the queue")
    ap.add_argument("--decided", type=int, default=300, help="decided cases (ledgered) for the dashboard")
    ap.add_argument("--rounds", type=int, default=30, help="timed requests per page")
    ap.add_argument("--backends", default="sqlite,postgresql")
    ap.add_argument("--port", type=int, default=8791)
    args = ap.parse_args()
    console = Console()
    table = Table(title=f"Console render times, {args.cases:,} open cases (target < {TARGET_MS:.0f} ms)")
    for col in ("backend", "page", "p50 ms", "p95 ms", "max ms", "target"):
        table.add_column(col, justify="left" if col in ("backend", "page") else "right")
    for backend in args.backends.split(","):
        pg_name = None
        with tempfile.TemporaryDirectory() as tmp:
            if backend == "sqlite":
                db_url = f"sqlite:///{Path(tmp) / 'console.db'}"
            elif backend == "postgresql":
                pg_name, db_url = pg_database()
            else:
                raise SystemExit(f"unknown backend {backend!r}; use sqlite and/or postgresql")
            try:
                console.print(f"[bold]{backend}[/]: seeding {args.cases:,} open and {args.decided} decided cases")
                t0 = time.perf_counter()
                key = seed(db_url, args.cases, args.decided)
                console.print(f"  seeded in {time.perf_counter() - t0:.1f} s; starting vigil serve")
                proc = serve(db_url, args.port)
                try:
                    times = measure(f"http://127.0.0.1:{args.port}", key, args.rounds)
                finally:
                    proc.terminate()
                    proc.wait(timeout=30)
            finally:
                if pg_name:
                    drop_pg(pg_name)
        for page, samples in times.items():
            samples.sort()
            p50 = statistics.median(samples)
            p95 = samples[min(len(samples) - 1, int(0.95 * len(samples)))]
            ok = "[green]met[/]" if p95 < TARGET_MS else "[red]missed[/]"
            table.add_row(backend, page, f"{p50:.1f}", f"{p95:.1f}", f"{samples[-1]:.1f}", ok)
    console.print(table)


if __name__ == "__main__":
    main()
