"""What every signal type shares: the Signal value, the SignalType protocol, and the errors."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from vigil.errors import InvalidInput

from typing import Iterable, Protocol, Sequence, runtime_checkable


class InvalidSignal(InvalidInput, ValueError):
    """A hash value that is malformed for its signal type (wrong length, not hex, ...).

    A ValueError too, so that pydantic validators turn it into a field error."""

    code = "invalid_signal"


class MediaError(InvalidInput, ValueError):
    """Content that cannot be hashed: corrupt, truncated, empty, unsupported, or a decompression bomb."""

    code = "invalid_media"


@dataclass(frozen=True)
class Signal:
    """One fingerprint of one piece of content.

    Why is `value` a str? Banks are exchanged as CSV and JSON, and stored in SQL columns; a
    normalised string travels through all of them unchanged (python-threatexchange made the same choice).
    """

    type: str
    value: str
    quality: int | None = None
    variants: tuple[str, ...] = ()
    """Other hashes of the same content that a bank may opt into matching (`Bank.dihedral`).

    PDQ: 14 values, the reference's 7 DCT-domain rotations and flips, then the 7 hashes of the pixels
    actually rotated (signals.pdq). Video: at most one, the frames hashed inside their letterbox bars
    (signals.video). They are computed from the pixels while hashing, because they cannot be derived
    exactly from the value; a Signal built from a bare value has none."""

    def to_dict(self) -> dict:
        return {"type": self.type, "value": self.value, "quality": self.quality}


@runtime_checkable
class SignalIndex(Protocol):
    """One bank's entries of one signal type, in memory, changed in place as the bank changes.

    `add` and `remove` take effect on the next search; adding a live entry again is a no-op, so a change
    log can be replayed over a snapshot that already holds some of its changes.
    """

    def add(self, entry_id: int, value: str) -> None: ...

    def remove(self, entry_id: int) -> None: ...

    def search(self, values: Sequence[str], threshold: int) -> dict[int, int]:
        """Entry id -> smallest distance to any of `values` (a signal and its variants), within `threshold`."""
        ...

    def __len__(self) -> int: ...


@runtime_checkable
class SignalType(Protocol):
    """A kind of fingerprint: how to compute it, check it, compare two of them, and index a bank of them.

    Adding a type? Implement these members in a module of `vigil.signals`, add an instance to the
    registry in `vigil.signals.__init__`, and the shared conformance test (tests/media/
    test_signal_conformance.py) will check it. Nothing else in Vigil names signal types: the matcher,
    bank imports and notice dedupe all go through these members.
    A match is always `distance(query, candidate) <= threshold`; `default_threshold` is the
    field's usual cut-off, and banks may override it.
    """

    name: str
    """Compact lower_snake name used in banks, files and the API ("pdq", "md5", ...)."""
    content_types: tuple[str, ...]
    """Which content this type fingerprints: "photo", "video", or "file" (any file). `hash_bytes` picks the types
    for a file by these, once it has sniffed what the file holds."""
    default_threshold: int
    metric: bool
    """True when distance is a metric (symmetric, triangle inequality): an index may then prune with it, and the
    conformance test checks both properties."""

    def validate(self, value: str) -> str:
        """The normalised value; raises InvalidSignal if malformed."""
        ...

    def distance(self, query: str, candidate: str) -> int:
        """Distance between two valid values; 0 means identical."""
        ...

    def hash_bytes(self, data: bytes) -> list[Signal]:
        """Fingerprints of the content; raises MediaError if it cannot be hashed."""
        ...

    def hash_path(self, path: Path) -> list[Signal]:
        """Like hash_bytes, reading the file (streaming where the type allows)."""
        ...

    def examples(self) -> list[str]:
        """A few valid values, for tests and demos."""
        ...

    def build_index(self, entries: Iterable[tuple[int, str]]) -> SignalIndex:
        """An index of (entry id, valid value) pairs; an empty iterable gives an empty index."""
        ...

    def dedupe_key(self, value: str) -> str:
        """A short key for a valid value, equal for equal values: notices with the same key are the same content.
        Short, because case keys are indexed (a video's value runs to kilobytes; its key is a digest)."""
        ...


def validate_hex(value: object, *, length: int, name: str) -> str:
    """Normalise a fixed-length hex digest (strip, lower-case) or raise InvalidSignal saying why."""
    if not isinstance(value, str):
        raise InvalidSignal(f"{name} value must be a string, got {type(value).__name__}")
    text = value.strip().lower()
    if len(text) != length:
        raise InvalidSignal(f"{name} value must be {length} hex characters, got {len(text)}")
    if not _HEX.fullmatch(text):
        raise InvalidSignal(f"{name} value must be hexadecimal (0-9, a-f)")
    return text


_HEX = re.compile(r"[0-9a-f]*")
