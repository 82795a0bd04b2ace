"""vpdq: a video as vPDQ hashes it, the PDQ of one whole frame per second, matched as vPDQ matches.

Hashing (vPDQ's reference implementation, facebook/ThreatExchange `vpdq/cpp/vpdq/cpp/hashing/
filehasher.cpp`, `ffmpegwrapper.cpp`, `hasher.h`, `pdqbufferhasher.cpp`; the Python binding
`vpdq.computeHash` and pytx's `VPDQSignal.hash_from_file` call the same code):

* frames are counted as the decoder returns them, from 0; the frame rate is the stream's average frame
  rate (`avg_frame_rate`, else `r_frame_rate`); with seconds_per_hash = 1 every
  `int(seconds_per_hash * frame rate)`-th frame is hashed (at least every frame): frames 0, 30, 60...
  of a 30 fps video, 0, 29, 58... of a 29.97 fps one;
* each hashed frame is converted to RGB24 at the video's own size (swscale, SWS_AREA; no resize) and
  PDQ-hashed WHOLE: luma from RGB, PDQ on the full-size luma, no border trimming;
* its timestamp is frame number / frame rate (seconds).

On the 14 sample videos of the reference, Vigil's frame hashes are bit-identical to those of vpdq 0.2.5
built against this machine's FFmpeg, and within a few bits of `vpdq/sample-hashes` (which an older
FFmpeg made).

Letterbox robustness is EXTRA: when some hashed frame has uniform bars (`pdq.border_crops`), the
signal's `variants` holds one more value, the same frames hashed inside their bars (a frame without
bars keeps its whole-frame hash, so both lists have the same frames and timestamps). The value itself is
always the reference hash; the variant is for matching a letterboxed query against a bank that holds the
clean video. Banks hold only values (reference hashes, from vPDQ, pytx, HMA or Vigil), never trimmed
lists, so the variant is used from the query side only, and only where the bank opts in, as with PDQ's
dihedral variants: a matcher compares `[signal.value, *signal.variants]` with each bank value and keeps
the best. `compare` on two values is the reference's decision and never looks at variants.

Value format ("vigil video PDQ", documented here because banks carry it as text): one entry per hashed
frame, in order, separated by ";", each `<64 hex PDQ>:<quality 0-100>:<timestamp>`, the timestamp in
seconds to the microsecond without trailing zeros, e.g. `f8f8...9b22:87:0;e64c...b064:90:1;...:90:2.002`.
No commas, so it travels through CSV unquoted. Values written before timestamps were added
(`<hex>:<quality>`) are still read, with one second per frame.
`to_pytx` / `from_pytx` convert to and from python-threatexchange's `vpdq` signal string (a JSON list of
"hex,quality,timestamp" strings), which HMA also uses. pytx writes timestamps with 3 significant digits
(`f"{t:.3}"`: 1.94, 1e+02), so a pytx value comes back from Vigil byte for byte, while a Vigil value
written for pytx keeps its hashes and qualities and loses timestamp digits beyond pytx's three.

Matching follows python-threatexchange's `VPDQSignal.compare_hash` (`extensions/vpdq/vpdq_brute_matcher.py`,
`match_VPDQ_hash_brute`): each side's frames are deduplicated by hash (first occurrence kept), then frames of
quality below 50 are dropped; a frame matches when some frame of the other side is within Hamming
distance 31 (`<=`); the query share is the matched share of the query's frames, the candidate share the
same the other way; the videos match when the query share is at least 80 % (and the candidate share at
least 0 %). vPDQ's README describes the same on unique frames with `<= D`, but puts the 80 % on the
compared video; the C++ `matchTwoHash.cpp` uses `< 31` and no dedupe. The pytx rule is the one HMA runs,
and on the 196 ordered pairs of the sample videos the three give the same decisions.
`distance` is 100 minus the whole percentage of query frames that match, so a match is
`distance <= default_threshold` (20) like every other signal type. It is not symmetric: a clip matches
the full video it was cut from, not the other way round.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Iterable

import numpy as np
import pdqhash
from PIL import Image

from vigil.index.video import VideoIndex
from vigil.signals.base import InvalidSignal, MediaError, Signal
from vigil.signals.pdq import PDQ_THRESHOLD, QUALITY_FLOOR, border_crops, hash_rgb, reduction_factor

MATCH_SHARE = 0.8
"""Share of query frames that must match for the video to match (pytx VPDQ_QUERY_MATCH_THRESHOLD_PERCENT, 80 %)."""
SECONDS_PER_HASH = 1.0
"""One hashed frame per second of video (vPDQ's and pytx's default seconds_per_hash)."""
MAX_FRAMES = 4 * 3600
"""Most hashed frames in one value: four hours at one frame per second."""
MAX_DECODED_FRAMES = 200_000
"""Default budget of frames DECODED (every frame is decoded, one per second hashed): 1 h 50 min at 30 fps."""
MAX_DECODE_SECONDS = 120.0
"""Default wall-time budget for decoding and hashing one video."""
MAX_FRAME_PIXELS = 8192 * 4320
"""Largest frame decoded (8K); bigger frames are refused as likely bombs."""
PYTX_TIMESTAMP_PRECISION = 3
"""pytx writes timestamps with 3 significant digits (`f"{t:.3}"`, VPDQ_TIMESTAMP_PRECISION)."""
_now = time.monotonic
"""The clock of the decoding time budget."""
_FRAME = re.compile(r"([0-9a-f]{64}):(\d{1,3})(?::(\d{1,9}(?:\.\d{1,6})?))?")


@dataclass(frozen=True)
class Frame:
    pdq: str
    quality: int
    timestamp: float = 0.0
    """Seconds from the start of the video (frame number / frame rate)."""


@dataclass(frozen=True)
class VideoComparison:
    query_share: float
    """Share of the query's unique usable frames within the threshold of some candidate frame."""
    candidate_share: float
    """The same, the other way round."""

    def matches(self, match_share: float = MATCH_SHARE) -> bool:
        return self.query_share >= match_share


def encode(frames: list[Frame]) -> str:
    """The text value of a list of frames."""
    return ";".join(f"{f.pdq}:{f.quality}:{_seconds(f.timestamp)}" for f in frames)


def _seconds(t: float) -> str:
    """Seconds to the microsecond, without trailing zeros: 0, 1, 0.033333, 1.94."""
    return f"{t:.6f}".rstrip("0").rstrip(".")


def decode(value: str) -> list[Frame]:
    """Frames of a vpdq value; InvalidSignal saying which frame is wrong."""
    if not isinstance(value, str):
        raise InvalidSignal(f"vpdq value must be a string, got {type(value).__name__}")
    parts = value.strip().lower().split(";")
    if len(parts) > MAX_FRAMES:
        raise InvalidSignal(f"vpdq value has {len(parts)} frames; the limit is {MAX_FRAMES}")
    frames = []
    for i, part in enumerate(parts):
        m = _FRAME.fullmatch(part.strip())
        if not m:
            raise InvalidSignal(f"vpdq frame {i + 1} must be <64 hex>:<quality>:<seconds>, got {part[:80]!r}")
        quality = int(m.group(2))
        if quality > 100:
            raise InvalidSignal(f"vpdq frame {i + 1} has quality {quality}; it must be 0-100")
        timestamp = float(m.group(3)) if m.group(3) is not None else float(i) * SECONDS_PER_HASH
        frames.append(Frame(m.group(1), quality, timestamp))
    return frames


def usable_frames(value: str) -> list[str]:
    """The frame hashes pytx's matcher compares: unique hashes (first occurrence), then quality >= QUALITY_FLOOR."""
    return _usable(decode(value))


def _usable(frames: list[Frame]) -> list[str]:
    seen: set[str] = set()
    usable = []
    for f in frames:
        if f.pdq not in seen:
            seen.add(f.pdq)
            if f.quality >= QUALITY_FLOOR:
                usable.append(f.pdq)
    return usable


def to_pytx(value: str) -> str:
    """The value as python-threatexchange's `vpdq` signal string (`vpdq_util.vpdq_to_json`), byte for byte."""
    return json.dumps([f"{f.pdq},{f.quality},{f.timestamp:.{PYTX_TIMESTAMP_PRECISION}}" for f in decode(value)])


def from_pytx(text: str) -> str:
    """A python-threatexchange / HMA `vpdq` signal string as a vpdq value; InvalidSignal if malformed.

    Checks what pytx's `VpdqCompactFeature.from_str` checks: three fields, 64 hex, quality 0-100, timestamp >= 0.
    """
    try:
        items = json.loads(text) if isinstance(text, str) else None
    except json.JSONDecodeError as e:
        raise InvalidSignal(f"vpdq value is not JSON: {e.msg}") from None
    if not isinstance(items, list) or not items:
        raise InvalidSignal("vpdq value must be a non-empty JSON list of \"hash,quality,timestamp\" strings")
    if len(items) > MAX_FRAMES:
        raise InvalidSignal(f"vpdq value has {len(items)} frames; the limit is {MAX_FRAMES}")
    frames = []
    for i, item in enumerate(items):
        parts = item.split(",") if isinstance(item, str) else []
        try:
            pdq, quality, timestamp = parts[0].strip().lower(), int(parts[1]), float(parts[2])
            if len(parts) != 3 or not re.fullmatch(r"[0-9a-f]{64}", pdq) or not 0 <= quality <= 100:
                raise ValueError
            if not (math.isfinite(timestamp) and timestamp >= 0):
                raise ValueError
        except (ValueError, IndexError):
            raise InvalidSignal(f"vpdq frame {i + 1} must be \"<64 hex>,<quality 0-100>,<seconds>\", got {str(item)[:90]!r}") from None
        frames.append(Frame(pdq, quality, timestamp))
    return encode(frames)


def _words(frames: list[Frame]) -> np.ndarray:
    """The usable frames (see usable_frames) as rows of four 64-bit words."""
    usable = _usable(frames)
    if not usable:
        return np.zeros((0, 4), np.uint64)
    return np.frombuffer(bytes.fromhex("".join(usable)), dtype=">u8").astype(np.uint64).reshape(-1, 4)


def _share_matched(a: np.ndarray, b: np.ndarray, threshold: int) -> float:
    """Share of rows of a within `threshold` bits of some row of b (chunked to bound memory)."""
    if len(a) == 0 or len(b) == 0:
        return 0.0
    hit = 0
    for start in range(0, len(a), 256):
        chunk = a[start:start + 256]
        dist = np.bitwise_count(chunk[:, None, :] ^ b[None, :, :]).sum(axis=2)
        hit += int((dist.min(axis=1) <= threshold).sum())
    return hit / len(a)


def compare(query: str, candidate: str, frame_threshold: int = PDQ_THRESHOLD) -> VideoComparison:
    """How much of each video is found in the other, frame by frame (pytx's rule: see the module docstring)."""
    q, c = _words(decode(query)), _words(decode(candidate))
    return VideoComparison(_share_matched(q, c, frame_threshold), _share_matched(c, q, frame_threshold))


def hash_video(
    source: str | Path | BinaryIO,
    *,
    seconds_per_hash: float = SECONDS_PER_HASH,
    max_decoded_frames: int = MAX_DECODED_FRAMES,
    max_seconds: float = MAX_DECODE_SECONDS,
) -> Signal:
    """Decode a video and PDQ-hash its frames as vPDQ does; MediaError for anything that cannot be.

    `seconds_per_hash` is vPDQ's: 1 hashes one frame per second, 0 every frame.

    Every frame is decoded (the codec needs them) and counted against `max_decoded_frames`; decoding
    stops with MediaError when that many frames have been decoded or after `max_seconds` of wall time.
    The signal's quality is the median frame quality: one black frame does not make a video unusable.
    Its variants hold the letterbox-trimmed frames when some frame has bars (see the module docstring).
    """
    import av

    if seconds_per_hash < 0:
        raise ValueError("seconds_per_hash must be 0 (every frame) or more")
    try:
        with av.open(source if not isinstance(source, Path) else str(source), mode="r") as container:
            if not container.streams.video:
                raise MediaError("no video stream in this file")
            stream = container.streams.video[0]
            width, height = stream.codec_context.width, stream.codec_context.height
            if width * height > MAX_FRAME_PIXELS:
                raise MediaError(_bomb_message(width, height))
            rate = stream.average_rate or stream.base_rate or stream.guessed_rate
            if not rate:
                raise MediaError("the video stream has no frame rate, so frames cannot be sampled per second")
            stream.thread_type = "AUTO"
            whole, trimmed = _sample(container, stream, float(rate), seconds_per_hash, max_decoded_frames, max_seconds)
    except MediaError:
        raise
    except (av.error.FFmpegError, OSError, ValueError, EOFError, MemoryError) as e:
        reason = getattr(e, "strerror", None) or str(e)
        raise MediaError(f"corrupt, truncated or unsupported video: {reason}") from None
    if not whole:
        raise MediaError("no decodable frames in this video")
    quality = sorted(f.quality for f in whole)[len(whole) // 2]
    variants = (encode(trimmed),) if trimmed != whole else ()
    return Signal("vpdq", encode(whole), quality, variants)


def _bomb_message(w: int, h: int) -> str:
    return f"video frames of {w}x{h} exceed the {MAX_FRAME_PIXELS:,} pixel limit (likely a decompression bomb)"


def _pdq(rgb: np.ndarray) -> tuple[str, int]:
    vector, quality = pdqhash.compute(np.ascontiguousarray(rgb))
    return np.packbits(vector.astype(np.uint8)).tobytes().hex(), int(quality)


def _trimmed(rgb: np.ndarray, timestamp: float) -> Frame | None:
    """The frame's picture inside its bars, if it has bars, found and hashed on the frame box-reduced as images
    are (`pdq.hash_image`): within a few bits of the full-size hash, for the extra letterbox list only."""
    scale = reduction_factor(rgb.shape[1], rgb.shape[0])
    small = np.asarray(Image.fromarray(rgb).reduce(scale)) if scale > 1 else rgb
    crops = border_crops(small)
    if not crops:
        return None
    signal = hash_rgb(crops[-1], scale, dihedral=False)
    return Frame(signal.value, signal.quality or 0, timestamp)


def _sample(container, stream, rate: float, seconds_per_hash: float, max_decoded: int,
            max_seconds: float) -> tuple[list[Frame], list[Frame]]:
    """(whole-frame hashes, the same with bars trimmed) of every `int(seconds_per_hash * rate)`-th decoded frame."""
    every = max(1, int(seconds_per_hash * rate))
    rate32 = np.float32(rate)
    deadline = _now() + max_seconds
    width, height = stream.codec_context.width, stream.codec_context.height
    whole: list[Frame] = []
    trimmed: list[Frame] = []
    for index, frame in enumerate(container.decode(stream)):
        if index >= max_decoded:
            raise MediaError(f"video decoding stopped after {max_decoded:,} frames, the limit for one video")
        if _now() > deadline:
            raise MediaError(f"video decoding stopped after {max_seconds:g} s, the time limit for one video "
                             f"({index:,} frames decoded)")
        if frame.width * frame.height > MAX_FRAME_PIXELS:
            raise MediaError(_bomb_message(frame.width, frame.height))
        if index % every:
            continue
        if len(whole) >= MAX_FRAMES:
            raise MediaError(f"video has more than {MAX_FRAMES:,} frames to hash, the limit for one video")
        if (frame.width, frame.height) == (width, height) or not width or not height:
            rgb = frame.to_ndarray(format="rgb24")
        else:  # vPDQ scales every frame to the stream's size
            rgb = frame.to_ndarray(format="rgb24", width=width, height=height, interpolation="AREA")
        timestamp = float(np.float32(index) / rate32)
        pdq, quality = _pdq(rgb)
        whole.append(Frame(pdq, quality, timestamp))
        trimmed.append(_trimmed(rgb, timestamp) or whole[-1])
    return whole, trimmed


class VpdqSignal:
    """The `vpdq` signal type: see the module docstring."""

    name = "vpdq"
    content_types = ("video",)
    default_threshold = round(100 * (1 - MATCH_SHARE))
    metric = False  # a clip matches the video it was cut from, not the other way round

    def validate(self, value: str) -> str:
        """Vigil's `hash:quality:seconds;...` or pytx's / HMA's JSON list, as Vigil's value."""
        if isinstance(value, str) and value.lstrip().startswith("["):
            return from_pytx(value)
        return encode(decode(value))

    def distance(self, query: str, candidate: str) -> int:
        """100 minus the whole percentage of query frames matched: <= 20 exactly when pytx's 80 % holds."""
        return 100 - math.floor(compare(query, candidate).query_share * 100 + 1e-9)

    def hash_bytes(self, data: bytes) -> list[Signal]:
        import io

        if not data:
            raise MediaError("empty file (0 bytes): nothing to hash")
        return [hash_video(io.BytesIO(data))]

    def hash_path(self, path: Path) -> list[Signal]:
        if Path(path).stat().st_size == 0:
            raise MediaError("empty file (0 bytes): nothing to hash")
        return [hash_video(Path(path))]

    def build_index(self, entries: Iterable[tuple[int, str]]) -> VideoIndex:
        index = VideoIndex(usable_frames, MATCH_SHARE)
        for entry_id, value in entries:
            index.add(entry_id, value)
        return index

    def dedupe_key(self, value: str) -> str:
        return hashlib.sha256(value.encode()).hexdigest()

    def examples(self) -> list[str]:
        from vigil.signals.pdq import PDQ

        a, b, c = PDQ.examples()
        return [encode([Frame(a, 90, 0.0), Frame(b, 80, 1.0), Frame(c, 100, 2.0)]), encode([Frame(b, 75, 0.0)])]


VPDQ = VpdqSignal()
