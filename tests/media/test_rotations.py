"""Rotated and flipped copies: recall against the reference hash of the original, before and after pixel variants.

For each reference photo of quality >= 50, its 7 lossless transposes (Image.transpose, saved as BMP) are
hashed and matched (distance <= 31, value or any variant) against the reference hash of the original.
"Before" uses the value and the reference's 7 DCT-domain dihedral hashes only (what Vigil did); "after"
also uses the 7 hashes of the transposed pixels (`pdq.PIXEL_TRANSFORMS`).

Print both figures (fixtures, and the full reference copy when present):

    PYTHONPATH=src .venv/bin/python tests/media/test_rotations.py
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from vigil.signals.pdq import (
    PDQ_THRESHOLD,
    PIXEL_TRANSFORMS,
    QUALITY_FLOOR,
    hamming,
    hash_image,
    hash_rgb,
)

if __package__:
    from ._reference import FIXTURES, expected_hashes, need_reference, reference_images
else:  # run as a script
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from _reference import FIXTURES, expected_hashes, need_reference, reference_images

FIXTURE_PHOTOS = sorted(p for p in FIXTURES.rglob("*") if p.suffix in (".jpg", ".jpeg"))
FIXTURE_RECALL = (3, 21)
"""Before: the DCT dihedral hashes find 3 of the 21 transposes of the three 256x256 fixture photos."""
CPP_SOURCES = ("pdq/cpp/bin/README.md", "pdq/sql/README.md", "pdq/wasm/test/TestData/PDQMD5TestData.csv", "pdq/java/README.md")
"""Expectation files that hold C++ reference outputs, preferred as the bank hash of an original."""


def _lossless(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "BMP")  # lossless and quick to write, even at 12 megapixels
    return buf.getvalue()


def reference_hash(path: Path, root: Path | None) -> tuple[str, int]:
    """The bank's hash of an original: the C++ reference's where its files state one, else pytx's computed here."""
    from threatexchange.signal_type.pdq import pdq_hasher

    data = path.read_bytes()
    computed, quality = pdq_hasher.pdq_from_bytes(data)
    if root is not None:
        stated = {e.source: e.pdq for e in expected_hashes(root) if e.image == path}
        for source in CPP_SOURCES:
            if source in stated:
                return stated[source], quality
    return computed, quality


def _near(hashes: list[str], bank: str) -> bool:
    return min(hamming(h, bank) for h in hashes) <= PDQ_THRESHOLD


def recall(photos: list[Path], root: Path | None = None) -> tuple[int, int, int, list[str]]:
    """(matched before, matched after, copies, misses after) over the 7 transposes of each photo of quality >= 50."""
    before = after = total = 0
    misses = []
    for path in photos:
        bank, quality = reference_hash(path, root)
        if quality < QUALITY_FLOOR:
            continue
        original = Image.open(path).convert("RGB")
        for method in Image.Transpose:
            signals = hash_image(_lossless(original.transpose(method)))
            total += 1
            before += any(_near([s.value, *s.variants[:7]], bank) for s in signals)
            hit = any(_near([s.value, *s.variants], bank) for s in signals)
            after += hit
            if not hit:
                misses.append(f"{path.name} {method.name}")
    return before, after, total, misses


def full_photos(root: Path) -> list[Path]:
    """Reference photos, less the mode copies of one photo and the rotated copies of bridge-1."""
    return [p for p in reference_images(root)
            if p.parent.name != "modes" and not (p.parent.name == "dih" and not p.name.startswith("bridge-1"))]


def test_pixel_variants_follow_the_reference_dihedral_order():
    for path in FIXTURE_PHOTOS:
        pixels = np.asarray(Image.open(path).convert("RGB"))
        signal = hash_rgb(pixels)
        dct, turned = signal.variants[:7], signal.variants[7:]
        assert len(turned) == 7
        for i, h in enumerate(turned):
            distances = [hamming(h, d) for d in dct]
            # nearest to its DCT counterpart, though on these small photos often not within 31 bits of it
            assert distances[i] == min(distances), (path.name, i, distances)
        assert turned[5] == dct[5]  # the transpose: PDQ's sampling is symmetric about the diagonal


def test_pixel_variants_are_the_reference_hashes_of_the_turned_pixels():
    import pdqhash

    for path in FIXTURE_PHOTOS:
        pixels = np.asarray(Image.open(path).convert("RGB"))
        turned = hash_rgb(pixels).variants[7:]
        for (name, transform), h in zip(PIXEL_TRANSFORMS, turned):
            vector, _ = pdqhash.compute(np.ascontiguousarray(transform(pixels)))
            assert np.packbits(vector.astype(np.uint8)).tobytes().hex() == h, (path.name, name)


def test_rotated_copies_match_the_original_exactly_through_pixel_variants():
    for path in FIXTURE_PHOTOS:
        original = Image.open(path).convert("RGB")
        whole = hash_image(_lossless(original))[-1].value
        for method in Image.Transpose:
            turned = hash_image(_lossless(original.transpose(method)))[-1]
            assert whole in turned.variants[7:], (path.name, method.name)


def test_recall_on_fixture_photos():
    before, after, total, misses = recall(FIXTURE_PHOTOS)
    assert (before, total) == FIXTURE_RECALL
    assert after == total, misses


def test_recall_on_reference_photos():
    root = need_reference()
    before, after, total, misses = recall(full_photos(root), root)
    assert total >= 150
    assert after == total, misses
    assert before < after


if __name__ == "__main__":
    from _reference import reference_dir

    b, a, n, _ = recall(FIXTURE_PHOTOS)
    print(f"fixture photos ({len(FIXTURE_PHOTOS)}): before {b}/{n}, after {a}/{n}")
    root = reference_dir()
    if root is None:
        print("full reference copy absent (../shared/reference/threatexchange or VIGIL_REFERENCE_DIR)")
    else:
        photos = full_photos(root)
        b, a, n, misses = recall(photos, root)
        print(f"reference photos of quality >= 50 ({root}): before {b}/{n}, after {a}/{n}" + (f"; misses: {misses}" if misses else ""))
        small = [p for p in photos if max(Image.open(p).size) <= 256]
        b, a, n, _ = recall(small, root)
        print(f"  of which 256 px and smaller ({len(small)} photos): before {b}/{n}, after {a}/{n}")
