"""Ledger appends per second, sustained, into PostgreSQL (target: at least 2,000/s).

    .venv/bin/python bench/ledger_append.py [--db postgresql://...] [--count 20000] [--workers 1 2 4]

Each scenario appends leaves to a fresh database and prints one row:
  - the commit ceiling: durable empty-ish commits without the ledger, one after another. Appenders hold
    the ledger's head lock until they commit, so one-per-transaction appends cannot beat this;
  - one per transaction: a decision committed on its own, from 1..N processes contending for the lock;
  - the same without the disk flush (synchronous_commit=off): what the ledger itself costs (not durable,
    for comparison only);
  - 100 and 1000 per transaction: batch imports (bank lists, bulk decisions) through append_many.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import time
import uuid

import psycopg
import sqlalchemy as sa
from rich.console import Console
from rich.table import Table
from sqlalchemy.engine import make_url

from vigil.ledger import log
from vigil.store.db import session_scope, upgrade

TARGET = 2000
ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"


def _admin(sql: str, admin: str) -> None:
    u = make_url(admin)
    with psycopg.connect(host=u.host, port=u.port or 5432, user=u.username, password=u.password,
                         dbname=u.database, autocommit=True) as conn:
        conn.execute(sql)


def record(worker: int, i: int) -> dict:
    return {"kind": "decision", "table": "decisions",
            "row": {"id": worker * 10_000_000 + i, "case_id": i, "action": "remove", "automated": False,
                    "content_ids": [f"content-{worker}-{i}"], "territorial_scope": ["DE"], "decided_at": "2026-01-01T00:00:00.000000Z"}}


def one_per_transaction(url: str, worker: int, count: int, durable: bool, start, done) -> None:
    start.wait()
    for i in range(count):
        with session_scope(url) as s:
            if not durable:
                s.execute(sa.text("SET LOCAL synchronous_commit = off"))
            log.append(s, "decision", "decisions", str(worker * 10_000_000 + i), record(worker, i))
    done.put(count)


def commit_ceiling(url: str, count: int) -> float:
    u = make_url(url)
    with psycopg.connect(host=u.host, port=u.port or 5432, user=u.username, dbname=u.database, autocommit=True) as conn:
        conn.execute("CREATE TABLE bench_commits (i int)")
        t = time.perf_counter()
        for i in range(count):
            conn.execute("INSERT INTO bench_commits VALUES (%s)", (i,))
        return time.perf_counter() - t


def batched(url: str, count: int, batch: int) -> float:
    t = time.perf_counter()
    for b in range(0, count, batch):
        with session_scope(url) as s:
            log.append_many(s, [("decision", "decisions", str(i), record(0, i)) for i in range(b, min(count, b + batch))])
    return time.perf_counter() - t


def run_workers(url: str, workers: int, count: int, durable: bool = True) -> float:
    ctx = mp.get_context("fork")
    start, done = ctx.Event(), ctx.Queue()
    per = count // workers
    procs = [ctx.Process(target=one_per_transaction, args=(url, w, per, durable, start, done)) for w in range(workers)]
    for p in procs:
        p.start()
    time.sleep(1.0)  # let every worker import and connect before the clock starts
    t = time.perf_counter()
    start.set()
    for _ in procs:
        done.get()
    elapsed = time.perf_counter() - t
    for p in procs:
        p.join()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--admin", default=ADMIN, help="PostgreSQL URL of a database to create the bench database from")
    parser.add_argument("--count", type=int, default=20_000, help="appends per batched scenario")
    parser.add_argument("--single-count", type=int, default=2_000, help="appends per one-per-transaction scenario")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 4])
    args = parser.parse_args()
    table = Table("scenario", "appends", "seconds", "appends/s", f"vs target {TARGET:,}/s",
                  title="Ledger appends into PostgreSQL (fresh database per scenario)")
    n1 = args.single_count
    scenarios = [("commit ceiling: durable 1-row commits, no ledger", n1, lambda url: commit_ceiling(url, n1))]
    scenarios += [(f"1 per transaction, {w} process{'es' if w > 1 else ''}", n1 // w * w, lambda url, w=w: run_workers(url, w, n1))
                  for w in args.workers]
    w = max(args.workers)
    scenarios += [(f"1 per transaction, {w} processes, no disk flush*", n1 // w * w, lambda url: run_workers(url, w, n1, durable=False))]
    scenarios += [(f"{b} per transaction, 1 process", args.count, lambda url, b=b: batched(url, args.count, b)) for b in (100, 1000)]
    for name, expected, run in scenarios:
        db = f"vigil_bench_append_{uuid.uuid4().hex[:8]}"
        _admin(f'CREATE DATABASE "{db}"', args.admin)
        url = make_url(args.admin).set(database=db).render_as_string(hide_password=False)
        try:
            upgrade(url)
            elapsed = run(url)
            if not name.startswith("commit ceiling"):
                with session_scope(url) as s:
                    assert log.size(s) == expected
                    assert s.execute(sa.text("SELECT count(*), min(idx), max(idx) FROM ledger_leaves")).one() == (expected, 0, expected - 1)
            rate = expected / elapsed
            table.add_row(name, f"{expected:,}", f"{elapsed:.2f}", f"{rate:,.0f}", f"{rate / TARGET:.2f}x")
        finally:
            _admin(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)', args.admin)
    Console().print(table)
    Console().print("* synchronous_commit=off: the ledger's own cost without waiting for the disk; not durable, comparison only.\n"
                    "Appenders hold the head lock until commit, so one-per-transaction appends are bounded by the commit ceiling.")


if __name__ == "__main__":
    main()
