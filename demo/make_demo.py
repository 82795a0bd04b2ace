"""Rebuild the demo data: generated images and a video, a bank of some of them, and a folder to scan.

    .venv/bin/python demo/make_demo.py

Everything is generated from fixed seeds (no real extremist media is, or should ever be, in this
repository). The bank lists the originals in images/ and video/; scan/ holds modified copies that
should match (resized, flipped, rotated, letterboxed, an exact copy, a re-encoded clip), unrelated
images that should not, and one corrupt file that gets a per-file error. Try:

    vigil bank create demo && vigil bank import demo demo/bank.csv --format te_csv
    vigil scan demo/scan --bank demo
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from PIL import Image

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "bench"))

from _images import jpeg_bytes, png_bytes, varied_image, video_bytes  # noqa: E402

from vigil.banks.io import Record, te_csv  # noqa: E402
from vigil.signals import hash_path  # noqa: E402

SIZE = (512, 384)
ORIGINALS = {"poster-a": 101, "poster-b": 102, "poster-c": 103, "poster-d": 104, "flyer-e": 105, "flyer-f": 106}
IN_BANK = ("poster-a", "poster-b", "poster-c", "poster-d", "flyer-e")
VIDEO_SEEDS = [111, 112, 113, 114, 115]
UNRELATED = {"holiday": 201, "chart": 202, "cat-meme": 203}
LABELS = {"entity": "Fictional Front (demo)", "behaviour": "propaganda"}


def _letterbox(img: Image.Image, bar: int) -> Image.Image:
    out = Image.new("RGB", (img.width, img.height + 2 * bar), (0, 0, 0))
    out.paste(img, (0, bar))
    return out


def main() -> None:
    for sub in ("images", "video", "scan"):
        shutil.rmtree(HERE / sub, ignore_errors=True)
        (HERE / sub).mkdir()
    originals = {name: varied_image(seed, SIZE) for name, seed in ORIGINALS.items()}
    for name, img in originals.items():
        (HERE / "images" / f"{name}.jpg").write_bytes(jpeg_bytes(img, quality=85))
    (HERE / "video" / "broadcast.mp4").write_bytes(video_bytes(VIDEO_SEEDS, size=(320, 240), fps=10, seconds_per_seed=1.4))

    scan = HERE / "scan"
    (scan / "reuploads").mkdir()
    (scan / "reuploads" / "poster-a-small.jpg").write_bytes(jpeg_bytes(originals["poster-a"].resize((256, 192), Image.LANCZOS), quality=70))
    (scan / "reuploads" / "poster-b-mirrored.jpg").write_bytes(jpeg_bytes(originals["poster-b"].transpose(Image.Transpose.FLIP_LEFT_RIGHT)))
    (scan / "reuploads" / "poster-c-letterboxed.jpg").write_bytes(jpeg_bytes(_letterbox(originals["poster-c"], 64)))
    (scan / "reuploads" / "poster-d-rotated.png").write_bytes(png_bytes(originals["poster-d"].transpose(Image.Transpose.ROTATE_90)))
    shutil.copyfile(HERE / "images" / "flyer-e.jpg", scan / "reuploads" / "flyer-e-copy.jpg")
    (scan / "reuploads" / "broadcast-clip.mp4").write_bytes(video_bytes(VIDEO_SEEDS[1:4], size=(320, 240), fps=25, seconds_per_seed=1.4, codec="libx264"))
    (scan / "unrelated").mkdir()
    for name, seed in UNRELATED.items():
        (scan / "unrelated" / f"{name}.jpg").write_bytes(jpeg_bytes(varied_image(seed, SIZE), quality=85))
    shutil.copyfile(HERE / "images" / "flyer-f.jpg", scan / "unrelated" / "flyer-f-not-in-bank.jpg")
    corrupt = jpeg_bytes(varied_image(301, SIZE))
    (scan / "corrupt.jpg").write_bytes(corrupt[: len(corrupt) // 3])

    records = []
    for name in IN_BANK:
        for signal in hash_path(HERE / "images" / f"{name}.jpg"):
            records.append(Record(line=0, signal_type=signal.type, value=signal.value, labels={**LABELS, "content_type": "image"}, source="vigil-demo"))
    for signal in hash_path(HERE / "video" / "broadcast.mp4"):
        records.append(Record(line=0, signal_type=signal.type, value=signal.value, labels={**LABELS, "content_type": "video"}, source="vigil-demo"))
    (HERE / "bank.csv").write_bytes(te_csv.write("demo", records))
    total = sum(p.stat().st_size for p in HERE.rglob("*") if p.is_file())
    print(f"demo data written to {HERE} ({total / 1e6:.2f} MB, {len(records)} bank entries)")


if __name__ == "__main__":
    main()
