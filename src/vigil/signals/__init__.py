"""Signals: the fingerprints Vigil computes from content and matches against hash banks.

`get(name)` returns a SignalType ("pdq", "video_pdq", "md5", "sha256"); `hash_bytes` and
`hash_path` pick the types that apply by sniffing the content, never by trusting a filename.
"""

from __future__ import annotations

from vigil.signals.base import InvalidSignal, MediaError, Signal, SignalType
from vigil.signals.exact import MD5, SHA256
from vigil.signals.pdq import PDQ

REGISTRY: dict[str, SignalType] = {t.name: t for t in (PDQ, MD5, SHA256)}


def get(name: str) -> SignalType:
    """The signal type called `name`; raises InvalidSignal naming the known types otherwise."""
    try:
        return REGISTRY[name]
    except (KeyError, TypeError):
        raise InvalidSignal(f"unknown signal type {name!r}; known: {', '.join(sorted(REGISTRY))}") from None


def names() -> list[str]:
    return sorted(REGISTRY)


__all__ = ["InvalidSignal", "MediaError", "REGISTRY", "Signal", "SignalType", "get", "names"]
