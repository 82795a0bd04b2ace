"""An index for exact digests (md5, sha256): entry ids by digest bytes.

It follows PDQIndex's change contract: `add(entry_id, value)` and `remove(entry_id)` take effect on the
next query, and re-adding a live entry is a no-op, so a change log can be replayed over a snapshot.
"""

from __future__ import annotations

from typing import Sequence


class ExactIndex:
    """Entry ids by digest: a dict keyed by the digest's bytes (half the memory of hex strings)."""

    def __init__(self) -> None:
        self._by_value: dict[bytes, int] = {}
        self._by_id: dict[int, bytes] = {}

    def __len__(self) -> int:
        return len(self._by_id)

    def add(self, entry_id: int, value: str) -> None:
        key = bytes.fromhex(value)
        self.remove(entry_id)
        self._by_value[key] = entry_id
        self._by_id[entry_id] = key

    def remove(self, entry_id: int) -> None:
        key = self._by_id.pop(entry_id, None)
        if key is not None and self._by_value.get(key) == entry_id:
            del self._by_value[key]

    def query(self, value: str) -> int | None:
        """The entry holding exactly `value`, if any."""
        return self._by_value.get(bytes.fromhex(value))

    def search(self, values: Sequence[str], threshold: int = 0) -> dict[int, int]:
        """Entries holding exactly one of `values`, at distance 0 (the threshold of an exact digest is moot)."""
        out = {}
        for value in values:
            entry_id = self.query(value)
            if entry_id is not None:
                out[entry_id] = 0
        return out
