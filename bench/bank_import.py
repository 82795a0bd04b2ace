"""Bank import: entries per second as a ThreatExchange CSV of new PDQs is imported into one bank.

    .venv/bin/python bench/bank_import.py [--entries 50000] [--backends sqlite,postgresql]

The import runs as `vigil bank import` does, in one transaction with its change log and ledger leaves.
The table shows the rate over each tenth of the file, so a rate that falls as the bank grows shows up.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from notice_ingest import database  # noqa: E402  (creates and drops a scratch database)


def csv_rows(n: int, seed: int) -> bytes:
    rng = random.Random(seed)
    lines = ["signal_type,signal_str,collab,category,tags"]
    lines += [f"pdq,{rng.randbytes(32).hex()},bench,POSITIVE_CLASS,entity:Example behaviour:propaganda" for _ in range(n)]
    return ("\n".join(lines) + "\n").encode()


def run(backend: str, data: bytes, entries: int) -> list[float]:
    from vigil.banks import service as banks
    from vigil.store.db import session_scope, upgrade

    with tempfile.TemporaryDirectory() as folder:
        url, drop = database(backend, folder)
        try:
            upgrade(url)
            with session_scope(url) as s:
                banks.create_bank(s, "bench")
            step, marks = max(1, entries // 10), [(0, time.perf_counter())]

            def progress(n: int) -> None:
                if n - marks[-1][0] >= step:
                    marks.append((n, time.perf_counter()))

            with session_scope(url) as s:
                banks.import_entries(s, "bench", "te_csv", data, progress)
            marks.append((entries, time.perf_counter()))
        finally:
            drop()
    return [(b[0] - a[0]) / (b[1] - a[1]) for a, b in zip(marks, marks[1:]) if b[0] > a[0]] + [
        entries / (marks[-1][1] - marks[0][1])]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--entries", type=int, default=50_000)
    ap.add_argument("--backends", default="sqlite,postgresql")
    ap.add_argument("--seed", type=int, default=3)
    args = ap.parse_args()
    from rich.console import Console
    from rich.table import Table

    data = csv_rows(args.entries, args.seed)
    table = Table(title=f"Bank import of {args.entries:,} new PDQ entries (entries/s over each tenth, then overall)")
    table.add_column("backend")
    rows = {b.strip(): run(b.strip(), data, args.entries) for b in args.backends.split(",")}
    width = max(len(r) for r in rows.values())
    for i in range(width - 1):
        table.add_column(f"part {i + 1}", justify="right")
    table.add_column("overall", justify="right")
    for backend, rates in rows.items():
        table.add_row(backend, *[f"{r:,.0f}" for r in rates[:-1]], *[""] * (width - len(rates)), f"{rates[-1]:,.0f}")
    Console().print(table)


if __name__ == "__main__":
    main()
