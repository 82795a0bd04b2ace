"""Media fixtures: generated images and videos (bench/_images.py makes the same scenes the benchmarks use)."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))

from _images import varied_image  # noqa: E402


def jpeg_bytes(img, quality: int = 90, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=quality, **kw)
    return buf.getvalue()


def png_bytes(img) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def video_bytes(seeds: list[int], size=(320, 240), fps: int = 10, seconds_per_seed: float = 1.0, codec: str = "mpeg4") -> bytes:
    """An MP4 showing the scene of each seed for `seconds_per_seed`."""
    import av

    buf = io.BytesIO()
    with av.open(buf, "w", format="mp4") as container:
        stream = container.add_stream(codec, rate=fps)
        stream.width, stream.height, stream.pix_fmt = size[0], size[1], "yuv420p"
        for seed in seeds:
            frame = av.VideoFrame.from_image(varied_image(seed, size))
            for _ in range(round(fps * seconds_per_seed)):
                for packet in stream.encode(frame):
                    container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return buf.getvalue()


def pdf_bytes() -> bytes:
    img = varied_image(7, (200, 150))
    buf = io.BytesIO()
    img.save(buf, "PDF")
    return buf.getvalue()


@pytest.fixture(scope="session")
def sample_content() -> dict[str, bytes]:
    """One sample of each content kind, keyed by the signal types' content_types."""
    return {
        "photo": jpeg_bytes(varied_image(3, (640, 480))),
        "video": video_bytes([3, 4, 5]),
        "file": pdf_bytes(),
    }
