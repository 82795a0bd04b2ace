"""Notice intake: notices per second through `POST /v1/notices/batch`, with dedupe on, at 1M notices in the database.

    .venv/bin/python bench/notice_ingest.py [--prefill 1000000] [--batches 100] [--backends sqlite,postgresql]

For each backend it builds a fresh database, fills it with --prefill notices on --prefill/5 cases by a
fast bulk load (COPY on PostgreSQL, executemany on SQLite; this is set-up, not measured), starts
`vigil serve --workers 3` on loopback, and posts batches of 1,000 notices from --clients 4 client
threads. Three worker processes on two cores let one batch's grouping and writes (under the intake
lock) overlap with other batches' parsing, validation and checks (before it).
The batches mix what a platform sees after an attack:
  60% notices on content already in a case (dedupe by content id),
  15% new content with text (grouped by normalised text; new cases run the text detector),
  10% new images whose PDQ is a near-copy of a case's image (dedupe by the PDQ index),
  10% new images with unrelated PDQs (new cases, checked against a bank),
   5% removal orders and trusted-flagger notices on existing content.
Bodies are encoded before the clock starts, so the client costs little; client and service share
the machine's two cores, so the figures are conservative. CPU milliseconds per batch (service
process, PostgreSQL backends) are also reported: unlike notices/s they do not depend on what else
the machine is running. Target (issue 5): >= 5,000 notices/s
into PostgreSQL.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx

VIGIL = str(Path(sys.executable).parent / "vigil")
BATCH = 1000
TARGET_PG = 5000
PG_ADMIN = os.environ.get("VIGIL_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
TEXTS = [
    "Join the brothers, the fight needs you now {n}",
    "Watch the video of the attack before they delete it {n}",
    "Our martyrs showed the way, follow them {n}",
    "Great match last night, the keeper was unbelievable {n}",
    "新闻报道说，警方逮捕了策划袭击的嫌疑人 {n}",
]


def pdq(rng: random.Random) -> str:
    return rng.randbytes(32).hex()


def near(value: str, rng: random.Random, bits: int = 10) -> str:
    n = int(value, 16)
    for b in rng.sample(range(256), bits):
        n ^= 1 << b
    return f"{n:064x}"


# --- set-up: a database with --prefill notices ----------------------------------------------------

def prefill(url: str, notices: int, rng: random.Random) -> list[str]:
    """Bulk-load cases, copies, keys and notices. Returns the PDQs of the prefilled image cases."""
    from sqlalchemy.engine import make_url

    from vigil.store.db import Database, upgrade

    upgrade(url)
    cases = max(1, notices // 5)
    now = datetime.now(timezone.utc)
    pdqs = [pdq(rng) for _ in range(cases // 10)]
    case_rows = [(i, "open", "default", round(rng.uniform(0, 10), 3), "user", None, None,
                  "image" if i <= len(pdqs) else "text", now + timedelta(days=7), "{}", 5, 0.5, 0, now, now)
                 for i in range(1, cases + 1)]
    content_rows = [(i, f"pre-{i}", "image" if i <= len(pdqs) else "text", pdqs[i - 1] if i <= len(pdqs) else None, now)
                    for i in range(1, cases + 1)]
    key_rows = [(i, "content", f"content:pre-{i}") for i in range(1, cases + 1)]
    key_rows += [(i, "pdq", f"pdq:{pdqs[i - 1]}") for i in range(1, len(pdqs) + 1)]
    notice_rows = [((i % cases) + 1, "user", f"pre-{(i % cases) + 1}", "text", "{}", "Reported in the prefill.", True, now,
                    uuid.UUID(int=rng.getrandbits(128)).hex + uuid.UUID(int=rng.getrandbits(128)).hex)
                   for i in range(notices)]
    case_cols = ("id, state, queue, priority, source, category, language, content_type, deadline, evidence, "
                 "notice_count, notifier_confidence, views, created_at, updated_at")
    content_cols = "case_id, content_id, content_type, pdq, first_seen_at"
    key_cols = "case_id, kind, key"
    notice_cols = "case_id, source, content_id, content_type, content_hashes, explanation, good_faith, received_at, digest"
    backend = make_url(url).get_backend_name()
    db = Database(url)
    engine = db.engine
    raw = engine.raw_connection()
    try:
        if backend == "postgresql":
            cur = raw.cursor()
            for table, cols, rows in (("cases", case_cols, case_rows), ("case_contents", content_cols, content_rows),
                                      ("case_keys", key_cols, key_rows), ("notices", notice_cols, notice_rows)):
                with cur.copy(f"COPY {table} ({cols}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
            cur.execute("SELECT setval(pg_get_serial_sequence('cases', 'id'), (SELECT max(id) FROM cases))")
            cur.execute("ANALYZE")
        else:
            cur = raw.cursor()
            cur.execute("PRAGMA synchronous=OFF")
            for table, cols, rows in (("cases", case_cols, case_rows), ("case_contents", content_cols, content_rows),
                                      ("case_keys", key_cols, key_rows), ("notices", notice_cols, notice_rows)):
                marks = ", ".join("?" * len(cols.split(",")))
                cur.executemany(f"INSERT INTO {table} ({cols}) VALUES ({marks})",
                                [tuple(v.isoformat(sep=" ") if isinstance(v, datetime) else v for v in r) for r in rows])
            cur.execute("ANALYZE")
        raw.commit()
    finally:
        raw.close()
    return pdqs


# --- the workload -------------------------------------------------------------------------------

def workload(batches: int, cases: int, pdqs: list[str], rng: random.Random) -> list[bytes]:
    bodies = []
    serial = 0
    for _ in range(batches):
        items = []
        for _ in range(BATCH):
            serial += 1
            roll = rng.random()
            item = {"source": "user", "explanation": "Glorifies a terrorist attack.", "good_faith": True}
            if roll < 0.60:
                cid = f"pre-{rng.randrange(1, cases + 1)}"
                item["content"] = {"id": cid, "url": f"https://example.test/{cid}"}
            elif roll < 0.75:
                text = rng.choice(TEXTS).format(n=rng.randrange(2000))
                item["content"] = {"id": f"t-{serial}", "text": text, "uploader_id": f"acct-{rng.randrange(10**6)}"}
            elif roll < 0.85:
                item["content"] = {"id": f"img-{serial}", "hashes": {"pdq": near(rng.choice(pdqs), rng)}}
            elif roll < 0.95:
                item["content"] = {"id": f"img-{serial}", "hashes": {"pdq": pdq(rng)}}
            else:
                cid = f"pre-{rng.randrange(1, cases + 1)}"
                item["content"] = {"id": cid, "url": f"https://example.test/{cid}"}
                if rng.random() < 0.5:
                    item.update(source="authority_order", authority="Example Authority", order_reference=f"RO-{serial}")
                else:
                    item["source"] = "trusted_flagger"
            item["content"].setdefault("views", rng.randrange(10**5))
            items.append(item)
        bodies.append(json.dumps({"notices": items}).encode())
    return bodies


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of processes (and their reaped children), from /proc."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += sum(int(x) for x in fields[11:15])  # utime, stime, cutime, cstime
    return total / os.sysconf("SC_CLK_TCK")


def family(pid: int) -> list[int]:
    """A process and its descendants (uvicorn workers)."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        try:
            for tid in os.listdir(f"/proc/{p}/task"):
                todo.extend(int(c) for c in Path(f"/proc/{p}/task/{tid}/children").read_text().split())
        except OSError:
            pass
    return out


def db_backends(url: str) -> list[int]:
    """PostgreSQL server processes serving the benchmark database."""
    from sqlalchemy.engine import make_url

    u = make_url(url)
    if u.get_backend_name() != "postgresql":
        return []
    import psycopg

    with psycopg.connect(host=u.host, port=u.port or 5432, user=u.username, dbname=u.database) as conn:
        return [r[0] for r in conn.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                                           (u.database,))]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(url: str, workers: int, home: str) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**os.environ, "VIGIL_RATE_LIMIT": "off", "VIGIL_HOME": home, "HF_HUB_OFFLINE": "1"}
    proc = subprocess.Popen([VIGIL, "serve", "--db", url, "--port", str(port), "--workers", str(workers)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"vigil serve exited: {proc.stderr.read().decode()}")
        try:
            if httpx.get(base + "/healthz", timeout=2).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            time.sleep(0.2)
    raise RuntimeError("vigil serve did not start")


def measure(base: str, key: str, bodies: list[bytes], clients: int, cpu) -> tuple[float, list[float], int, tuple]:
    """Post every body; returns (seconds, per-batch latencies, accepted notices, (service, database) CPU seconds)."""
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    with httpx.Client(base_url=base, timeout=120, headers=headers) as c:  # warm-up: loads the detector, indexes
        c.post("/v1/notices/batch", content=bodies[0])
    todo = list(enumerate(bodies[1:]))
    lock = threading.Lock()
    lat: list[float] = []
    accepted = [0]

    def client() -> None:
        with httpx.Client(base_url=base, timeout=120, headers=headers) as c:
            while True:
                with lock:
                    if not todo:
                        return
                    _, body = todo.pop()
                t0 = time.perf_counter()
                r = c.post("/v1/notices/batch", content=body)
                dt = time.perf_counter() - t0
                if r.status_code != 202:
                    raise RuntimeError(f"batch failed: {r.status_code} {r.text[:300]}")
                with lock:
                    lat.append(dt)
                    accepted[0] += r.json()["accepted"]

    before = cpu()
    t0 = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seconds = time.perf_counter() - t0
    after = cpu()
    return seconds, lat, accepted[0], (after[0] - before[0], after[1] - before[1])


def database(backend: str, folder: str) -> tuple[str, callable]:
    if backend == "sqlite":
        return f"sqlite:///{folder}/bench.db", lambda: None
    import psycopg
    from sqlalchemy.engine import make_url

    name = f"vigil_bench_{uuid.uuid4().hex[:8]}"
    admin = make_url(PG_ADMIN)
    dsn = dict(host=admin.host, port=admin.port or 5432, user=admin.username, dbname=admin.database or "postgres",
               autocommit=True)
    with psycopg.connect(**dsn) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        with psycopg.connect(**dsn) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return admin.set(database=name).render_as_string(hide_password=False), drop


def run(backend: str, args) -> dict:
    from vigil import keys
    from vigil.banks import service as banks
    from vigil.roles import Role
    from vigil.store.db import session_scope

    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory() as folder:
        url, drop = database(backend, folder)
        try:
            t0 = time.perf_counter()
            pdqs = prefill(url, args.prefill, rng)
            load = time.perf_counter() - t0
            with session_scope(url) as s:
                key = keys.create_key(s, "bench", Role.SUBMITTER).key
                banks.create_bank(s, "bench-bank")
                for value in pdqs[:1000]:
                    banks.add_entry(s, "bench-bank", "pdq", value)
            bodies = workload(args.batches + 1, max(1, args.prefill // 5), pdqs, rng)
            proc, base = serve(url, args.workers, folder)
            try:
                seconds, lat, accepted, cpu = measure(base, key, bodies, args.clients,
                                                      lambda: (cpu_seconds(family(proc.pid)), cpu_seconds(db_backends(url))))
            finally:
                proc.terminate()
                proc.wait(30)
            with session_scope(url) as s:
                import sqlalchemy as sa

                from vigil.store.cases import Case, Notice

                total = s.scalar(sa.select(sa.func.count()).select_from(Notice))
                cases = s.scalar(sa.select(sa.func.count()).select_from(Case))
        finally:
            drop()
    lat.sort()
    return {"backend": backend, "prefill": args.prefill, "load_s": load, "notices": accepted, "seconds": seconds,
            "rate": accepted / seconds, "cpu_service": cpu[0], "cpu_db": cpu[1], "p50": statistics.median(lat), "p95": lat[int(0.95 * (len(lat) - 1))],
            "total": total, "cases": cases}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--prefill", type=int, default=1_000_000, help="notices in the database before measuring")
    ap.add_argument("--batches", type=int, default=100, help="measured batches of 1,000 notices")
    ap.add_argument("--backends", default="sqlite,postgresql")
    ap.add_argument("--clients", type=int, default=4, help="concurrent client threads")
    ap.add_argument("--workers", type=int, default=3, help="service worker processes")
    ap.add_argument("--seed", type=int, default=5)
    args = ap.parse_args()
    from rich.console import Console
    from rich.table import Table

    rows = []
    for backend in args.backends.split(","):
        Console(stderr=True).print(f"[dim]{backend}: prefilling {args.prefill:,} notices, then {args.batches} batches...[/dim]")
        rows.append(run(backend.strip(), args))
    table = Table(title=f"Notice intake via POST /v1/notices/batch (batches of {BATCH}, dedupe on, "
                        f"{args.clients} clients, {args.workers} worker(s))")
    for col in ("backend", "notices before", "bulk load s", "measured notices", "seconds", "notices/s",
                "batch p50 ms", "batch p95 ms", "service CPU ms/batch", "database CPU ms/batch", "cases after", "target"):
        table.add_column(col, justify="right")
    for r in rows:
        target = (f"{TARGET_PG:,}/s: {'met' if r['rate'] >= TARGET_PG else 'MISSED'} ({r['rate'] / TARGET_PG:.2f}x)"
                  if r["backend"] == "postgresql" else "-")
        table.add_row(r["backend"], f"{r['prefill']:,}", f"{r['load_s']:.1f}", f"{r['notices']:,}", f"{r['seconds']:.2f}",
                      f"{r['rate']:,.0f}", f"{r['p50'] * 1000:.0f}", f"{r['p95'] * 1000:.0f}",
                      f"{r['cpu_service'] * 1000 * BATCH / r['notices']:.0f}",
                      f"{r['cpu_db'] * 1000 * BATCH / r['notices']:.0f}" if r["backend"] == "postgresql" else "(in service)",
                      f"{r['cases']:,}", target)
    Console().print(table)
    print(f"load average during the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (CPU ms/batch does not "
          "depend on load; notices/s does)")


if __name__ == "__main__":
    main()
