"""PDQ matching: Vigil's exact multi-index against python-threatexchange's PDQIndex, same bank, same queries.

    .venv/bin/python bench/pdq_match.py --bank-size 1000000 [--queries 2000] [--threshold 31]

The bank is random PDQ hashes; half the queries are near-duplicates of bank hashes (1 to 25 bits
flipped) and half are random. Each contender runs in its own subprocess, so each peak RSS is its own:
  brute  faiss IndexBinaryFlat range search (the ground truth, and the full-scan floor);
  vigil  vigil.index.pdq.PDQIndex: build, save, load (no pickle), single and batched lookups;
  pytx   threatexchange PDQIndex (faiss IndexBinaryMultiHash, HMA's default): build, single and batched.
Recall is measured against the brute-force result sets. Prints a table with Vigil/pytx ratios.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

SEED = 20240601


def bank(n: int) -> np.ndarray:
    return np.random.default_rng(SEED).integers(0, 256, size=(n, 32), dtype=np.uint8)


def queries(b: np.ndarray, count: int) -> np.ndarray:
    rng = np.random.default_rng(SEED + 1)
    near = count // 2
    q = np.empty((count, 32), dtype=np.uint8)
    if len(b):
        q[:near] = b[rng.integers(0, len(b), near)]
        bits = np.unpackbits(q[:near], axis=1)
        for row in range(near):
            flips = rng.choice(256, size=int(rng.integers(1, 26)), replace=False)
            bits[row, flips] ^= 1
        q[:near] = np.packbits(bits, axis=1)
    else:
        near = 0
    q[near:] = rng.integers(0, 256, size=(count - near, 32), dtype=np.uint8)
    return q


def rss_mb() -> tuple[float, float]:
    """(current, peak) resident set size in MB, from /proc."""
    fields = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(value.split()[0]) / 1024
    return fields["VmRSS"], fields["VmHWM"]


def run_brute(n: int, count: int, threshold: int, out: Path) -> dict:
    import faiss

    b, q = bank(n), queries(bank(n), count)
    t0 = time.perf_counter()
    index = faiss.IndexBinaryFlat(256)
    index.add(b)
    build = time.perf_counter() - t0
    faiss.omp_set_num_threads(1)
    single_n = min(count, 200 if n >= 5_000_000 else count)
    t0 = time.perf_counter()
    for i in range(single_n):
        index.range_search(q[i : i + 1], threshold + 1)
    single = single_n / (time.perf_counter() - t0)
    faiss.omp_set_num_threads(os.cpu_count() or 1)
    t0 = time.perf_counter()
    lims, _, ids = index.range_search(q, threshold + 1)
    batched = count / (time.perf_counter() - t0)
    truth = [sorted(ids[lims[i] : lims[i + 1]].tolist()) for i in range(count)]
    out.write_text(json.dumps(truth))
    return {"build_s": build, "single_qps": single, "batched_qps": batched, "rss_mb": rss_mb()}


def run_vigil(n: int, count: int, threshold: int, out: Path) -> dict:
    from vigil.index.pdq import PDQIndex, hashes_to_words

    b = bank(n)
    q = hashes_to_words(queries(b, count))
    t0 = time.perf_counter()
    index = PDQIndex.build(hashes_to_words(b), np.arange(n, dtype=np.int64))
    build = time.perf_counter() - t0
    del b
    with tempfile.TemporaryDirectory(dir=os.environ.get("VIGIL_BENCH_TMP")) as tmp:
        t0 = time.perf_counter()
        index.save(Path(tmp) / "pdq")
        save = time.perf_counter() - t0
        del index
        t0 = time.perf_counter()
        index = PDQIndex.load(Path(tmp) / "pdq")
        load = time.perf_counter() - t0
    rss_after_load = rss_mb()[0]
    index.query_many(q[:10], threshold)
    results = []
    t0 = time.perf_counter()
    for i in range(count):
        results.append(index.query_many(q[i : i + 1], threshold)[0][0])
    single = count / (time.perf_counter() - t0)
    t0 = time.perf_counter()
    batched_results = index.query_many(q, threshold)
    batched = count / (time.perf_counter() - t0)
    assert all(np.array_equal(np.sort(a), np.sort(r[0])) for a, r in zip(results, batched_results))
    out.write_text(json.dumps([sorted(r.tolist()) for r in results]))
    return {"build_s": build, "save_s": save, "load_s": load, "single_qps": single, "batched_qps": batched,
            "rss_mb": (rss_after_load, rss_mb()[1]), "layout": list(index._tables.widths)}


def run_pytx(n: int, count: int, threshold: int, out: Path) -> dict:
    import faiss
    from threatexchange.signal_type.pdq.pdq_index import PDQIndex

    if threshold != PDQIndex.get_match_threshold():
        raise SystemExit(f"pytx's PDQIndex has a fixed threshold of {PDQIndex.get_match_threshold()}")
    b = bank(n)
    hexes = [row.tobytes().hex() for row in b]
    q = [row.tobytes().hex() for row in queries(b, count)]
    del b
    t0 = time.perf_counter()
    index = PDQIndex(zip(hexes, range(n)))
    build = time.perf_counter() - t0
    del hexes
    # One OpenMP thread per single query: with more, faiss's threads spin-wait on a busy 2-core box
    # and single lookups slow down many times over, which would flatter Vigil's ratio.
    faiss.omp_set_num_threads(1)
    index.query(q[0])
    results = []
    t0 = time.perf_counter()
    for h in q:
        results.append(sorted(m.metadata for m in index.query(h)))
    single = count / (time.perf_counter() - t0)
    faiss.omp_set_num_threads(os.cpu_count() or 1)
    t0 = time.perf_counter()
    index.index.search_with_distance_in_result(q, threshold)
    batched = count / (time.perf_counter() - t0)
    out.write_text(json.dumps(results))
    return {"build_s": build, "single_qps": single, "batched_qps": batched, "rss_mb": rss_mb()}


ROLES = {"brute": run_brute, "vigil": run_vigil, "pytx": run_pytx}


def recall(found: list[list[int]], truth: list[list[int]]) -> tuple[float, int]:
    """(share of true matches found, number of wrong results)."""
    hit = total = wrong = 0
    for f, t in zip(found, truth):
        fs, ts = set(f), set(t)
        hit += len(fs & ts)
        total += len(ts)
        wrong += len(fs - ts)
    return (hit / total if total else 1.0), wrong


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bank-size", type=int, required=True, help="hashes in the bank (up to 10,000,000)")
    ap.add_argument("--queries", type=int, default=2000)
    ap.add_argument("--threshold", type=int, default=31)
    ap.add_argument("--skip", choices=sorted(ROLES), action="append", default=[], help="leave a contender out")
    ap.add_argument("--role", choices=sorted(ROLES), help=argparse.SUPPRESS)
    ap.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.role:
        print(json.dumps(ROLES[args.role](args.bank_size, args.queries, args.threshold, args.out)))
        return
    if not 0 < args.bank_size <= 10_000_000 or args.queries < 2:
        ap.error("--bank-size must be 1..10,000,000 and --queries at least 2")
    stats, sets = {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        for role in ("brute", "vigil", "pytx"):
            if role in args.skip:
                continue
            out = Path(tmp) / f"{role}.json"
            print(f"running {role} on {args.bank_size:,} hashes ...", file=sys.stderr, flush=True)
            proc = subprocess.run(
                [sys.executable, __file__, "--role", role, "--bank-size", str(args.bank_size), "--queries", str(args.queries),
                 "--threshold", str(args.threshold), "--out", str(out)],
                capture_output=True, text=True,
            )
            if proc.returncode:
                print(proc.stderr, file=sys.stderr)
                raise SystemExit(f"{role} failed")
            stats[role] = json.loads(proc.stdout.strip().splitlines()[-1])
            sets[role] = json.loads(out.read_text())
    truth = sets.get("brute")
    print(f"\nPDQ matching, bank {args.bank_size:,} random hashes, {args.queries:,} queries (half near-duplicates), threshold {args.threshold}\n")
    head = f"{'':26}" + "".join(f"{r:>14}" for r in stats) + (f"{'vigil/pytx':>14}" if {"vigil", "pytx"} <= set(stats) else "")
    print(head)
    rows = [("build s", "build_s", "{:.1f}"), ("load s (from .npy)", "load_s", "{:.1f}"),
            ("RSS after load/build MB", None, "{:.0f}"), ("peak RSS MB", None, "{:.0f}"),
            ("single lookups/s", "single_qps", "{:,.0f}"), ("batched lookups/s", "batched_qps", "{:,.0f}")]
    for label, key, fmt in rows:
        cells, values = [], {}
        for role, st in stats.items():
            v = st["rss_mb"][0] if label.startswith("RSS") else st["rss_mb"][1] if label.startswith("peak") else st.get(key)
            values[role] = v
            cells.append(f"{fmt.format(v):>14}" if v is not None else f"{'-':>14}")
        ratio = ""
        if values.get("vigil") and values.get("pytx"):
            ratio = f"{values['vigil'] / values['pytx']:>13.2f}x"
        print(f"{label:26}" + "".join(cells) + ratio)
    if truth is not None:
        cells = []
        for role in stats:
            r, wrong = recall(sets[role], truth)
            cells.append(f"{r:>10.4f}" + (f" +{wrong}" if wrong else "   "))
        print(f"{'recall vs brute force':26}" + "".join(f"{c:>14}" for c in cells))
        print(f"\ntrue matches: {sum(map(len, truth)):,}; vigil layout (substring bits): {stats.get('vigil', {}).get('layout')}")


if __name__ == "__main__":
    main()
