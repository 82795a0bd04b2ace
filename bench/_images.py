"""Deterministic, genuinely varied synthetic images for benchmarks, tests and the demo.

Each seed gives a different scene: a background (flat, linear or radial gradient, stripes or
noise texture) under random shapes, lines, text and noise patches in random colours, so that
unrelated seeds are unrelated images (not near-identical noise) and PDQ quality is high.
"""

from __future__ import annotations

import io
import math
import random

import numpy as np
from PIL import Image, ImageDraw, ImageFont

WORDS = ("vigil", "bank", "signal", "match", "notice", "ledger", "north", "river", "seven", "orbit", "plaza", "amber")


def _colour(rng: random.Random) -> tuple[int, int, int]:
    return (rng.randrange(256), rng.randrange(256), rng.randrange(256))


def _background(rng: random.Random, w: int, h: int) -> Image.Image:
    kind = rng.choice(("linear", "radial", "stripes", "texture", "flat"))
    a = np.array(_colour(rng), dtype=np.float32)
    b = np.array(_colour(rng), dtype=np.float32)
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    if kind == "linear":
        angle = rng.uniform(0, math.pi)
        t = xs * math.cos(angle) + ys * math.sin(angle)
    elif kind == "radial":
        cx, cy = rng.uniform(0, w), rng.uniform(0, h)
        t = np.hypot(xs - cx, ys - cy)
    elif kind == "stripes":
        period = rng.uniform(8, max(w, h) / 3)
        angle = rng.uniform(0, math.pi)
        t = (np.sin((xs * math.cos(angle) + ys * math.sin(angle)) * 2 * math.pi / period) + 1)
    elif kind == "texture":
        gen = np.random.default_rng(rng.randrange(2**32))
        coarse = gen.random((rng.randint(3, 12), rng.randint(3, 12))).astype(np.float32)
        t = np.asarray(Image.fromarray((coarse * 255).astype(np.uint8)).resize((w, h), Image.BICUBIC), dtype=np.float32)
    else:
        t = np.zeros((h, w), dtype=np.float32)
    span = float(t.max() - t.min()) or 1.0
    t = ((t - t.min()) / span)[..., None]
    return Image.fromarray((a * (1 - t) + b * t).astype(np.uint8), "RGB")


def varied_image(seed: int, size: tuple[int, int] = (640, 480)) -> Image.Image:
    """The image for `seed`: same seed, same pixels, on every machine."""
    rng = random.Random(seed)
    w, h = size
    img = _background(rng, w, h)
    draw = ImageDraw.Draw(img)
    scale = min(w, h)
    for _ in range(rng.randint(6, 14)):
        kind = rng.choice(("ellipse", "rectangle", "polygon", "line", "arc"))
        x0, y0 = rng.uniform(-0.1, 0.9) * w, rng.uniform(-0.1, 0.9) * h
        x1, y1 = x0 + rng.uniform(0.05, 0.6) * w, y0 + rng.uniform(0.05, 0.6) * h
        fill = _colour(rng)
        if kind == "ellipse":
            draw.ellipse((x0, y0, x1, y1), fill=fill, outline=_colour(rng), width=rng.randint(0, 6))
        elif kind == "rectangle":
            draw.rectangle((x0, y0, x1, y1), fill=fill)
        elif kind == "polygon":
            pts = [(rng.uniform(0, w), rng.uniform(0, h)) for _ in range(rng.randint(3, 7))]
            draw.polygon(pts, fill=fill)
        elif kind == "line":
            draw.line((x0, y0, x1, y1), fill=fill, width=max(1, int(scale * rng.uniform(0.005, 0.04))))
        else:
            draw.arc((x0, y0, x1, y1), rng.uniform(0, 180), rng.uniform(180, 360), fill=fill, width=max(1, int(scale * 0.02)))
    font = ImageFont.load_default(size=max(10, int(scale * rng.uniform(0.06, 0.14))))
    for _ in range(rng.randint(1, 3)):
        text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 3)))
        draw.text((rng.uniform(0, 0.7) * w, rng.uniform(0, 0.85) * h), text, fill=_colour(rng), font=font)
    if rng.random() < 0.8:
        gen = np.random.default_rng(rng.randrange(2**32))
        arr = np.asarray(img).copy()
        pw, ph = int(w * rng.uniform(0.1, 0.4)), int(h * rng.uniform(0.1, 0.4))
        px, py = rng.randrange(0, w - pw), rng.randrange(0, h - ph)
        patch = arr[py:py + ph, px:px + pw].astype(np.int16) + gen.integers(-60, 60, (ph, pw, 3), dtype=np.int16)
        arr[py:py + ph, px:px + pw] = np.clip(patch, 0, 255).astype(np.uint8)
        img = Image.fromarray(arr)
    return img


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
