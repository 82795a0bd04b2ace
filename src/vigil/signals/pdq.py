"""PDQ: Meta's perceptual photo hash (256 bits as 64 hex), compared by Hamming distance.

The pipeline: bytes -> Pillow decode (size checked for bombs before any pixel is decoded; JPEGs decoded
in draft mode at 1/2, 1/4 or 1/8 scale) -> conversion of every Pillow mode to RGB -> box reduction of
other formats -> PDQ of the whole frame as stored, of the frame as displayed (EXIF orientation applied)
when that differs, and of the picture inside uniform bars if it has any (`border_crops`).

The signals of one image, in this order (`hash_image`):

1. one per border crop of the displayed frame, most trimmed first (none for most images);
2. the whole frame as DISPLAYED, only when the EXIF orientation tag turns or flips the image (2-8);
3. the whole frame as STORED, always, and always LAST: the pixels as they are in the file, without
   EXIF orientation, which is what the C++ reference (`pdq-photo-hasher`), python-threatexchange and
   HMA hash. `hash_image(data)[-1]` is the reference hash of the file; callers that keep one PDQ per
   image keep that one.

So a bank made by any reference tool matches (3), and a bank made by a tool that applies EXIF
orientation first (Vigil did until this version) matches (2).

Every signal carries 14 `variants` (`hash_rgb`): first the 7 dihedral hashes that the reference computes
from the DCT of the same pixels (`pdqhash.compute_dihedral`, C++ `--pdqdih` order: rotate 90, 180, 270,
flip x, flip y, flip +1, flip -1), then the hashes of the same 7 transforms applied to the PIXELS
(`PIXEL_TRANSFORMS`, same order). Why both? The reference's DCT-domain variants are not rotation
invariant: PDQ's box filter and sampling are not symmetric, and on small images (256x256 and under) a
rotated copy's hash lands 16-90 bits from the DCT variant. A transpose of the pixels is not: the pixel
variant of a rotated copy that undoes the rotation is the hash of the original's pixels.

Modes: P, 1, L, LA, La, I;16, I, F, CMYK, RGBA, PA, YCbCr... are converted to RGB with Pillow BEFORE any
reduction (Pillow's reduce refuses P and 1). Alpha is dropped (as pytx, which hashes the first three
channels). 16-bit and 32-bit integer and float images are clipped to 0-255 by Pillow's conversion, as
pytx does (pytx converts I;16 with `convert("RGB")`); the C++ reference (CImg) keeps the low byte of
16-bit PNGs instead, so for such images the references disagree with each other and Vigil follows pytx.
Palette images are hashed by their colours (pytx hashes the palette indices of P images, which is a
pytx bug). Animated GIF, PNG and WebP files are hashed by their first frame.

Why reduce? pdqhash's cost is proportional to the pixels it is given, yet PDQ keeps only a 64x64 blur
of them (two passes of a box filter per axis, then one sample per block). For a reduced image Vigil
computes that 64x64 blur itself, with the weights PDQ would apply to the full-size image folded onto the
reduced pixels, and hands the 64x64 result to pdqhash for the DCT. The hash stays within a few bits of
the full-size hash (bench/hash_throughput.py prints the distribution); images too small to be reduced
go to pdqhash whole and hash exactly as python-threatexchange does, and `hash_rgb(pixels)` (scale 1)
is exactly the reference's hash of those pixels.
"""

from __future__ import annotations

import io
import math
import warnings
from collections.abc import Callable
from functools import lru_cache
from itertools import islice
from pathlib import Path
from typing import Iterable

import numpy as np
import pdqhash
from PIL import Image, UnidentifiedImageError

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
EXIF_ORIENTATION = 0x0112

PIXEL_TRANSFORMS: tuple[tuple[str, Callable[[np.ndarray], np.ndarray]], ...] = (
    ("rotate90", lambda a: np.rot90(a, 1)),  # counter-clockwise, as Image.Transpose.ROTATE_90
    ("rotate180", lambda a: np.rot90(a, 2)),
    ("rotate270", lambda a: np.rot90(a, 3)),
    ("flipx", lambda a: a[::-1]),  # mirrored about the horizontal axis (upside down)
    ("flipy", lambda a: a[:, ::-1]),  # mirrored about the vertical axis (left-right)
    ("flipplus1", lambda a: a.swapaxes(0, 1)),  # transpose
    ("flipminus1", lambda a: np.rot90(a, 2).swapaxes(0, 1)),  # transverse
)
"""The 7 non-identity rotations and flips of the pixels, in the order (and with the meaning) of the
reference's dihedral hashes: PIXEL_TRANSFORMS[i] of an image hashes within a few bits of the DCT
dihedral hash i+1 of that image (checked in tests/media/test_rotations.py)."""

_EXIF_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
"""EXIF orientation -> the transpose that displays the stored pixels upright (as ImageOps.exif_transpose)."""


def hamming(a: str, b: str) -> int:
    """Bits that differ between two valid 64-hex PDQ hashes."""
    return (int(a, 16) ^ int(b, 16)).bit_count()


def decode_image(data: bytes) -> tuple[Image.Image, int, int]:
    """(RGB image as stored, reduced for hashing; its EXIF orientation 1-8; the reduction factor), or MediaError.

    Pillow only reads the header in Image.open, so the size is checked before any pixel is decoded.
    The orientation is read from the header and NOT applied: see `open_image` for the displayed image.
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
            orientation = _orientation(img)
            scale = reduction_factor(w, h)
            drafted = img.format == "JPEG" and scale > 1
            if drafted:
                img.draft("RGB", (math.ceil(w / scale), math.ceil(h / scale)))
                scale = round(w / img.size[0])
            img.load()  # the first frame of an animated GIF, PNG or WebP
            if img.mode != "RGB":
                img = img.convert("RGB")  # before reduce, which refuses modes P and 1
            if not drafted and scale > 1:
                img = img.reduce(scale)
            return img, orientation, scale
    except MediaError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        raise MediaError(f"refused as a likely decompression bomb: {e}") from None
    except UnidentifiedImageError:
        raise MediaError("corrupt or unsupported image: its header is not one Pillow can decode") from None
    except (OSError, SyntaxError, ValueError, EOFError, IndexError, TypeError, MemoryError) as e:
        raise MediaError(f"corrupt or truncated image: {e}") from None


def _orientation(img: Image.Image) -> int:
    try:
        value = img.getexif().get(EXIF_ORIENTATION, 1)
    except Exception:  # a malformed EXIF block does not make the picture unhashable
        return 1
    return value if isinstance(value, int) and value in _EXIF_TRANSPOSE else 1


def displayed(img: Image.Image, orientation: int) -> Image.Image:
    """The stored image turned and flipped as its EXIF orientation says it is shown."""
    method = _EXIF_TRANSPOSE.get(orientation)
    return img.transpose(method) if method is not None else img


def open_image(data: bytes) -> tuple[Image.Image, int]:
    """Decode to an upright (EXIF orientation applied) RGB image, reduced for hashing, and the reduction factor."""
    img, orientation, scale = decode_image(data)
    return displayed(img, orientation), scale


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
    start, step = 0, 8
    while start < limit:  # in growing chunks: the cost follows the bar, not the limit
        chunk = lines[start:min(start + step, limit)]
        deviation = np.abs(chunk.astype(np.int16) - colour).max(axis=2).mean(axis=1)
        beyond = np.flatnonzero(deviation > BORDER_MEAN_TOLERANCE)
        if beyond.size:
            return start + int(beyond[0])
        start, step = start + len(chunk), step * 2
    return 0


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


def _luma(rgb: np.ndarray) -> np.ndarray:
    return rgb[..., 0] * np.float32(0.299) + rgb[..., 1] * np.float32(0.587) + rgb[..., 2] * np.float32(0.114)


def _grey(blur: np.ndarray) -> np.ndarray:
    """A 64x64 float luma as the grey RGB uint8 image pdqhash takes (PDQ leaves a 64x64 input as it is)."""
    grey = np.clip(np.rint(blur), 0, 255).astype(np.uint8)
    return np.repeat(grey[..., None], 3, axis=2)


def _downsampled(luma: np.ndarray, scale: int) -> np.ndarray:
    """PDQ's 64x64 luma for the full-size image of which `luma` is a 1/scale reduction, as RGB uint8 for pdqhash."""
    h, w = luma.shape
    return _grey(_pdq_weights(h, scale) @ luma @ _pdq_weights(w, scale).T)


def pdq_downsample(rgb: np.ndarray, scale: int) -> np.ndarray:
    """PDQ's 64x64 luma for the full-size image of which `rgb` is a 1/scale reduction."""
    h, w = rgb.shape[:2]
    return _pdq_weights(h, scale) @ _luma(rgb) @ _pdq_weights(w, scale).T


def hash_rgb(rgb: np.ndarray, scale: int = 1, *, dihedral: bool = True) -> Signal:
    """PDQ of an RGB array that is a 1/scale reduction of the image, with its quality.

    With `dihedral`, the signal's 14 variants are the reference's 7 DCT-domain dihedral hashes, then the
    hashes of the 7 PIXEL_TRANSFORMS of the pixels (`turned_hashes`). At scale 1 the value is exactly
    pdqhash's (the C++ reference's) hash of these pixels.
    """
    rgb = np.asarray(rgb)
    luma = _luma(rgb) if scale > 1 or dihedral else None
    pixels = _downsampled(luma, scale) if scale > 1 else np.ascontiguousarray(rgb, dtype=np.uint8)
    if not dihedral:
        vector, quality = pdqhash.compute(pixels)
        return Signal("pdq", _hex(vector), int(quality))
    vectors, quality = pdqhash.compute_dihedral(pixels)
    hashes = [_hex(v) for v in vectors]
    return Signal("pdq", hashes[0], int(quality), tuple(hashes[1:] + turned_hashes(luma, scale)))


def turned_hashes(luma: np.ndarray, scale: int = 1) -> list[str]:
    """PDQ hashes of the 7 PIXEL_TRANSFORMS of an image (luma of a 1/scale reduction), in that order.

    Each is PDQ's 64x64 blur of the turned image, computed by matrix products as for reduced images, then
    PDQ's DCT and median split (`_dct_hash`) in float: at scale 1 the reference's hash of the turned
    pixels (bit for bit on the reference photos; float rounding could flip a coefficient that sits on
    the median). Only four blurs are needed: turning by 90 degrees or transposing the image transposes its
    64x64 blur exactly (the weights of an axis depend only on its length), and so its 16x16 DCT.
    """
    h, w = luma.shape
    rows, cols = _pdq_weights(h, scale), _pdq_weights(w, scale)
    ahead, mirrored = luma @ cols.T, luma @ cols[:, ::-1].T  # columns as they are, and left-right mirrored
    upside = rows[:, ::-1]
    same, flip_y, flip_x, rotate180 = (_DCT @ blur @ _DCT.T for blur in (
        rows @ ahead, rows @ mirrored, upside @ ahead, upside @ mirrored))
    return [_dct_hash(c) for c in (flip_y.T, rotate180, flip_x.T, flip_x, flip_y, same.T, rotate180.T)]


_DCT = np.sqrt(2 / PDQ_SIDE) * np.cos(np.pi / 2 / PDQ_SIDE * np.arange(1, 17)[:, None] * (2 * np.arange(PDQ_SIDE)[None, :] + 1))
"""PDQ's 16x64 DCT matrix (pdqhashing.cpp, dct_matrix_64): the 16 lowest frequencies but the constant one."""


def _dct_hash(coefficients: np.ndarray) -> str:
    """PDQ's hash of 16x16 DCT coefficients: bit i*16+j is set when coefficient [i][j] exceeds the median
    (Torben's, the 128th smallest of 256), written as pdqhash writes it (bit 255 first)."""
    flat = coefficients.ravel()
    return np.packbits((flat > np.partition(flat, 127)[127])[::-1]).tobytes().hex()


def hash_image(data: bytes) -> list[Signal]:
    """PDQ signals of an image file's bytes: border crops, the displayed frame if EXIF turns it, and the
    stored frame LAST (the reference's hash of the file); see the module docstring."""
    stored, orientation, scale = decode_image(data)
    upright = displayed(stored, orientation)
    rgb = np.asarray(upright)
    signals = [hash_rgb(crop, scale) for crop in reversed(border_crops(rgb))]
    if upright is not stored:
        signals.append(hash_rgb(rgb, scale))
    signals.append(hash_rgb(np.asarray(stored), scale))
    return signals


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
            "e64cc9d91c623842f8d1f1d9a398e78c9f199b3bd83924f2b7e11e0bf861b064",
            "6227401f601ff4ccafcc9fad4b0d95d371a2eb7265a3285234d228ca94deeb2d",
        ]


PDQ = PdqSignal()
