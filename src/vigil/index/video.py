"""An index of videos as frame hashes: which bank videos a query video matches, by the share of its frames.

Each video is a list of usable frame PDQ hashes (the signal type decodes its values and drops frames
below the quality floor before they reach this index). All frames of all videos sit in one PDQIndex,
with the video in the frame id, so a query costs one multi-index lookup per frame whatever the bank size.
"""

from __future__ import annotations

import math
from typing import Callable, Sequence

import numpy as np

from vigil.index.pdq import PDQIndex

# Frame ids are entry_id * FRAME_SLOTS + frame number, so one PDQ index holds the frames of every video.
FRAME_SLOTS = 1 << 16
"""More than any video's frames: a four-hour video at one frame per second has 14,400."""


class VideoIndex:
    """Bank videos' usable frames in one PDQ index; `frames_of(value)` gives a value's usable frame hashes.

    A query video matches a bank video when the share of its usable frames within the frame threshold of
    some frame of that video reaches `match_share` (vPDQ's rule); the distance reported is 100 minus the whole
    percentage of query frames matched (floor, so <= 20 exactly when pytx's 80 % holds).
    """

    def __init__(self, frames_of: Callable[[str], list[str]], match_share: float) -> None:
        self._frames_of, self._match_share = frames_of, match_share
        self._frames = PDQIndex.build(np.zeros((0, 4), np.uint64), np.zeros(0, np.int64))
        self._frame_counts: dict[int, int] = {}

    def __len__(self) -> int:
        return len(self._frame_counts)

    def add(self, entry_id: int, value: str) -> None:
        if entry_id in self._frame_counts:
            return
        frames = self._frames_of(value)[:FRAME_SLOTS]
        for i, pdq in enumerate(frames):
            self._frames.add(entry_id * FRAME_SLOTS + i, pdq)
        self._frame_counts[entry_id] = len(frames)

    def remove(self, entry_id: int) -> None:
        for i in range(self._frame_counts.pop(entry_id, 0)):
            self._frames.remove(entry_id * FRAME_SLOTS + i)

    def query(self, value: str, frame_threshold: int) -> list[tuple[int, int]]:
        """(entry id, distance) of bank videos matching, best first."""
        frames = self._frames_of(value)
        if not frames or not self._frame_counts:
            return []
        hits: dict[int, set[int]] = {}
        for row, (ids, _) in enumerate(self._frames.query_many(frames, frame_threshold)):
            for entry_id in set((ids // FRAME_SLOTS).tolist()):
                hits.setdefault(entry_id, set()).add(row)
        out = []
        for entry_id, rows in hits.items():
            share = len(rows) / len(frames)
            if share >= self._match_share:
                out.append((entry_id, 100 - math.floor(share * 100 + 1e-9)))
        return sorted(out, key=lambda x: (x[1], x[0]))

    def search(self, values: Sequence[str], threshold: int) -> dict[int, int]:
        best: dict[int, int] = {}
        for value in values:
            for entry_id, d in self.query(value, threshold):
                best[entry_id] = min(d, best.get(entry_id, d))
        return best
