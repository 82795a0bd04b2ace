"""PDQ: Meta's perceptual photo hash (256 bits as 64 hex), compared by Hamming distance."""

from __future__ import annotations

from pathlib import Path

from vigil.signals.base import MediaError, Signal, validate_hex

PDQ_THRESHOLD = 31
"""Hamming distance at or below which two PDQ hashes match (PDQ hashing paper; pytx PDQ_CONFIDENT_MATCH_THRESHOLD)."""
QUALITY_FLOOR = 50
"""Hashes of quality below this are too unreliable to match (PDQ documentation; pytx PdqSignal.QUALITY_THRESHOLD)."""


def hamming(a: str, b: str) -> int:
    """Bits that differ between two valid 64-hex PDQ hashes."""
    return (int(a, 16) ^ int(b, 16)).bit_count()


class PdqSignal:
    """The `pdq` signal type: see the module docstring."""

    name = "pdq"
    content_types = ("photo",)
    default_threshold = PDQ_THRESHOLD
    metric = True

    def validate(self, value: str) -> str:
        return validate_hex(value, length=64, name=self.name)

    def distance(self, query: str, candidate: str) -> int:
        return hamming(self.validate(query), self.validate(candidate))

    def hash_bytes(self, data: bytes) -> list[Signal]:
        raise MediaError("PDQ hashing lands in the next commit")

    def hash_path(self, path: Path) -> list[Signal]:
        raise MediaError("PDQ hashing lands in the next commit")

    def examples(self) -> list[str]:
        return [
            "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22",
            "e64cc9d91c623882f8d1f1d9a398e78c9f199b3bd83924f2b7e11e0bf861b064",
            "6227401f601ff4ccafcc9fad4b0d95d371a2eb7265a3285234d228ca94deeb2d",
        ]


PDQ = PdqSignal()
