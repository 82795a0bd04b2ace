"""Hashing throughput: Vigil's PDQ and vPDQ pipelines against python-threatexchange, per core, decoding included.

    .venv/bin/python bench/hash_throughput.py [--images 30] [--scan-files 1500] [--rounds 3]
        [--parts hash,distance,scan,modes,video] [--vpdq-python /tmp/vpdq-venv/bin/python]

1. Images per second on one core for generated JPEGs of 1024x768 and larger, for pytx
   `PdqSignal.hash_from_file` and for Vigil (`PDQ.hash_path`: EXIF orientation, border crops, the 14
   rotation and flip variants; and `hash_path`: PDQ plus md5 and sha256). Medians of --rounds rounds, run
   interleaved, since the machine is shared.
2. The distribution of Hamming distances between Vigil's whole-frame hash and pytx's for the same file.
3. `vigil scan --json` wall time over a folder of JPEGs with 1 and with 2 worker processes.
4. ("modes") Images per second for every Pillow mode Vigil hashes (P, 1, L, LA, I;16, I, F, CMYK, RGBA, RGB,
   GIF, animated GIF), small (256x192) and large (1024x768), for Vigil (`PDQ.hash_bytes`) and pytx
   (`pdq_from_bytes`), and the distance of each mode's hash from the RGB image's (pytx hashes palette
   indices, 1-bit booleans and CMYK channels as they are, and fails on I and F).
5. ("video") Frames per second for vPDQ hashing of the reference's sample videos (the 14 of
   ../shared/reference/threatexchange/tmk/sample-videos, or of $VIGIL_REFERENCE_DIR, when present, else
   generated ones): frames decoded per second and frames hashed (one per second of video) per second,
   for Vigil's `hash_video` and for the vPDQ reference (`vpdq.computeHash`, which pytx's VPDQSignal
   calls) run in the same bench by the Python given with --vpdq-python (vpdq needs FFmpeg's development
   files to build, so it lives in its own venv:
   `python3 -m venv /tmp/vpdq-venv && /tmp/vpdq-venv/bin/pip install vpdq`).
   The frame hashes of the two are compared bit for bit. Without vpdq, the comparison is with pytx's PDQ
   hasher (`_pdq_from_numpy_array`) on the same decoded frames, and the table says so.
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
    ap.add_argument("--parts", default="hash,distance,scan,modes,video", help="comma-separated subset of hash,distance,scan,modes,video")
    ap.add_argument("--vpdq-python", default="", help="a Python with the vpdq package, for the video part")
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
        if "modes" in parts:
            modes_table(args.rounds)
        if "video" in parts:
            video_table(tmp, args.rounds, args.vpdq_python)
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


def mode_files(size: tuple[int, int]) -> dict[str, bytes]:
    """One generated photo in every Pillow mode, each in a format that stores that mode."""
    import io

    import numpy as np

    def saved(img: Image.Image, fmt: str, **kw) -> bytes:
        buf = io.BytesIO()
        img.save(buf, fmt, **kw)
        return buf.getvalue()

    photo = varied_image(7, size)
    grey = photo.convert("L")
    return {
        "RGB": saved(photo, "PNG"),
        "P": saved(photo.convert("P", palette=Image.Palette.ADAPTIVE), "PNG"),
        "1": saved(photo.convert("1"), "PNG"),
        "L": saved(grey, "PNG"),
        "LA": saved(photo.convert("LA"), "PNG"),
        "I;16": saved(Image.fromarray(np.asarray(grey).astype(np.uint16)), "PNG"),
        "I": saved(Image.fromarray(np.asarray(grey).astype(np.int32)), "TIFF"),
        "F": saved(Image.fromarray(np.asarray(grey).astype(np.float32)), "TIFF"),
        "CMYK": saved(photo.convert("CMYK"), "JPEG", quality=90),
        "RGBA": saved(photo.convert("RGBA"), "PNG"),
        "GIF": saved(photo.convert("P", palette=Image.Palette.ADAPTIVE), "GIF"),
        "animated GIF": saved(photo.convert("P", palette=Image.Palette.ADAPTIVE), "GIF", save_all=True,
                              append_images=[varied_image(8, size).convert("P", palette=Image.Palette.ADAPTIVE)]),
    }


def modes_table(rounds: int) -> None:
    from threatexchange.signal_type.pdq import pdq_hasher

    def per_second(fn, data: bytes, n: int) -> float:
        start = time.perf_counter()
        for _ in range(n):
            fn(data)
        return n / (time.perf_counter() - start)

    print(f"\nall image modes, images/s on one core (median of {rounds} rounds); d = bits from the RGB image's hash")
    print(f"{'mode':>13} {'size':>9} {'Vigil/s':>8} {'pytx/s':>8} {'d Vigil':>8} {'d pytx':>7}")
    for size in ((256, 192), (1024, 768)):
        files = mode_files(size)
        n = 20 if size[0] <= 256 else 5
        rgb_vigil = PDQ.hash_bytes(files["RGB"])[-1].value
        rgb_pytx = pdq_hasher.pdq_from_bytes(files["RGB"])[0]
        for mode, data in files.items():
            vigil = statistics.median(per_second(PDQ.hash_bytes, data, n) for _ in range(rounds))
            ours = PDQ.hash_bytes(data)[-1].value
            try:
                theirs = pdq_hasher.pdq_from_bytes(data)[0]
                pytx = f"{statistics.median(per_second(pdq_hasher.pdq_from_bytes, data, n) for _ in range(rounds)):8.0f}"
                d_pytx = f"{hamming(theirs, rgb_pytx):7d}"
            except Exception as e:  # pytx cannot hash some modes
                pytx, d_pytx = f"{'error':>8}", f" {type(e).__name__[:6]}"
            print(f"{mode:>13} {size[0]}x{size[1]:<4} {vigil:8.0f} {pytx} {hamming(ours, rgb_vigil):8d} {d_pytx}")


def sample_videos(tmp: Path) -> tuple[list[Path], str]:
    reference = os.environ.get("VIGIL_REFERENCE_DIR") or Path(__file__).resolve().parents[1].parent / "shared" / "reference" / "threatexchange"
    found = sorted((Path(reference) / "tmk" / "sample-videos").glob("*.mp4"))
    if found:
        return found, f"the {len(found)} reference sample videos"
    from _images import video_bytes

    paths = []
    for i, size in enumerate([(320, 240), (640, 480), (1280, 720)]):
        path = tmp / f"generated-{size[0]}x{size[1]}.mp4"
        path.write_bytes(video_bytes(list(range(10 * i, 10 * i + 8)), size=size, fps=30, seconds_per_seed=1.5, codec="libx264"))
        paths.append(path)
    return paths, "3 generated videos (the reference copy is absent)"


_VPDQ_SCRIPT = """
import json, sys, time, vpdq
out = {}
for path in sys.argv[2:]:
    best, feats = None, None
    for _ in range(int(sys.argv[1])):
        start = time.perf_counter()
        feats = vpdq.computeHash(path, seconds_per_hash=1)
        t = time.perf_counter() - start
        best = t if best is None else min(best, t)
    out[path] = [best, [f.hex for f in feats]]
print(json.dumps(out))
"""


def video_table(tmp: Path, rounds: int, vpdq_python: str) -> None:
    import json

    import av
    import numpy as np
    from threatexchange.signal_type.pdq import pdq_hasher

    from vigil.signals.video import decode, hash_video

    videos, label = sample_videos(tmp)
    decoded = {}
    for v in videos:
        with av.open(str(v)) as c:
            decoded[v] = sum(1 for _ in c.decode(c.streams.video[0]))
    ours, seconds = {}, {}
    for v in videos:
        times = []
        for _ in range(rounds):
            start = time.perf_counter()
            ours[v] = [f.pdq for f in decode(hash_video(v).value)]
            times.append(time.perf_counter() - start)
        seconds[v] = min(times)
    reference, ref_label = {}, ""
    if vpdq_python:
        run = subprocess.run([vpdq_python, "-c", _VPDQ_SCRIPT, str(rounds), *map(str, videos)], capture_output=True, text=True, check=False)
        if run.returncode == 0:
            reference = {Path(k): v for k, v in json.loads(run.stdout).items()}
            ref_label = "vpdq.computeHash (C++ reference, called as pytx calls it)"
        else:
            print(f"\nvpdq could not run with {vpdq_python}: {run.stderr.strip().splitlines()[-1:]}")
    if not reference:
        ref_label = "pytx PDQ hasher on the same decoded frames (vpdq not installed)"
        for v in videos:
            times = []
            for _ in range(rounds):
                start = time.perf_counter()
                hashes = []
                with av.open(str(v)) as c:
                    for i, frame in enumerate(c.decode(c.streams.video[0])):
                        if i % 30 == 0:
                            hashes.append(pdq_hasher._pdq_from_numpy_array(np.ascontiguousarray(frame.to_ndarray(format="rgb24")))[0])
                times.append(time.perf_counter() - start)
            reference[v] = [min(times), hashes]
    print(f"\nvideo (vPDQ, one frame per second), {label}; best of {rounds}; reference: {ref_label}")
    print(f"{'video':>32} {'size':>9} {'decoded':>8} {'hashed':>7} {'Vigil fps':>10} {'ref fps':>8} {'Vigil/ref':>9} {'same hash':>10}")
    total = {"decoded": 0, "ours": 0.0, "ref": 0.0, "same": 0, "hashed": 0}
    for v in videos:
        with av.open(str(v)) as c:
            s = c.streams.video[0]
            size = f"{s.codec_context.width}x{s.codec_context.height}"
        ref_seconds, ref_hashes = reference[v]
        same = sum(a == b for a, b in zip(ours[v], ref_hashes))
        total["decoded"] += decoded[v]
        total["ours"] += seconds[v]
        total["ref"] += ref_seconds
        total["same"] += same
        total["hashed"] += len(ours[v])
        print(f"{v.stem[:32]:>32} {size:>9} {decoded[v]:8d} {len(ours[v]):7d} {decoded[v] / seconds[v]:10.0f} "
              f"{decoded[v] / ref_seconds:8.0f} {ref_seconds / seconds[v]:8.2f}x {same:>4}/{len(ref_hashes):<4}")
    print(f"{'all':>32} {'':>9} {total['decoded']:8d} {total['hashed']:7d} {total['decoded'] / total['ours']:10.0f} "
          f"{total['decoded'] / total['ref']:8.0f} {total['ref'] / total['ours']:8.2f}x {total['same']:>4}/{total['hashed']:<4}")
    print(f"frames hashed per second: Vigil {total['hashed'] / total['ours']:.1f}, reference {total['hashed'] / total['ref']:.1f} "
          "('fps' columns are frames DECODED per second: every frame is decoded, one per second of video is hashed)")


if __name__ == "__main__":
    main()
