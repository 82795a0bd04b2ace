"""Which notices are about the same content: exact keys, near-duplicate PDQs, the same video, the same text.

`content_keys` is pure. `NearIndex` keeps the PDQs and videos of every case in memory (one per process,
held by the runtime),
loaded from `case_keys`/`case_contents` and topped up incrementally. Intake searches it before taking
its lock (`NearIndex.search`), then, under the lock, compares only with the copies committed since
(`Near.since`), so the costly search never holds up other batches. `Groups` is a union-find over the
items of a batch and the cases they touch.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import Session

from vigil import signals
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


KEY_KINDS = {"vpdq": "video"}
"""Case key kinds are signal names, but for videos, whose key has always been "video:<sha256 of the value>"."""
NEAR_PDQ, NEAR_VIDEO = "pdq", "vpdq"
"""The signals compared for near copies, beyond exact keys."""


def content_keys(content: ContentIn) -> ContentKeys:
    h = content.hashes
    exact: list[tuple[str, str]] = [("content", f"content:{content.id}")]
    for name in (n for n in signals.names() if n in h):
        kind = KEY_KINDS.get(name, name)
        exact.append((kind, f"{kind}:{signals.get(name).dedupe_key(h[name])}"))
    video = h.get(NEAR_VIDEO)
    tk = text_key(content.text) if content.text else None
    if tk and tk != EMPTY_TEXT_KEY:
        exact.append(("text", f"text:{tk}"))
    else:
        tk = None
    return ContentKeys(exact=tuple(exact), pdq=h.get(NEAR_PDQ), video=video, text_key=tk)


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
        vrows = session.execute(sa.select(CaseContent.id, CaseContent.case_id, CaseContent.content_id, CaseContent.vpdq)
                                .where(CaseContent.vpdq.is_not(None), CaseContent.id > self.last_video[0])
                                .order_by(CaseContent.id)).all()
        for r in vrows:
            reps = self.videos.setdefault(r.case_id, [])
            if len(reps) < VIDEO_REPRESENTATIVES:
                reps.append(r.vpdq)
        if vrows:
            self.last_video = (vrows[-1].id, vrows[-1].content_id)

    def search(self, session: Session, pdqs: list[str], videos: list[str]) -> Near:
        """Cases holding a near copy of each PDQ and video, as committed now (read committed, no lock needed)."""
        with self.lock:
            self.refresh(session)
            return Near(dict(zip(pdqs, self.pdq_cases(pdqs))), {v: self.video_cases(v) for v in videos},
                        self.last_video[0])

    def pdq_cases(self, values: list[str]) -> list[set[int]]:
        """For each PDQ, the cases holding a PDQ within the threshold."""
        if not values or self.pdq is None or len(self.pdq) == 0:
            return [set() for _ in values]
        return [{self.pdq_case[int(i)] for i in ids} for ids, _d in self.pdq.query_many(values, PDQ_THRESHOLD)]

    def video_cases(self, value: str) -> set[int]:
        return {case_id for case_id, reps in self.videos.items() if any(same_video(value, r) for r in reps)}


@dataclass
class Near:
    """What `NearIndex.search` found, and how far into `case_contents` it had read videos."""

    pdq: dict[str, set[int]]
    video: dict[str, set[int]]
    video_mark: int

    def since(self, session: Session, new_pdqs: list[tuple[str, int]]) -> None:
        """Add the cases among copies committed after the search: `new_pdqs` are (PDQ, case id) pairs from
        case keys written since; videos are read past `video_mark`. Only the intake lock's holder writes
        copies and keys, so nothing committed later can have a smaller id."""
        if self.pdq and new_pdqs:
            mine = list(self.pdq)
            for i, j in close_pairs(mine, [v for v, _ in new_pdqs]):
                self.pdq[mine[i]].add(new_pdqs[j][1])
        if self.video:
            for case_id, value in session.execute(
                    sa.select(CaseContent.case_id, CaseContent.vpdq)
                    .where(CaseContent.vpdq.is_not(None), CaseContent.id > self.video_mark)):
                for v, found in self.video.items():
                    if case_id not in found and same_video(v, value):
                        found.add(case_id)


def close_pairs(a: list[str], b: list[str], threshold: int = PDQ_THRESHOLD) -> list[tuple[int, int]]:
    """Pairs (i, j) of positions with a[i] and b[j] within `threshold` bits of each other."""
    if not a or not b:
        return []
    idx = PDQIndex.build(b, range(len(b)))
    return [(i, int(j)) for i, (ids, _d) in enumerate(idx.query_many(a, threshold)) for j in ids]


def batch_pdq_pairs(values: list[str]) -> list[tuple[int, int]]:
    """Pairs (i, j), i < j, of positions in `values` whose PDQs are within the threshold of each other."""
    return [(i, j) for i, j in close_pairs(values, values) if j > i]
