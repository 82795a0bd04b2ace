"""video_pdq: a video as the PDQ hashes of one frame per second, matched as in vPDQ.

Value format ("vigil video PDQ", documented here because banks carry it as text): one entry per sampled
second, in order, separated by ";", each `<64 hex PDQ>:<quality 0-100>`, e.g.
`f8f8...9b22:87;e64c...b064:90`. No commas, so it travels through CSV unquoted.

Matching (as vPDQ): frames of quality below the PDQ floor are ignored on both sides; a query frame
matches if some frame of the candidate is within the PDQ threshold; the video matches when the share
of matching query frames reaches MATCH_SHARE. `distance` is the percentage of query frames that do
not match, so a match is `distance <= default_threshold` like every other signal type. It is not
symmetric: a clip matches the full video it was cut from, not the other way round.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Iterable

import numpy as np

from vigil.index.video import VideoIndex
from vigil.signals.base import InvalidSignal, MediaError, Signal
from vigil.signals.pdq import PDQ_THRESHOLD, QUALITY_FLOOR, border_crops, hash_rgb, reduction_factor

MATCH_SHARE = 0.8
"""Share of query frames that must match for the video to match (vPDQ's default match percentage, 80%)."""
FRAMES_PER_SECOND = 1
"""Sampling rate (vPDQ hashes one frame per second by default)."""
MAX_FRAMES = 4 * 3600
"""Longest video hashed: four hours at one frame per second; longer input is refused rather than cut."""
MAX_FRAME_PIXELS = 8192 * 4320
"""Largest frame decoded (8K); bigger frames are refused as likely bombs."""
_FRAME = re.compile(r"([0-9a-f]{64}):(\d{1,3})")


@dataclass(frozen=True)
class Frame:
    pdq: str
    quality: int


@dataclass(frozen=True)
class VideoComparison:
    query_share: float
    """Share of the query's usable frames within the threshold of some candidate frame."""
    candidate_share: float
    """The same, the other way round."""

    def matches(self, match_share: float = MATCH_SHARE) -> bool:
        return self.query_share >= match_share


def encode(frames: list[Frame]) -> str:
    """The text value of a list of frames."""
    return ";".join(f"{f.pdq}:{f.quality}" for f in frames)


def decode(value: str) -> list[Frame]:
    """Frames of a video_pdq value; InvalidSignal saying which frame is wrong."""
    if not isinstance(value, str):
        raise InvalidSignal(f"video_pdq value must be a string, got {type(value).__name__}")
    parts = value.strip().lower().split(";")
    if len(parts) > MAX_FRAMES:
        raise InvalidSignal(f"video_pdq value has {len(parts)} frames; the limit is {MAX_FRAMES}")
    frames = []
    for i, part in enumerate(parts):
        m = _FRAME.fullmatch(part.strip())
        if not m:
            raise InvalidSignal(f"video_pdq frame {i + 1} must be <64 hex>:<quality>, got {part[:80]!r}")
        quality = int(m.group(2))
        if quality > 100:
            raise InvalidSignal(f"video_pdq frame {i + 1} has quality {quality}; it must be 0-100")
        frames.append(Frame(m.group(1), quality))
    return frames


def usable_frames(value: str) -> list[str]:
    """The PDQ hashes of a value's frames that are good enough to match (quality at least the floor)."""
    return [f.pdq for f in decode(value) if f.quality >= QUALITY_FLOOR]


def _words(frames: list[Frame]) -> np.ndarray:
    usable = [f.pdq for f in frames if f.quality >= QUALITY_FLOOR]
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
    """How much of each video is found in the other, frame by frame."""
    q, c = _words(decode(query)), _words(decode(candidate))
    return VideoComparison(_share_matched(q, c, frame_threshold), _share_matched(c, q, frame_threshold))


def hash_video(source: str | Path | BinaryIO) -> Signal:
    """Decode a video and PDQ-hash one frame per second; MediaError for anything that cannot be.

    The signal's quality is the median frame quality: one black frame does not make a video unusable.
    """
    import av

    try:
        with av.open(source if not isinstance(source, Path) else str(source), mode="r") as container:
            if not container.streams.video:
                raise MediaError("no video stream in this file")
            stream = container.streams.video[0]
            width, height = stream.codec_context.width, stream.codec_context.height
            if width * height > MAX_FRAME_PIXELS:
                raise MediaError(_bomb_message(width, height))
            stream.thread_type = "AUTO"
            frames = _sample(container, stream)
    except MediaError:
        raise
    except (av.error.FFmpegError, OSError, ValueError, EOFError, MemoryError) as e:
        reason = getattr(e, "strerror", None) or str(e)
        raise MediaError(f"corrupt, truncated or unsupported video: {reason}") from None
    if not frames:
        raise MediaError("no decodable frames in this video")
    return Signal("video_pdq", encode(frames), sorted(f.quality for f in frames)[len(frames) // 2])


def _bomb_message(w: int, h: int) -> str:
    return f"video frames of {w}x{h} exceed the {MAX_FRAME_PIXELS:,} pixel limit (likely a decompression bomb)"


def _sample(container, stream) -> list[Frame]:
    frames: list[Frame] = []
    next_time = 0.0
    for frame in container.decode(stream):
        if frame.width * frame.height > MAX_FRAME_PIXELS:
            raise MediaError(_bomb_message(frame.width, frame.height))
        t = frame.time if frame.time is not None else len(frames) / FRAMES_PER_SECOND
        if t + 1e-6 < next_time:
            continue
        if len(frames) >= MAX_FRAMES:
            raise MediaError(f"video is longer than the {MAX_FRAMES // 3600} hour limit for hashing")
        scale = reduction_factor(frame.width, frame.height)
        rgb = frame.to_ndarray(format="rgb24", width=frame.width // scale, height=frame.height // scale, interpolation="AREA")
        crops = border_crops(rgb)
        signal = hash_rgb(crops[-1] if crops else rgb, scale, dihedral=False)
        frames.append(Frame(signal.value, signal.quality or 0))
        next_time = (int(t * FRAMES_PER_SECOND) + 1) / FRAMES_PER_SECOND
    return frames


class VideoPdqSignal:
    """The `video_pdq` signal type: see the module docstring."""

    name = "video_pdq"
    content_types = ("video",)
    default_threshold = round(100 * (1 - MATCH_SHARE))
    metric = False  # a clip matches the video it was cut from, not the other way round

    def validate(self, value: str) -> str:
        return encode(decode(value))

    def distance(self, query: str, candidate: str) -> int:
        return round(100 * (1 - compare(query, candidate).query_share))

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
        return [encode([Frame(a, 90), Frame(b, 80), Frame(c, 100)]), encode([Frame(b, 75)])]


VIDEO_PDQ = VideoPdqSignal()
