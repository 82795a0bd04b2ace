"""PDQ robustness: recall after common re-upload edits, and false matches against unrelated images.

    .venv/bin/python bench/pdq_robustness.py [--originals 300] [--unrelated 10000]

Originals are varied generated scenes (bench/_images.py), stored as JPEG q90 and banked as `vigil bank
add` would (every PDQ signal of the file). Each transform of each original is hashed as `vigil scan`
would, and counts as found when one of its PDQ hashes, or their dihedral variants, is within 31 bits of
one of its original's bank hashes. The same is measured for plain PDQ (python-threatexchange's
`PdqSignal.hash_from_file` on both sides: no border trimming, no dihedral variants). Unrelated images
(other seeds, other sizes) are then matched against the whole bank by brute force.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageFont

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _images import jpeg_bytes, varied_image  # noqa: E402

from vigil.signals import hash_bytes  # noqa: E402
from vigil.signals.pdq import PDQ_THRESHOLD, QUALITY_FLOOR  # noqa: E402

SIZES = [(640, 480), (800, 600), (480, 640), (1024, 768), (500, 500)]


def _text(img: Image.Image) -> Image.Image:
    out = img.copy()
    font = ImageFont.load_default(size=max(10, img.height // 24))
    ImageDraw.Draw(out).text((img.width * 0.04, img.height * 0.9), "@reposted_by_someone", fill=(255, 255, 255), font=font)
    return out


def _letterbox(img: Image.Image) -> Image.Image:
    bar = img.height // 6
    out = Image.new("RGB", (img.width, img.height + 2 * bar), (0, 0, 0))
    out.paste(img, (0, bar))
    return out


def _crop(img: Image.Image) -> Image.Image:
    dx, dy = round(img.width * 0.05), round(img.height * 0.05)
    return img.crop((dx, dy, img.width - dx, img.height - dy))


TRANSFORMS = {
    "resize 50%": lambda im: jpeg_bytes(im.resize((im.width // 2, im.height // 2), Image.LANCZOS)),
    "JPEG q40": lambda im: jpeg_bytes(im, quality=40),
    "brightness +20%": lambda im: jpeg_bytes(ImageEnhance.Brightness(im).enhance(1.2)),
    "brightness -20%": lambda im: jpeg_bytes(ImageEnhance.Brightness(im).enhance(0.8)),
    "grayscale": lambda im: jpeg_bytes(im.convert("L")),
    "text overlay": lambda im: jpeg_bytes(_text(im)),
    "horizontal flip": lambda im: jpeg_bytes(im.transpose(Image.Transpose.FLIP_LEFT_RIGHT)),
    "rotate 90°": lambda im: jpeg_bytes(im.transpose(Image.Transpose.ROTATE_90)),
    "letterbox bars": lambda im: jpeg_bytes(_letterbox(im)),
    "crop 5% (reported, not required)": lambda im: jpeg_bytes(_crop(im)),
}


def words(hashes: list[str]) -> np.ndarray:
    if not hashes:
        return np.zeros((0, 4), np.uint64)
    return np.frombuffer(bytes.fromhex("".join(hashes)), dtype=">u8").astype(np.uint64).reshape(-1, 4)


def min_distance(queries: list[str], bank: np.ndarray) -> np.ndarray:
    """For each bank row, the smallest distance to any query."""
    q = words(queries)
    if len(q) == 0:
        return np.full(len(bank), 257)
    return np.bitwise_count(q[:, None, :] ^ bank[None, :, :]).sum(axis=2).min(axis=0)


def vigil_queries(data: bytes) -> list[str]:
    """PDQ hashes a scan would look up: each usable PDQ signal and its dihedral variants."""
    out = []
    for s in hash_bytes(data):
        if s.type == "pdq" and (s.quality or 0) >= QUALITY_FLOOR:
            out += [s.value, *s.variants]
    return out


def pytx_hash(data: bytes, tmp: Path) -> str:
    from threatexchange.signal_type.pdq.signal import PdqSignal

    path = tmp / "img.jpg"
    path.write_bytes(data)
    return PdqSignal.hash_from_file(path)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--originals", type=int, default=300)
    ap.add_argument("--unrelated", type=int, default=10_000)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp())
    t0 = time.perf_counter()

    originals, bank_hashes, bank_owner, pytx_bank = [], [], [], []
    skipped = 0
    seed = 0
    while len(originals) < args.originals:
        img = varied_image(seed, SIZES[seed % len(SIZES)])
        seed += 1
        data = jpeg_bytes(img)
        pdqs = [s for s in hash_bytes(data) if s.type == "pdq"]
        if pdqs[0].quality < QUALITY_FLOOR:
            skipped += 1
            continue
        k = len(originals)
        originals.append(img)
        for s in pdqs:
            bank_hashes.append(s.value)
            bank_owner.append(k)
        pytx_bank.append(pytx_hash(data, tmp))
    bank = words(bank_hashes)
    owner = np.array(bank_owner)
    pytx_words = words(pytx_bank)
    print(f"bank: {len(originals)} originals ({skipped} generated scenes skipped for PDQ quality < {QUALITY_FLOOR}), {len(bank_hashes)} PDQ entries")

    rows = []
    for name, transform in TRANSFORMS.items():
        found = plain = 0
        for k, img in enumerate(originals):
            data = transform(img)
            d = min_distance(vigil_queries(data), bank)
            found += bool((d[owner == k] <= PDQ_THRESHOLD).any())
            p = pytx_hash(data, tmp)
            if p:
                plain += bool(min_distance([p], pytx_words[k:k + 1])[0] <= PDQ_THRESHOLD)
        rows.append((name, found / len(originals), plain / len(originals)))

    unrelated_false = 0
    unrelated_quality = 0
    hashed = 0
    for i in range(args.unrelated):
        size = (320 + (i * 37) % 400, 240 + (i * 53) % 300)
        data = jpeg_bytes(varied_image(10_000_000 + i, size), quality=85)
        queries = vigil_queries(data)
        if not queries:
            continue
        unrelated_quality += 1
        d = min_distance(queries, bank)
        unrelated_false += bool((d <= PDQ_THRESHOLD).any())
        hashed += 1

    print()
    print(f"{'transform':<36} {'Vigil recall':>12} {'plain PDQ (pytx)':>17}  target")
    for name, vigil, plain in rows:
        target = "" if name.startswith("crop") else ">= 0.98 " + ("ok" if vigil >= 0.98 else "MISSED")
        print(f"{name:<36} {vigil:>12.3f} {plain:>17.3f}  {target}")
    print()
    print(f"unrelated images: {args.unrelated} generated, {unrelated_quality} with PDQ quality >= {QUALITY_FLOOR}; "
          f"false matches at distance <= {PDQ_THRESHOLD} (dihedral variants included): {unrelated_false}  target 0 "
          + ("ok" if unrelated_false == 0 else "MISSED"))
    print(f"({time.perf_counter() - t0:.0f} s, pid {os.getpid()})")


if __name__ == "__main__":
    main()
