"""Exact fingerprints (md5, sha256) of any file: they match byte-identical copies only."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Iterable

from vigil.index.exact import ExactIndex

from vigil.signals.base import Signal, validate_hex

CHUNK = 1 << 20
"""Read size when streaming a file: large videos are hashed without loading them whole."""


class ExactSignal:
    """A cryptographic digest; the distance is 0 (same bytes) or 1 (different)."""

    content_types = ("file",)
    default_threshold = 0
    metric = True

    def __init__(self, name: str, hex_length: int, examples: list[str]):
        self.name = name
        self._hex_length = hex_length
        self._examples = examples

    def validate(self, value: str) -> str:
        return validate_hex(value, length=self._hex_length, name=self.name)

    def distance(self, query: str, candidate: str) -> int:
        return 0 if self.validate(query) == self.validate(candidate) else 1

    def hash_bytes(self, data: bytes) -> list[Signal]:
        return [Signal(self.name, hashlib.new(self.name, data).hexdigest())]

    def hash_path(self, path: Path) -> list[Signal]:
        digest = hashlib.new(self.name)
        with open(path, "rb") as f:
            while chunk := f.read(CHUNK):
                digest.update(chunk)
        return [Signal(self.name, digest.hexdigest())]

    def examples(self) -> list[str]:
        return list(self._examples)

    def build_index(self, entries: Iterable[tuple[int, str]]) -> ExactIndex:
        index = ExactIndex()
        for entry_id, value in entries:
            index.add(entry_id, value)
        return index

    def dedupe_key(self, value: str) -> str:
        return value


MD5 = ExactSignal("md5", 32, [hashlib.md5(b"vigil example").hexdigest(), hashlib.md5(b"").hexdigest()])
SHA256 = ExactSignal("sha256", 64, [hashlib.sha256(b"vigil example").hexdigest(), hashlib.sha256(b"").hexdigest()])
