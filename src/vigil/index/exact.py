"""Indexes for exact digests (md5, sha256) and for videos (frame PDQ hashes, matched as in vPDQ).

Both follow PDQIndex's change contract: `add(entry_id, value)` and `remove(entry_id)` take effect on the
next query, and re-adding a live entry is a no-op, so a change log can be replayed over a snapshot.
"""

from __future__ import annotations

import numpy as np

from vigil.index.pdq import PDQIndex
from vigil.signals import video


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


# Frame ids are entry_id * FRAME_SLOTS + frame number, so one PDQ index holds the frames of every video.
FRAME_SLOTS = 1 << 14
assert FRAME_SLOTS > video.MAX_FRAMES


class VideoIndex:
    """Bank videos' usable frames in one PDQ index, with the frame -> video mapping in the frame id.

    A query video matches a bank video when the share of its usable frames within the frame threshold
    of some frame of that video reaches vigil.signals.video.MATCH_SHARE (vPDQ's rule).
    """

    def __init__(self) -> None:
        self._frames = PDQIndex.build(np.zeros((0, 4), np.uint64), np.zeros(0, np.int64))
        self._frame_counts: dict[int, int] = {}

    def __len__(self) -> int:
        return len(self._frame_counts)

    def add(self, entry_id: int, value: str) -> None:
        if entry_id in self._frame_counts:
            return
        frames = [f.pdq for f in video.decode(value) if f.quality >= video.QUALITY_FLOOR]
        for i, pdq in enumerate(frames):
            self._frames.add(entry_id * FRAME_SLOTS + i, pdq)
        self._frame_counts[entry_id] = len(frames)

    def remove(self, entry_id: int) -> None:
        for i in range(self._frame_counts.pop(entry_id, 0)):
            self._frames.remove(entry_id * FRAME_SLOTS + i)

    def query(self, value: str, frame_threshold: int, match_share: float = video.MATCH_SHARE) -> list[tuple[int, int]]:
        """(entry id, distance) of bank videos matching; distance is video_pdq's: % of query frames unmatched."""
        frames = [f.pdq for f in video.decode(value) if f.quality >= video.QUALITY_FLOOR]
        if not frames or not self._frame_counts:
            return []
        hits: dict[int, set[int]] = {}
        for row, (ids, _) in enumerate(self._frames.query_many(frames, frame_threshold)):
            for entry_id in set((ids // FRAME_SLOTS).tolist()):
                hits.setdefault(entry_id, set()).add(row)
        out = []
        for entry_id, rows in hits.items():
            share = len(rows) / len(frames)
            if share >= match_share:
                out.append((entry_id, round(100 * (1 - share))))
        return sorted(out, key=lambda x: (x[1], x[0]))
