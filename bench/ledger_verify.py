"""`vigil ledger verify` over a large ledger (target: 1M leaves in under 60 s on the 2-core machine).

    .venv/bin/python bench/ledger_verify.py [--leaves 1000000] [--checkpoints 4] [--admin postgresql://...]

Builds a fresh PostgreSQL database whose ledger holds N bank changes (real `bank_changes` rows,
each with its leaf, the stored node hashes and the head), signs a checkpoint every N/k leaves,
then runs the real CLI, `vigil ledger verify`, and times it. The build writes with COPY for speed,
using the same canonical records and Merkle code as `append_row`; verification then proves that.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

import psycopg
from rich.console import Console
from rich.progress import Progress
from rich.table import Table
from sqlalchemy.engine import make_url

from vigil.ledger import checkpoint, log, merkle
from vigil.store.db import session_scope, upgrade

TARGET_SECONDS = 60
ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
VIGIL = str(Path(sys.executable).parent / "vigil")


def connect(url: str, **kw) -> psycopg.Connection:
    u = make_url(url)
    return psycopg.connect(host=u.host, port=u.port or 5432, user=u.username, password=u.password, dbname=u.database, **kw)


def build(url: str, n: int, checkpoints: int, signer: checkpoint.Signer) -> None:
    frontier = merkle.Frontier()
    now = datetime.now(timezone.utc)
    marks = {n * (i + 1) // checkpoints for i in range(checkpoints)}
    with connect(url) as conn, Progress(transient=True) as progress:
        task = progress.add_task("building the ledger", total=n)
        for start in range(0, n, 50_000):
            end = min(n, start + 50_000)
            with conn.cursor() as cur:
                with cur.copy("COPY bank_changes (id, bank_id, bank_name, entry_id, signal_type, value, kind, created_at) FROM STDIN") as copy:
                    for i in range(start, end):
                        copy.write_row((i + 1, 1, "gifct", i + 1, "md5", f"{i:032x}", "add", now))
                nodes = []  # one COPY at a time per connection: nodes follow the leaves
                with cur.copy("COPY ledger_leaves (idx, kind, ref_table, ref_id, data, leaf_hash, created_at) FROM STDIN") as leaves:
                    for i in range(start, end):
                        row = {"id": i + 1, "bank_id": 1, "bank_name": "gifct", "entry_id": i + 1, "signal_type": "md5",
                               "value": f"{i:032x}", "kind": "add"}
                        data = log.canonical_json({"kind": "bank_change", "table": "bank_changes", "row": row})
                        leaf = merkle.leaf_hash(data.encode())
                        nodes.extend(frontier.append(leaf))
                        leaves.write_row((i, "bank_change", "bank_changes", str(i + 1), data, leaf, now))
                with cur.copy("COPY ledger_nodes (level, idx, hash) FROM STDIN") as copy:
                    for node in nodes:
                        copy.write_row(node)
                cur.execute("INSERT INTO ledger_head (id, size, frontier) VALUES (1, %s, %s) "
                            "ON CONFLICT (id) DO UPDATE SET size = EXCLUDED.size, frontier = EXCLUDED.frontier",
                            (frontier.size, frontier.to_bytes()))
            conn.commit()
            if any(start < m <= end for m in marks):
                # checkpoints land on the chunk ends; with --leaves a multiple of 50,000 they are the marks
                with session_scope(url) as s:
                    checkpoint.publish(s, signer)
            progress.update(task, completed=end)
        with conn.cursor() as cur:
            cur.execute("SELECT setval(pg_get_serial_sequence('bank_changes', 'id'), %s)", (n,))
            cur.execute("ANALYZE")
        conn.commit()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--admin", default=ADMIN)
    parser.add_argument("--leaves", type=int, default=1_000_000)
    parser.add_argument("--checkpoints", type=int, default=4)
    args = parser.parse_args()
    db = f"vigil_bench_verify_{uuid.uuid4().hex[:8]}"
    with connect(args.admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{db}"')
    url = make_url(args.admin).set(database=db).render_as_string(hide_password=False)
    home = tempfile.mkdtemp(prefix="vigil-bench-home-")
    os.environ["VIGIL_HOME"] = home
    try:
        upgrade(url)
        t = time.perf_counter()
        build(url, args.leaves, args.checkpoints, checkpoint.load_signer(Path(home)))
        built = time.perf_counter() - t
        t = time.perf_counter()
        proc = subprocess.run([VIGIL, "ledger", "verify", "--db", url], capture_output=True, text=True,
                              env={**os.environ, "COLUMNS": "200"})
        elapsed = time.perf_counter() - t
        rss_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        if proc.returncode != 0:
            Console().print(proc.stdout[-3000:], proc.stderr[-3000:])
            raise SystemExit(f"vigil ledger verify failed (exit {proc.returncode})")
        table = Table("leaves", "ledgered rows", "checkpoints", "build s", "verify s", "verify peak RSS",
                      f"vs target {TARGET_SECONDS} s", title="vigil ledger verify on PostgreSQL")
        table.add_row(f"{args.leaves:,}", f"{args.leaves:,}", str(args.checkpoints), f"{built:.1f}", f"{elapsed:.1f}",
                      f"{rss_mb:,.0f} MB", f"{TARGET_SECONDS / elapsed:.2f}x faster" if elapsed < TARGET_SECONDS else
                      f"{elapsed / TARGET_SECONDS:.2f}x slower")
        Console().print(table)
        Console().print(" ".join(proc.stdout.split()))
    finally:
        with connect(args.admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')


if __name__ == "__main__":
    main()
