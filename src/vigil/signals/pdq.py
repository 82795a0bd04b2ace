"""PDQ: Meta's perceptual photo hash (256 bits as 64 hex), compared by Hamming distance.

The pipeline: bytes -> Pillow decode (size checked for bombs before any pixel is decoded; JPEGs decoded
in draft mode at 1/2, 1/4 or 1/8 scale, other formats box-reduced) -> EXIF orientation -> PDQ of the
whole frame, and of the picture inside uniform bars if it has any (`border_crops`).

Why reduce? pdqhash's cost is proportional to the pixels it is given, yet PDQ keeps only a 64x64 blur
of them (two passes of a box filter per axis, then one sample per block). For a reduced image Vigil
computes that 64x64 blur itself, with the weights PDQ would apply to the full-size image folded onto the
reduced pixels, and hands the 64x64 result to pdqhash for the DCT. The hash stays within a few bits of
the full-size hash (bench/hash_throughput.py prints the distribution); images too small to be reduced
go to pdqhash whole and hash exactly as python-threatexchange does.
"""

from __future__ import annotations

import io
import math
import warnings
from functools import lru_cache
from itertools import islice
from pathlib import Path
from typing import Iterable

import numpy as np
import pdqhash
from PIL import Image, ImageOps, UnidentifiedImageError

from vigil.index.pdq import PDQIndex, hashes_to_words
from vigil.signals.base import MediaError, Signal, validate_hex

PDQ_THRESHOLD = 31
"""Hamming distance at or below which two PDQ hashes match (PDQ hashing paper; pytx PDQ_CONFIDENT_MATCH_THRESHOLD)."""
QUALITY_FLOOR = 50
"""Hashes of quality below this are too unreliable to match (PDQ documentation; pytx PdqSignal.QUALITY_THRESHOLD)."""
MAX_IMAGE_PIXELS = 89_478_485
"""Larger images are refused as likely decompression bombs (Pillow's own DecompressionBombWarning limit)."""
MAX_IMAGE_BYTES = 256 * 1024 * 1024
"""Image files are read whole to be decoded; larger ones are refused rather than loaded into memory."""
REDUCED_SHORT_SIDE = 192
"""Images are reduced by 2, 4 or 8 while their short side stays at least this (three samples per PDQ
block), which keeps the hash within a few bits of the full-size hash."""
PDQ_SIDE = 64
"""PDQ's downsampled image is 64x64 (PDQ hashing paper, section 'Downsampling')."""
BORDER_TOLERANCE = 12
"""Largest per-channel difference (0-255) from the bar colour for the outermost line to count as a bar;
small, so that smooth gradients at an edge are not mistaken for bars."""
BORDER_MEAN_TOLERANCE = 24
"""Mean difference from the bar colour up to which further lines still count as bar: the lines where a bar
meets the picture carry JPEG ringing, and PDQ moves 5-10 bits per line of bar left behind."""
MAX_BORDER_SHARE = 0.4
"""A bar covers less than this share of its side; a longer uniform run is the picture, not a bar."""
MAX_BORDER_STEPS = 4
_BUILD_PAGE = 50_000
"""Rows, columns, rows, columns: enough for bars on every side around a picture with flat margins."""


def hamming(a: str, b: str) -> int:
    """Bits that differ between two valid 64-hex PDQ hashes."""
    return (int(a, 16) ^ int(b, 16)).bit_count()


def open_image(data: bytes) -> tuple[Image.Image, int]:
    """Decode to an upright RGB image, reduced for hashing, and the reduction factor; MediaError if it cannot be.

    Pillow only reads the header in Image.open, so the size is checked before any pixel is decoded.
    """
    if not data:
        raise MediaError("empty file (0 bytes): nothing to hash")
    if len(data) > MAX_IMAGE_BYTES:
        raise MediaError(_too_big(len(data)))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
            w, h = img.size
            if w <= 0 or h <= 0:
                raise MediaError(f"image has no pixels ({w}x{h})")
            if w * h > MAX_IMAGE_PIXELS:
                raise MediaError(_bomb_message(w, h))
            scale = reduction_factor(w, h)
            if img.format == "JPEG" and scale > 1:
                img.draft("RGB", (math.ceil(w / scale), math.ceil(h / scale)))
                scale = round(w / img.size[0])
            img.load()
            if img.format != "JPEG" and scale > 1:
                img = img.reduce(scale)
            img = ImageOps.exif_transpose(img)
            return (img if img.mode == "RGB" else img.convert("RGB")), scale
    except MediaError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        raise MediaError(f"refused as a likely decompression bomb: {e}") from None
    except UnidentifiedImageError:
        raise MediaError("corrupt or unsupported image: its header is not one Pillow can decode") from None
    except (OSError, SyntaxError, ValueError, EOFError, IndexError, TypeError, MemoryError) as e:
        raise MediaError(f"corrupt or truncated image: {e}") from None


def read_image(path: str | Path) -> bytes:
    """An image file's bytes, refusing files over MAX_IMAGE_BYTES before reading them."""
    size = Path(path).stat().st_size
    if size > MAX_IMAGE_BYTES:
        raise MediaError(_too_big(size))
    return Path(path).read_bytes()


def _too_big(size: int) -> str:
    return f"image file of {size / 2**20:,.0f} MiB exceeds the {MAX_IMAGE_BYTES // 2**20} MiB limit for images"


def _bomb_message(w: int, h: int) -> str:
    return f"image of {w}x{h} = {w * h:,} pixels exceeds the {MAX_IMAGE_PIXELS:,} pixel limit (likely a decompression bomb)"


def reduction_factor(w: int, h: int) -> int:
    """The largest of 8, 4, 2 that keeps the short side at least REDUCED_SHORT_SIDE, else 1."""
    for scale in (8, 4, 2):
        if min(w, h) // scale >= REDUCED_SHORT_SIDE:
            return scale
    return 1


def border_crops(rgb: np.ndarray) -> list[np.ndarray]:
    """The picture with bars of one colour cut off its edges (letterbox, pillarbox, frames), step by step.

    Re-uploads often add bars, and plain PDQ hashes the bars with the picture. A bar starts with an edge
    line of one colour and runs while lines stay close to it, up to MAX_BORDER_SHARE of the side. Rows
    are cut first, then columns, then rows again...: each step that cuts something adds a crop, the
    outermost first. Why every step and not just the last? A picture may have flat margins of its own,
    and then only the step that removes the added bars gives back the frame the original was hashed in.
    Most images have no uniform edge line, cost four line checks, and give no crop.
    """
    crops: list[np.ndarray] = []
    idle = 0
    for step in range(MAX_BORDER_STEPS):
        h, w = rgb.shape[:2]
        lines = rgb if step % 2 == 0 else rgb.transpose(1, 0, 2)
        limit = int(len(lines) * MAX_BORDER_SHARE)
        start, end = _bar(lines, limit), _bar(lines[::-1], limit)
        if start + end == 0:
            idle += 1
            if idle == 2:
                break
            continue
        idle = 0
        rgb = rgb[start:h - end] if step % 2 == 0 else rgb[:, start:w - end]
        crops.append(rgb)
    return crops


def _bar(lines: np.ndarray, limit: int) -> int:
    """How many leading lines of `lines` (lines, pixels, 3) are bar: the first uniform, the rest close to its colour.

    A run reaching `limit` is not a bar but a flat picture (or a flat part of one), and counts as none.
    """
    first = lines[0].astype(np.int16)
    colour = np.median(first, axis=0).astype(np.int16)
    if limit == 0 or np.abs(first - colour).max() > BORDER_TOLERANCE:
        return 0
    deviation = np.abs(lines[:limit].astype(np.int16) - colour).max(axis=2).mean(axis=1)
    beyond = np.flatnonzero(deviation > BORDER_MEAN_TOLERANCE)
    return int(beyond[0]) if beyond.size else 0


def _hex(bits: np.ndarray) -> str:
    return np.packbits(bits.astype(np.uint8)).tobytes().hex()


@lru_cache(maxsize=256)
def _pdq_weights(n: int, scale: int) -> np.ndarray:
    """(64, n) weights giving PDQ's 64 samples along an axis of n reduced pixels, each the mean of `scale` full-size pixels.

    PDQ blurs each axis of the full-size image (N = n * scale pixels) twice with a box of
    ceil(N / 128) pixels, clipped and renormalised at the edges, then samples pixel (i + 0.5) * N / 64.
    The product of the two passes at those 64 samples is a tent per sample; summing it over each group
    of `scale` full-size pixels gives the weight of the reduced pixel that averages them.
    """
    big = n * scale
    window = -(-big // (2 * PDQ_SIDE))
    reach_back, reach_ahead = window - (window + 2) // 2, (window + 2) // 2 - 1
    idx = np.arange(big)
    lo, hi = np.maximum(idx - reach_back, 0), np.minimum(idx + reach_ahead, big - 1)
    count = hi - lo + 1
    samples = ((np.arange(PDQ_SIDE) + 0.5) * big / PDQ_SIDE).astype(np.int64)
    diff = np.zeros((PDQ_SIDE, big + 1))
    for row, s in enumerate(samples):
        inner = np.arange(lo[s], hi[s] + 1)
        share = 1.0 / (count[s] * count[inner])
        np.add.at(diff[row], lo[inner], share)
        np.add.at(diff[row], hi[inner] + 1, -share)
    weights = np.cumsum(diff[:, :big], axis=1)
    return weights.reshape(PDQ_SIDE, n, scale).sum(axis=2).astype(np.float32)


def pdq_downsample(rgb: np.ndarray, scale: int) -> np.ndarray:
    """PDQ's 64x64 luma for the full-size image of which `rgb` is a 1/scale reduction."""
    y = rgb[..., 0] * np.float32(0.299) + rgb[..., 1] * np.float32(0.587) + rgb[..., 2] * np.float32(0.114)
    h, w = y.shape
    return _pdq_weights(h, scale) @ y @ _pdq_weights(w, scale).T


def hash_rgb(rgb: np.ndarray, scale: int = 1, *, dihedral: bool = True) -> Signal:
    """PDQ (with quality and, if asked, the 7 other dihedral hashes) of an RGB array that is a 1/scale reduction of the image."""
    if scale > 1:
        grey = np.clip(np.rint(pdq_downsample(rgb, scale)), 0, 255).astype(np.uint8)
        rgb = np.repeat(grey[..., None], 3, axis=2)
    rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
    if not dihedral:
        vector, quality = pdqhash.compute(rgb)
        return Signal("pdq", _hex(vector), int(quality))
    vectors, quality = pdqhash.compute_dihedral(rgb)
    hashes = [_hex(v) for v in vectors]
    return Signal("pdq", hashes[0], int(quality), tuple(hashes[1:]))


def hash_image(data: bytes) -> list[Signal]:
    """PDQ signals of an image file's bytes: the whole frame, preceded (when the image has uniform bars)
    by each border crop, most trimmed first; banks built by Vigil hold the same set, and bank hashes made
    elsewhere (of the whole frame) still match."""
    img, scale = open_image(data)
    rgb = np.asarray(img)
    return [hash_rgb(crop, scale) for crop in reversed(border_crops(rgb))] + [hash_rgb(rgb, scale)]


class PdqSignal:
    """The `pdq` signal type: see the module docstring."""

    name = "pdq"
    content_types = ("photo",)
    default_threshold = PDQ_THRESHOLD
    metric = True

    def validate(self, value: str) -> str:
        return validate_hex(value, length=64, name=self.name)

    def distance(self, query: str, candidate: str) -> int:
        return hamming(self.validate(query), self.validate(candidate))

    def hash_bytes(self, data: bytes) -> list[Signal]:
        return hash_image(data)

    def hash_path(self, path: Path) -> list[Signal]:
        return hash_image(read_image(path))

    def build_index(self, entries: Iterable[tuple[int, str]]) -> PDQIndex:
        """The exact multi-index (vigil.index.pdq), built page by page: ten million hex strings at once would
        hold over a gigabyte of Python objects."""
        ids, words = [], []
        it = iter(entries)
        while page := list(islice(it, _BUILD_PAGE)):
            ids.append(np.fromiter((entry_id for entry_id, _ in page), dtype=np.int64, count=len(page)))
            words.append(hashes_to_words([value for _, value in page]))
        if not ids:
            return PDQIndex.build(np.zeros((0, 4), np.uint64), np.zeros(0, np.int64))
        return PDQIndex.build(np.concatenate(words), np.concatenate(ids))

    def dedupe_key(self, value: str) -> str:
        return value

    def examples(self) -> list[str]:
        return [
            "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22",
            "e64cc9d91c623882f8d1f1d9a398e78c9f199b3bd83924f2b7e11e0bf861b064",
            "6227401f601ff4ccafcc9fad4b0d95d371a2eb7265a3285234d228ca94deeb2d",
        ]


PDQ = PdqSignal()
