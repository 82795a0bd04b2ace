"""Exact digests and content sniffing."""

from __future__ import annotations

import hashlib
import os

import pytest

from vigil.signals import MediaError, get, hash_bytes, hash_path
from vigil.signals.sniff import sniff


@pytest.mark.parametrize("name", ["md5", "sha256"])
def test_streamed_digest_of_a_large_file(tmp_path, name):
    data = os.urandom(3 * (1 << 20) + 17)
    path = tmp_path / "big.bin"
    path.write_bytes(data)
    expected = hashlib.new(name, data).hexdigest()
    assert get(name).hash_path(path)[0].value == expected
    assert get(name).hash_bytes(data)[0].value == expected
    assert get(name).distance(expected, expected.upper()) == 0


def test_pdf_gets_exact_signals_only(tmp_path):
    data = b"%PDF-1.4\n" + os.urandom(2000)
    assert [s.type for s in hash_bytes(data)] == ["md5", "sha256"]
    assert hash_bytes(data)[0].value == hashlib.md5(data).hexdigest()


@pytest.mark.parametrize(
    "head, kind",
    [
        (b"\xff\xd8\xff\xe1....", "photo"),
        (b"\x89PNG\r\n\x1a\n....", "photo"),
        (b"GIF89a....", "photo"),
        (b"RIFF\x00\x00\x00\x00WEBPVP8 ", "photo"),
        (b"\x00\x00\x00\x1cftypheic", "photo"),
        (b"\x00\x00\x00\x1cftypisom", "video"),
        (b"\x00\x00\x00\x14ftypqt  ", "video"),
        (b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81", "video"),
        (b"RIFF\x00\x00\x00\x00AVI LIST", "video"),
        (b"%PDF-1.7\n", "document"),
        (b"GET / HTTP/1.1\r\n", None),
        (b"G" + b"\x00" * 300, None),
        (b"PK\x03\x04", None),
        (b"BM\x36\x00\x0c\x00\x00\x00\x00\x00\x36\x00", "photo"),
        (b"BMW owners club newsletter", None),
        (b"", None),
    ],
)
def test_sniff(head, kind):
    assert sniff(head) == kind


def test_zero_byte_file(tmp_path):
    path = tmp_path / "empty.jpg"
    path.write_bytes(b"")
    with pytest.raises(MediaError, match="empty"):
        hash_path(path)


def test_unreadable_paths(tmp_path):
    with pytest.raises(MediaError, match="folder"):
        hash_path(tmp_path)
    with pytest.raises(MediaError, match="cannot read"):
        hash_path(tmp_path / "missing.png")


def test_hostile_filename_is_only_a_label(tmp_path):
    with pytest.raises(MediaError, match="unsupported"):
        hash_bytes(b"<script>alert(1)</script>", filename="\x1b[31m../../x.jpg\n")
