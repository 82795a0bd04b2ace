"""Hashing throughput: Vigil's PDQ pipeline against python-threatexchange, per core, decoding included.

    .venv/bin/python bench/hash_throughput.py [--images 30] [--scan-files 1500] [--rounds 3]

1. Images per second on one core for generated JPEGs of 1024x768 and larger, for pytx
   `PdqSignal.hash_from_file` and for Vigil (`PDQ.hash_path`: EXIF orientation, border crops, the 8
   dihedral variants; and `hash_path`: PDQ plus md5 and sha256). Medians of --rounds rounds, run
   interleaved, since the machine is shared.
2. The distribution of Hamming distances between Vigil's whole-frame hash and pytx's for the same file.
3. `vigil scan --json` wall time over a folder of JPEGs with 1 and with 2 worker processes.
"""

from __future__ import annotations

import os

os.environ.update({"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"})  # one core per measurement

import argparse  # noqa: E402
import resource  # noqa: E402
import shutil  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections import Counter  # noqa: E402
from pathlib import Path  # noqa: E402

from PIL import Image  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _images import jpeg_bytes, varied_image  # noqa: E402

from vigil.signals import hash_path  # noqa: E402
from vigil.signals.pdq import PDQ, hamming, open_image  # noqa: E402

SIZES = [(1024, 768), (1600, 1200), (2048, 1536), (3000, 2000)]


def make_images(folder: Path, size: tuple[int, int], count: int) -> list[Path]:
    paths = []
    for i in range(count):
        path = folder / f"{size[0]}x{size[1]}-{i:04d}.jpg"
        path.write_bytes(jpeg_bytes(varied_image(50_000 + i, size), quality=90))
        paths.append(path)
    return paths


def rate(fn, paths: list[Path]) -> float:
    start = time.perf_counter()
    for p in paths:
        fn(p)
    return len(paths) / (time.perf_counter() - start)


def full_decode(path: Path) -> None:
    Image.open(path).convert("RGB").load()


def scan_seconds(folder: Path, workers: int, db: str) -> tuple[float, float]:
    """Wall seconds of one `vigil scan`, and the CPU seconds it and its workers used."""
    vigil = Path(sys.executable).with_name("vigil")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run([str(vigil), "scan", str(folder), "--json", "--workers", str(workers), "--db", db],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--images", type=int, default=30, help="JPEGs per size")
    ap.add_argument("--scan-files", type=int, default=1500, help="files in the scanned folder (copies of the 1024x768 set)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--parts", default="hash,distance,scan", help="comma-separated subset of hash,distance,scan")
    args = ap.parse_args()
    parts = set(args.parts.split(","))
    tmp = Path(tempfile.mkdtemp(prefix="vigil-bench-"))
    try:
        sizes = SIZES if parts & {"hash", "distance"} else SIZES[:1]
        sets = {size: make_images(tmp, size, args.images) for size in sizes}
        if "hash" in parts:
            hashing_table(sets, args.rounds)
        if "distance" in parts:
            distance_table(sets, make_images(tmp, (500, 375), args.images))
        if "scan" in parts:
            scan_table(tmp, sets[SIZES[0]], args.scan_files, args.rounds)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def hashing_table(sets: dict, rounds: int) -> None:
    from threatexchange.signal_type.pdq.signal import PdqSignal

    print(f"hashing, images/s on one core (median of {rounds} rounds, {len(next(iter(sets.values())))} JPEGs q90 per size)")
    print(f"{'size':>10} {'decode only':>12} {'pytx':>8} {'Vigil PDQ':>10} {'Vigil all':>10} {'PDQ vs pytx':>12} {'all vs pytx':>12}  target >= 3x")
    for size, paths in sets.items():
        runs = {"decode": [], "pytx": [], "pdq": [], "all": []}
        for _ in range(rounds):
            runs["decode"].append(rate(full_decode, paths))
            runs["pytx"].append(rate(PdqSignal.hash_from_file, paths))
            runs["pdq"].append(rate(PDQ.hash_path, paths))
            runs["all"].append(rate(hash_path, paths))
        m = {k: statistics.median(v) for k, v in runs.items()}
        print(f"{size[0]}x{size[1]:<5} {m['decode']:>12.0f} {m['pytx']:>8.1f} {m['pdq']:>10.0f} {m['all']:>10.0f} "
              f"{m['pdq'] / m['pytx']:>11.1f}x {m['all'] / m['pytx']:>11.1f}x  {'ok' if m['pdq'] / m['pytx'] >= 3 else 'MISSED'}")


def distance_table(sets: dict, small: list[Path]) -> None:
    from threatexchange.signal_type.pdq.signal import PdqSignal

    print("\nHamming distance, Vigil's whole-frame hash vs pytx hash_from_file, same file")
    for label, paths in [("not reduced (500x375)", small)] + [(f"reduced ({s[0]}x{s[1]})", p) for s, p in sets.items()]:
        dist = Counter()
        for p in paths:
            ref = PdqSignal.hash_from_file(p)
            if ref:
                dist[hamming(PDQ.hash_path(p)[-1].value, ref)] += 1
        scale = open_image(paths[0].read_bytes())[1]
        hist = "  ".join(f"{d}:{n}" for d, n in sorted(dist.items()))
        print(f"{label:>24}  decoded at 1/{scale}  n={sum(dist.values()):<4} max={max(dist):<3} within 10: "
              f"{sum(n for d, n in dist.items() if d <= 10) / sum(dist.values()):.3f}   [{hist}]")


def scan_table(tmp: Path, base: list[Path], count: int, rounds: int) -> None:
    folder, single = tmp / "scan", tmp / "single"
    folder.mkdir()
    single.mkdir()
    for i in range(count):
        shutil.copyfile(base[i % len(base)], folder / f"{i:05d}.jpg")
    shutil.copyfile(base[0], single / "one.jpg")
    db = f"sqlite:///{tmp / 'scan.db'}"
    scan_seconds(folder, 1, db)  # warm-up: migrates the database, fills the page cache
    times = {(w, f): [] for w in (1, 2) for f in ("all", "start")}
    for _ in range(rounds):
        for workers in (1, 2):
            times[workers, "all"].append(scan_seconds(folder, workers, db))
            times[workers, "start"].append(scan_seconds(single, workers, db))
    best = {k: min(v) for k, v in times.items()}
    net = {w: best[w, "all"][0] - best[w, "start"][0] for w in (1, 2)}
    print(f"\nvigil scan --json of {count} JPEGs 1024x768, best of {rounds}; 'start' is a one-file scan "
          "(interpreter, database, worker spawn), 'net' the rest; 'cores used' = CPU seconds / wall seconds of the whole scan")
    print(f"{'workers':>8} {'total s':>8} {'start s':>8} {'net s':>8} {'net files/s':>12} {'cores used':>11}")
    for w in (1, 2):
        wall, cpu = best[w, "all"]
        print(f"{w:>8} {wall:>8.2f} {best[w, 'start'][0]:>8.2f} {net[w]:>8.2f} {count / net[w]:>12.0f} {cpu / wall:>11.2f}")
    speedup = net[1] / net[2]
    print(f"speed-up 2 vs 1 workers: {speedup:.2f}x net, {best[1, 'all'][0] / best[2, 'all'][0]:.2f}x total; target >= 1.8x "
          f"{'ok' if speedup >= 1.8 else 'MISSED'}  (cores: {os.cpu_count()}; load average now {os.getloadavg()[0]:.1f})")


if __name__ == "__main__":
    main()
