"""Media fixtures: generated images and videos (bench/_images.py makes the same scenes the benchmarks use)."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))

from _images import jpeg_bytes, varied_image, video_bytes  # noqa: E402


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
