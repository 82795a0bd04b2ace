"""Match signals against the banks: one in-memory index per (bank, signal type), kept current from the change log.

Indexes are built from the database (or a saved snapshot) on first use and then follow `bank_changes` incrementally (polled
at most every POLL_SECONDS), so an entry added or disabled in one process is matched or ignored by every
process within a second, without reloading. Negative banks (known false positives) suppress the positive
matches of any signal that also matches them.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections import OrderedDict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np
import sqlalchemy as sa

from vigil.config import database_url, home_dir
from vigil.index.exact import ExactIndex, VideoIndex
from vigil.index.pdq import PDQIndex, hashes_to_words
from vigil.signals import Signal
from vigil.signals.pdq import QUALITY_FLOOR
from vigil.store.banks import Bank, BankChange, BankEntry
from vigil.store.db import sessionmaker_for

POLL_SECONDS = 0.5
"""How often match() looks for bank changes: a change is visible in every process within 1 s."""
SNAPSHOT_MIN = 100_000
"""PDQ indexes at least this large are saved under home_dir()/index, so the next start loads them
(seconds at 10M) and replays later changes instead of reading every entry from the database."""
_CHANGE_PAGE = 20_000
_BUILD_PAGE = 50_000
_DETAIL_CACHE = 20_000


@dataclass(frozen=True)
class Match:
    bank: str
    entry_id: int
    signal_type: str
    value: str
    distance: int
    labels: dict = field(default_factory=dict)
    metadata: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Suppressed:
    """A positive match dropped because the same query signal matched a negative-bank entry."""

    match: Match
    by: Match

    def to_dict(self) -> dict:
        return {"match": self.match.to_dict(), "by": self.by.to_dict()}


@dataclass(frozen=True)
class Lookup:
    matches: list[Match]
    suppressed: list[Suppressed]


@dataclass(frozen=True)
class _BankInfo:
    id: int
    name: str
    threshold: int
    negative: bool
    dihedral: bool


_INDEX_TYPES = {"pdq": PDQIndex, "md5": ExactIndex, "sha256": ExactIndex, "video_pdq": VideoIndex}


def _empty_index(signal_type: str):
    if signal_type == "pdq":
        return PDQIndex.build([], [])
    return _INDEX_TYPES[signal_type]()


def _validated(signal: Signal) -> Signal:
    """The signal with normalised values; InvalidSignal (a ValueError) for a malformed query hash."""
    from dataclasses import replace

    from vigil import signals

    kind = signals.get(signal.type)
    return replace(signal, value=kind.validate(signal.value), variants=tuple(kind.validate(v) for v in signal.variants))


class Matcher:
    """Thread-safe: one lock guards refresh and lookups (numpy does the heavy lifting either way)."""

    def __init__(self, db_url: str | None = None):
        self.db_url = database_url(db_url)
        self._sessions = sessionmaker_for(self.db_url)
        self._lock = threading.RLock()
        self._banks: dict[str, _BankInfo] = {}
        self._indexes: dict[tuple[int, str], object] = {}
        self._details: OrderedDict[int, tuple[str, dict, dict]] = OrderedDict()
        self._cursor = 0
        self._polled = 0.0
        with self._lock, self._sessions() as s:
            self._cursor = s.scalar(sa.select(sa.func.coalesce(sa.func.max(BankChange.id), 0)))
            self._load_banks(s)

    # --- keeping current -----------------------------------------------------------------------

    def _load_banks(self, s) -> None:
        self._banks = {
            b.name: _BankInfo(b.id, b.name, b.threshold, b.negative, b.dihedral) for b in s.scalars(sa.select(Bank))
        }

    def refresh(self) -> int:
        """Apply bank changes committed since the last refresh; returns how many were applied."""
        with self._lock, self._sessions() as s:
            self._polled = time.monotonic()
            applied = 0
            reload_banks = False
            while True:
                rows = s.execute(
                    sa.select(BankChange.id, BankChange.bank_id, BankChange.entry_id, BankChange.signal_type, BankChange.value, BankChange.kind)
                    .where(BankChange.id > self._cursor)
                    .order_by(BankChange.id)
                    .limit(_CHANGE_PAGE)
                ).all()
                for change_id, bank_id, entry_id, signal_type, value, kind in rows:
                    if kind in ("create", "update"):
                        reload_banks = True
                    else:
                        self._apply(bank_id, entry_id, signal_type, value, kind)
                    self._cursor = change_id
                applied += len(rows)
                if len(rows) < _CHANGE_PAGE:
                    break
            if reload_banks:
                self._load_banks(s)
            return applied

    def _apply(self, bank_id: int, entry_id: int, signal_type: str, value: str, kind: str) -> None:
        self._details.pop(entry_id, None)
        index = self._indexes.get((bank_id, signal_type))
        if index is None:
            return
        if kind in ("add", "enable"):
            index.add(entry_id, value)
        elif kind in ("disable", "delete"):
            index.remove(entry_id)

    def _maybe_refresh(self) -> None:
        if time.monotonic() - self._polled >= POLL_SECONDS:
            self.refresh()

    def _index(self, bank: _BankInfo, signal_type: str):
        """The index for (bank, type): from its saved snapshot plus later changes, or built from the database."""
        key = (bank.id, signal_type)
        if key not in self._indexes:
            index = self._load_snapshot(bank) if signal_type == "pdq" else None
            if index is None:
                index = self._build(bank, signal_type)
            self._indexes[key] = index
        return self._indexes[key]

    def _build(self, bank: _BankInfo, signal_type: str):
        with self._sessions() as s:
            # Read the cursor first: changes after it may already be in the rows, and replaying them is harmless.
            cursor = s.scalar(sa.select(sa.func.coalesce(sa.func.max(BankChange.id), 0)))
            rows = s.execute(
                sa.select(BankEntry.id, BankEntry.value)
                .where(BankEntry.bank_id == bank.id, BankEntry.signal_type == signal_type, BankEntry.enabled)
                .order_by(BankEntry.id)
                .execution_options(yield_per=_BUILD_PAGE)
            )
            if signal_type != "pdq":
                index = _empty_index(signal_type)
                for entry_id, value in rows:
                    index.add(entry_id, value)
                return index
            # Convert page by page: 10M hex strings at once would hold over 1 GB of Python objects.
            ids, words = [], []
            for page in rows.partitions(_BUILD_PAGE):
                ids.append(np.fromiter((r[0] for r in page), dtype=np.int64, count=len(page)))
                words.append(hashes_to_words([r[1] for r in page]))
        if not ids:
            return PDQIndex.build([], [])
        index = PDQIndex.build(np.concatenate(words), np.concatenate(ids))
        if len(index) >= SNAPSHOT_MIN:
            self._save_snapshot(bank, index, cursor)
        return index

    def _snapshot_dir(self, bank: _BankInfo) -> Path:
        db_key = hashlib.sha256(self.db_url.encode()).hexdigest()[:16]
        return home_dir() / "index" / db_key / f"bank-{bank.id}-pdq"

    def _save_snapshot(self, bank: _BankInfo, index: PDQIndex, cursor: int) -> None:
        folder = self._snapshot_dir(bank)
        index.save(folder)
        (folder / "cursor.json").write_text(json.dumps({"change_id": int(cursor), "bank": bank.name}))

    def _load_snapshot(self, bank: _BankInfo) -> PDQIndex | None:
        """A saved index brought up to date from the change log, or None if there is none or it disagrees with the DB."""
        folder = self._snapshot_dir(bank)
        try:
            cursor = json.loads((folder / "cursor.json").read_text())["change_id"]
            index = PDQIndex.load(folder)
        except (OSError, ValueError, KeyError):
            return None
        with self._sessions() as s:
            if s.scalar(sa.select(sa.func.coalesce(sa.func.max(BankChange.id), 0))) < cursor:
                return None
            changes = s.execute(
                sa.select(BankChange.id, BankChange.entry_id, BankChange.value, BankChange.kind)
                .where(BankChange.id > cursor, BankChange.bank_id == bank.id, BankChange.signal_type == "pdq")
                .order_by(BankChange.id)
                .execution_options(yield_per=_CHANGE_PAGE)
            )
            replayed = 0
            for change_id, entry_id, value, kind in changes:
                if kind in ("add", "enable"):
                    index.add(entry_id, value)
                elif kind in ("disable", "delete"):
                    index.remove(entry_id)
                cursor, replayed = change_id, replayed + 1
            enabled = s.scalar(
                sa.select(sa.func.count()).where(BankEntry.bank_id == bank.id, BankEntry.signal_type == "pdq", BankEntry.enabled)
            )
        if enabled != len(index):
            return None
        if replayed > max(SNAPSHOT_MIN, len(index)) // 10:
            # Keep restarts fast: fold a long tail of changes into a fresh snapshot.
            self._save_snapshot(bank, index, cursor)
        return index

    # --- lookups -------------------------------------------------------------------------------

    def match(self, signals: Sequence[Signal], banks: list[str] | None = None) -> list[Match]:
        """Matches of `signals` in `banks` (default: every positive bank), after negative-bank suppression."""
        return self.lookup(signals, banks).matches

    def lookup(self, signals: Sequence[Signal], banks: list[str] | None = None) -> Lookup:
        """Like match(), and also the matches that negative banks suppressed (for review and audit)."""
        with self._lock:
            self._maybe_refresh()
            if banks is None:
                positive = [b for b in self._banks.values() if not b.negative]
            else:
                missing = [name for name in banks if name not in self._banks]
                if missing:
                    from vigil.banks.service import UnknownBank

                    raise UnknownBank(f"no bank named {', '.join(map(repr, missing))}; `vigil bank list` shows the banks")
                positive = [self._banks[name] for name in dict.fromkeys(banks) if not self._banks[name].negative]
            negative = [b for b in self._banks.values() if b.negative]
            found: dict[tuple[str, int], tuple[int, Signal]] = {}
            suppressed_raw: list[tuple[tuple[str, int, int, Signal], tuple[str, int, int, Signal]]] = []
            for signal in signals:
                if signal.type not in _INDEX_TYPES:
                    continue
                signal = _validated(signal)
                if signal.type == "pdq" and signal.quality is not None and signal.quality < QUALITY_FLOOR:
                    continue
                hits = self._hits(signal, positive)
                if not hits:
                    continue
                vetoes = self._hits(signal, negative)
                if vetoes:
                    for hit in hits:
                        suppressed_raw.append((hit, min(vetoes, key=lambda v: v[2])))
                    continue
                for name, entry_id, distance, sig in hits:
                    best = found.get((name, entry_id))
                    if best is None or distance < best[0]:
                        found[(name, entry_id)] = (distance, sig)
            ids = {entry_id for _, entry_id in found} | {x[1] for pair in suppressed_raw for x in pair}
            details = self._entry_details(ids)

            def make(name: str, entry_id: int, distance: int, sig: Signal) -> Match | None:
                if entry_id not in details:
                    return None
                value, labels, metadata = details[entry_id]
                return Match(name, entry_id, sig.type, value, int(distance), dict(labels), dict(metadata))

            matches = [m for (name, entry_id), (d, sig) in found.items() if (m := make(name, entry_id, d, sig))]
            suppressed = []
            for hit, veto in suppressed_raw:
                m, by = make(*hit), make(*veto)
                if m is not None and by is not None:
                    suppressed.append(Suppressed(m, by))
            matches.sort(key=lambda m: (m.distance, m.bank, m.entry_id))
            return Lookup(matches, suppressed)

    def _hits(self, signal: Signal, banks: list[_BankInfo]) -> list[tuple[str, int, int, Signal]]:
        """(bank name, entry id, distance, signal) for every entry of `banks` matching `signal`."""
        out = []
        for bank in banks:
            index = self._index(bank, signal.type)
            if not len(index):
                continue
            if signal.type == "pdq":
                queries = [signal.value, *signal.variants] if bank.dihedral else [signal.value]
                best: dict[int, int] = {}
                for ids, dists in index.query_many(queries, bank.threshold):
                    for entry_id, d in zip(ids.tolist(), dists.tolist()):
                        if d < best.get(entry_id, 257):
                            best[entry_id] = d
                out.extend((bank.name, entry_id, d, signal) for entry_id, d in best.items())
            elif signal.type == "video_pdq":
                out.extend((bank.name, entry_id, d, signal) for entry_id, d in index.query(signal.value, bank.threshold))
            else:
                entry_id = index.query(signal.value)
                if entry_id is not None:
                    out.append((bank.name, entry_id, 0, signal))
        return out

    def _entry_details(self, ids: set[int]) -> dict[int, tuple[str, dict, dict]]:
        """Stored value, labels and metadata of matched entries (read on demand, cached until they change)."""
        missing = [i for i in ids if i not in self._details]
        if missing:
            with self._sessions() as s:
                rows = s.execute(
                    sa.select(BankEntry.id, BankEntry.value, BankEntry.labels, BankEntry.meta).where(BankEntry.id.in_(missing))
                )
                for entry_id, value, labels, metadata in rows:
                    self._details[entry_id] = (value, labels or {}, metadata or {})
            while len(self._details) > _DETAIL_CACHE:
                self._details.popitem(last=False)
        return {i: self._details[i] for i in ids if i in self._details}

    def stats(self) -> dict[str, int]:
        """Entries per loaded index ("bank/type"), plus the number of banks and the last change applied."""
        with self._lock:
            self._maybe_refresh()
            names = {b.id: b.name for b in self._banks.values()}
            out = {"banks": len(self._banks), "change_cursor": int(self._cursor)}
            for (bank_id, signal_type), index in sorted(self._indexes.items()):
                out[f"{names.get(bank_id, bank_id)}/{signal_type}"] = len(index)
            return out
