"""Signals: the fingerprints Vigil computes from content and matches against hash banks.

`get(name)` returns a SignalType ("pdq", "vpdq", "md5", "sha256"); `hash_bytes` and
`hash_path` pick the types that apply by sniffing the content, never by trusting a filename.
"""

from __future__ import annotations

from pathlib import Path

from vigil.signals.base import InvalidSignal, MediaError, Signal, SignalIndex, SignalType
from vigil.signals.exact import MD5, SHA256
from vigil.signals.pdq import PDQ, read_image
from vigil.signals.sniff import SNIFF_BYTES, describe, sniff
from vigil.signals.video import VPDQ

REGISTRY: dict[str, SignalType] = {t.name: t for t in (PDQ, VPDQ, MD5, SHA256)}
ALIASES = {"video_pdq": "vpdq"}
"""Older names still read: Vigil called vPDQ `video_pdq` (with its own value format) before 2026-12."""


def types_for_kind(kind: str) -> tuple[SignalType, ...]:
    """The signal types that fingerprint content of `kind` (photo, video or document): those naming the kind, and
    those for any file. PDFs (manifestos, branded publications) therefore get the exact digests only."""
    return tuple(t for t in REGISTRY.values() if kind in t.content_types or "file" in t.content_types)


def get(name: str) -> SignalType:
    """The signal type called `name`; raises InvalidSignal naming the known types otherwise."""
    try:
        return REGISTRY[ALIASES.get(name, name)]
    except (KeyError, TypeError):
        raise InvalidSignal(f"unknown signal type {name!r}; known: {', '.join(sorted(REGISTRY))}") from None


def names() -> list[str]:
    return sorted(REGISTRY)


def _types_for(head: bytes) -> tuple[SignalType, ...]:
    if not head:
        raise MediaError("empty file (0 bytes): nothing to hash")
    kind = sniff(head)
    if kind is None:
        raise MediaError(f"unsupported content: {describe(head)} is not an image, video or PDF Vigil can hash")
    return types_for_kind(kind)


def hash_bytes(data: bytes, filename: str | None = None) -> list[Signal]:
    """Every signal of the content in `data`; MediaError if it cannot be hashed.

    `filename` only labels error messages: the content decides the signal types.
    """
    try:
        return [s for t in _types_for(data[:SNIFF_BYTES]) for s in t.hash_bytes(data)]
    except MediaError as e:
        raise MediaError(f"{filename}: {e}" if filename else str(e)) from None


def hash_path(path: str | Path) -> list[Signal]:
    """Every signal of the file at `path` (videos and exact digests are streamed, not read whole).

    Error messages do not repeat the path: the caller reports it beside them.
    """
    path = Path(path)
    try:
        with open(path, "rb") as f:
            head = f.read(SNIFF_BYTES)
    except IsADirectoryError:
        raise MediaError("a folder, not a file") from None
    except OSError as e:
        raise MediaError(f"cannot read the file: {e.strerror or e}") from None
    types = _types_for(head)
    if types[0] is PDQ:
        data = read_image(path)
        return [s for t in types for s in t.hash_bytes(data)]
    return [s for t in types for s in t.hash_path(path)]


__all__ = ["InvalidSignal", "MediaError", "REGISTRY", "Signal", "SignalIndex", "SignalType", "get", "hash_bytes", "hash_path",
           "names"]
