"""Which notices are about the same content: exact keys, near-duplicate PDQs, the same video, the same text.

`content_keys` is pure. `NearIndex` keeps, per process, the PDQs and videos of every case in memory,
loaded from `case_keys`/`case_contents` and topped up incrementally, so a batch costs one lookup query
plus in-memory searches. `Groups` is a union-find over the items of a batch and the cases they touch.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import Session

from vigil.cases.notice import ContentIn
from vigil.index.pdq import PDQIndex
from vigil.signals import video
from vigil.signals.pdq import PDQ_THRESHOLD
from vigil.store.cases import CaseContent, CaseKey
from vigil.text.normalize import text_key

EMPTY_TEXT_KEY = text_key("")  # text that normalises to nothing (only spaces or invisible characters) groups nothing
VIDEO_REPRESENTATIVES = 3  # videos kept per case for comparison; copies of one video all resemble its first


@dataclass(frozen=True)
class ContentKeys:
    """The dedupe keys of one piece of content. `exact` pairs are (kind, key) and are looked up in the DB."""

    exact: tuple[tuple[str, str], ...]
    pdq: str | None
    video: str | None
    text_key: str | None


def content_keys(content: ContentIn) -> ContentKeys:
    h = content.hashes
    exact: list[tuple[str, str]] = [("content", f"content:{content.id}")]
    for kind in ("md5", "sha256", "pdq"):
        if kind in h:
            exact.append((kind, f"{kind}:{h[kind]}"))
    video = h.get("video_pdq")
    if video:
        exact.append(("video", "video:" + hashlib.sha256(video.encode()).hexdigest()))
    tk = text_key(content.text) if content.text else None
    if tk and tk != EMPTY_TEXT_KEY:
        exact.append(("text", f"text:{tk}"))
    else:
        tk = None
    return ContentKeys(exact=tuple(exact), pdq=h.get("pdq"), video=video, text_key=tk)


def same_video(a: str, b: str) -> bool:
    """Copies of one video: each matches the other as vPDQ defines a match. A clip is not the same video as its
    source (it would match one way only), so a flood of copies makes one case per distinct video."""
    c = video.compare(a, b)
    return min(c.query_share, c.candidate_share) >= video.MATCH_SHARE


class Groups:
    """Union-find over hashable nodes."""

    def __init__(self) -> None:
        self.parent: dict = {}

    def find(self, x):
        self.parent.setdefault(x, x)
        root = x
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[x] != root:
            self.parent[x], x = root, self.parent[x]
        return root

    def union(self, a, b) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[rb] = ra

    def components(self, nodes) -> dict:
        out: dict = {}
        for n in nodes:
            out.setdefault(self.find(n), []).append(n)
        return out


@dataclass
class NearIndex:
    """PDQs (by case key id) and video representatives (by case id) of every case, for one database."""

    pdq: PDQIndex | None = None
    pdq_case: dict[int, int] = field(default_factory=dict)
    last_pdq: tuple[int, str] = (0, "")
    videos: dict[int, list[str]] = field(default_factory=dict)
    last_video: tuple[int, str] = (0, "")
    lock: threading.Lock = field(default_factory=threading.Lock)

    def _stale(self, session: Session) -> bool:
        """True when the rows we last saw are gone (a restored or truncated database): start again."""
        for (last_id, last_key), table, col in ((self.last_pdq, CaseKey, CaseKey.key),
                                                 (self.last_video, CaseContent, CaseContent.content_id)):
            if last_id and session.scalar(sa.select(col).where(table.id == last_id)) != last_key:
                return True
        return False

    def refresh(self, session: Session) -> None:
        """Load what other transactions committed since the last refresh."""
        if self._stale(session):
            self.pdq, self.pdq_case, self.last_pdq, self.videos, self.last_video = None, {}, (0, ""), {}, (0, "")
        rows = session.execute(sa.select(CaseKey.id, CaseKey.case_id, CaseKey.key)
                               .where(CaseKey.kind == "pdq", CaseKey.id > self.last_pdq[0]).order_by(CaseKey.id)).all()
        if rows:
            if self.pdq is None:
                self.pdq = PDQIndex.build([r.key[4:] for r in rows], [r.id for r in rows])
            else:
                for r in rows:
                    self.pdq.add(r.id, r.key[4:])
            self.pdq_case.update((r.id, r.case_id) for r in rows)
            self.last_pdq = (rows[-1].id, rows[-1].key)
        vrows = session.execute(sa.select(CaseContent.id, CaseContent.case_id, CaseContent.content_id, CaseContent.video_pdq)
                                .where(CaseContent.video_pdq.is_not(None), CaseContent.id > self.last_video[0])
                                .order_by(CaseContent.id)).all()
        for r in vrows:
            reps = self.videos.setdefault(r.case_id, [])
            if len(reps) < VIDEO_REPRESENTATIVES:
                reps.append(r.video_pdq)
        if vrows:
            self.last_video = (vrows[-1].id, vrows[-1].content_id)

    def pdq_cases(self, values: list[str]) -> list[set[int]]:
        """For each PDQ, the cases holding a PDQ within the threshold."""
        if not values or self.pdq is None or len(self.pdq) == 0:
            return [set() for _ in values]
        return [{self.pdq_case[int(i)] for i in ids} for ids, _d in self.pdq.query_many(values, PDQ_THRESHOLD)]

    def video_cases(self, value: str) -> set[int]:
        return {case_id for case_id, reps in self.videos.items() if any(same_video(value, r) for r in reps)}


_indexes: dict[str, NearIndex] = {}
_indexes_lock = threading.Lock()


def near_index(db_url: str) -> NearIndex:
    with _indexes_lock:
        return _indexes.setdefault(db_url, NearIndex())


def batch_pdq_pairs(values: list[str]) -> list[tuple[int, int]]:
    """Pairs (i, j) of positions in `values` whose PDQs are within the threshold of each other."""
    if len(values) < 2:
        return []
    idx = PDQIndex.build(values, range(len(values)))
    pairs = []
    for i, (ids, _d) in enumerate(idx.query_many(values, PDQ_THRESHOLD)):
        pairs.extend((i, int(j)) for j in ids if int(j) > i)
    return pairs

