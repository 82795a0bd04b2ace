"""What kind of content a file holds, from its first bytes (a filename or extension is never trusted)."""

from __future__ import annotations

from typing import Literal

Kind = Literal["photo", "video", "document"]

SNIFF_BYTES = 192
"""Every signature below fits in the first 192 bytes (an MPEG-TS sync byte repeats at 188)."""

_IMAGE_BRANDS = {b"heic", b"heix", b"mif1", b"msf1", b"avif", b"avis"}


def sniff(head: bytes) -> Kind | None:
    """The content kind of a file starting with `head`, or None if Vigil does not handle it."""
    if head.startswith((b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"GIF87a", b"GIF89a", b"II*\x00", b"MM\x00*")):
        return "photo"
    if head[:2] == b"BM" and head[6:10] == b"\x00\x00\x00\x00":  # BMP: the reserved header words are zero
        return "photo"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "photo"
    if head[4:8] == b"ftyp":
        return "photo" if head[8:12] in _IMAGE_BRANDS else "video"
    if head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        return "video"
    if head.startswith((b"\x1a\x45\xdf\xa3", b"FLV\x01", b"\x00\x00\x01\xba", b"\x00\x00\x01\xb3")):
        return "video"
    if len(head) > 188 and head[0] == 0x47 and head[188] == 0x47:
        return "video"
    if head.startswith(b"%PDF-"):
        return "document"
    return None


def describe(head: bytes) -> str:
    """A short human description of unknown leading bytes, for error messages."""
    if not head:
        return "an empty file"
    text = head[:8]
    printable = all(32 <= b < 127 or b in (9, 10, 13) for b in text)
    return f"content starting with {text!r}" if printable else f"content starting with bytes {text.hex(' ')}"
