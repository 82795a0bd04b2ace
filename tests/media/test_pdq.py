"""PDQ hashing: agreement with python-threatexchange, orientation, borders, dihedral variants, bad input."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image, ImageOps
from threatexchange.signal_type.pdq.signal import PdqSignal

from _images import jpeg_bytes, png_bytes, varied_image
from vigil.signals import MediaError, hash_bytes
from vigil.signals.pdq import MAX_IMAGE_PIXELS, PDQ_THRESHOLD, QUALITY_FLOOR, hamming, hash_image, open_image

PDQ_CONFORMANCE = 10
"""PDQ's own rule for a conforming implementation: within 10 bits of the reference hash of the same file."""


def _pytx(tmp_path, data: bytes, name: str) -> str:
    path = tmp_path / name
    path.write_bytes(data)
    return PdqSignal.hash_from_file(path)


@pytest.mark.parametrize("size", [(300, 200), (500, 370), (200, 600)])
@pytest.mark.parametrize("fmt", ["jpeg", "png"])
def test_identical_to_pytx_when_not_reduced(tmp_path, size, fmt):
    for seed in range(6):
        img = varied_image(seed, size)
        data = jpeg_bytes(img) if fmt == "jpeg" else png_bytes(img)
        assert open_image(data)[1] == 1
        reference = _pytx(tmp_path, data, f"{seed}.{fmt}")
        if not reference:  # pytx returns "" below quality 50
            continue
        whole = hash_image(data)[-1]  # the untrimmed frame: what pytx hashes
        assert whole.value == reference


@pytest.mark.parametrize("size", [(1024, 768), (1600, 1200), (2048, 1536), (768, 1024)])
@pytest.mark.parametrize("fmt", ["jpeg", "png"])
def test_within_pdq_conformance_when_reduced(tmp_path, size, fmt):
    distances = []
    for seed in range(100, 106):
        img = varied_image(seed, size)
        data = jpeg_bytes(img) if fmt == "jpeg" else png_bytes(img)
        assert open_image(data)[1] > 1
        reference = _pytx(tmp_path, data, f"{seed}.{fmt}")
        if reference:
            distances.append(hamming(hash_image(data)[-1].value, reference))
    assert distances and max(distances) <= PDQ_CONFORMANCE, distances


def test_jpeg_is_decoded_in_draft_mode():
    img, scale = open_image(jpeg_bytes(varied_image(1, (2048, 1536))))
    assert scale == 8 and img.size == (256, 192)
    img, scale = open_image(jpeg_bytes(varied_image(1, (1024, 768))))
    assert scale == 4 and img.size == (256, 192)


def test_exif_orientation_is_applied():
    upright = varied_image(11, (480, 360))
    exif = Image.Exif()
    exif[0x0112] = 6  # stored rotated; viewers turn it 90 degrees clockwise
    stored = upright.transpose(Image.Transpose.ROTATE_90)
    tagged = jpeg_bytes(stored, exif=exif.tobytes())
    assert ImageOps.exif_transpose(Image.open(io.BytesIO(tagged))).size == upright.size
    assert hamming(hash_image(tagged)[0].value, hash_image(jpeg_bytes(upright))[0].value) <= 6


def _letterbox(img: Image.Image, bar: int, colour=(0, 0, 0), sides=False) -> Image.Image:
    w, h = img.size
    out = Image.new("RGB", (w + 2 * bar, h) if sides else (w, h + 2 * bar), colour)
    out.paste(img, (bar, 0) if sides else (0, bar))
    return out


@pytest.mark.parametrize("sides", [False, True])
@pytest.mark.parametrize("colour", [(0, 0, 0), (255, 255, 255), (40, 90, 200)])
def test_uniform_borders_are_trimmed(sides, colour):
    for seed in (20, 21, 22):
        img = varied_image(seed, (640, 480))
        original = hash_image(jpeg_bytes(img))
        boxed = hash_image(jpeg_bytes(_letterbox(img, 90, colour, sides)))
        assert len(boxed) >= 2, "the trimmed picture and the whole frame are both hashed"
        best = min(hamming(b.value, o.value) for b in boxed[:-1] for o in original)
        assert best <= 12
        assert min(hamming(boxed[-1].value, o.value) for o in original) > best


def test_pictures_without_bars_are_hashed_once():
    img = Image.fromarray(np.random.default_rng(5).integers(0, 256, (300, 400, 3), dtype=np.uint8))
    assert len(hash_image(png_bytes(img))) == 1


@pytest.mark.parametrize("transpose", list(Image.Transpose))
def test_dihedral_variants_find_rotated_and_flipped_copies(transpose):
    hits = 0
    for seed in range(30, 40):
        img = varied_image(seed, (640, 480))
        original = hash_image(png_bytes(img))[0]
        turned = hash_image(png_bytes(img.transpose(transpose)))[0]
        if min(hamming(original.value, v) for v in (turned.value, *turned.variants)) <= PDQ_THRESHOLD:
            hits += 1
    assert hits == 10


def test_quality_is_reported():
    flat = Image.new("RGB", (300, 300), (128, 128, 128))
    assert hash_image(png_bytes(flat))[0].quality < QUALITY_FLOOR
    assert hash_image(png_bytes(varied_image(3, (300, 300))))[0].quality >= QUALITY_FLOOR


def test_image_modes_are_converted():
    img = varied_image(8, (320, 240))
    rgb = hash_image(png_bytes(img))[0].value
    for mode in ("L", "P", "RGBA", "CMYK", "LA", "I;16"):
        converted = img.convert(mode) if mode != "I;16" else img.convert("L").convert("I;16")
        buf = io.BytesIO()
        converted.save(buf, "TIFF")
        assert hamming(hash_image(buf.getvalue())[0].value, rgb) <= 40, mode


def _png_claiming(width: int, height: int) -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def test_decompression_bomb_is_refused_before_decoding():
    with pytest.raises(MediaError, match="decompression bomb"):
        hash_bytes(_png_claiming(30_000, 30_000), "bomb.png")
    assert 30_000 * 30_000 > MAX_IMAGE_PIXELS


def test_jpeg_claiming_huge_dimensions_is_refused():
    data = bytearray(jpeg_bytes(varied_image(1, (16, 16))))
    sof = data.index(b"\xff\xc0")
    data[sof + 5:sof + 9] = struct.pack(">HH", 65000, 65000)
    with pytest.raises(MediaError, match="decompression bomb"):
        hash_bytes(bytes(data))


@pytest.mark.parametrize(
    "data, message",
    [
        (b"", "empty"),
        (b"\xff\xd8\xff\xe0" + b"\x00" * 50, "corrupt"),
        (b"\x89PNG\r\n\x1a\n" + b"junk" * 10, "corrupt"),
        (b"GIF89a", "corrupt"),
        (b"BM" + b"\xff" * 4 + b"\x00" * 4 + b"\xff" * 52, "corrupt"),
        (b"just some text\n", "unsupported content"),
        (b"\x00" * 500, "unsupported content"),
    ],
)
def test_bad_images_raise_media_error(data, message):
    with pytest.raises(MediaError, match=message):
        hash_bytes(data, "bad")


@pytest.mark.parametrize("cut", [0.1, 0.5, 0.9])
def test_truncated_jpeg_and_png(cut):
    img = varied_image(9, (640, 480))
    for data in (jpeg_bytes(img), png_bytes(img)):
        with pytest.raises(MediaError, match="truncated"):
            hash_bytes(data[: int(len(data) * cut)])


def test_content_decides_not_the_filename(tmp_path):
    data = png_bytes(varied_image(4, (300, 200)))
    path = tmp_path / "report.txt"
    path.write_bytes(data)
    from vigil.signals import hash_path

    assert [s.type for s in hash_path(path)] == ["pdq", "md5", "sha256"]
    assert [s.type for s in hash_bytes(data, "../../etc/passwd; rm -rf /.mp4")] == ["pdq", "md5", "sha256"]


@pytest.mark.parametrize("size", [(1, 1), (2, 300), (300, 1), (5000, 3), (640, 480)])
def test_degenerate_sizes_and_flat_images_hash_once(size):
    flat = Image.new("RGB", size, (0, 0, 0))
    signals = [s for s in hash_bytes(png_bytes(flat)) if s.type == "pdq"]
    assert len(signals) == 1 and signals[0].quality < QUALITY_FLOOR


def test_oversized_image_files_are_refused_unread(tmp_path, monkeypatch):
    from vigil.signals import hash_path, pdq

    path = tmp_path / "huge.jpg"
    path.write_bytes(jpeg_bytes(varied_image(2, (320, 240))))
    monkeypatch.setattr(pdq, "MAX_IMAGE_BYTES", path.stat().st_size - 1)
    with pytest.raises(MediaError, match="MiB limit"):
        hash_path(path)
    with pytest.raises(MediaError, match="MiB limit"):
        hash_bytes(path.read_bytes())
