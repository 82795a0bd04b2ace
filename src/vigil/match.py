"""Match signals against the banks: one in-memory index per (bank, signal type), kept current from the change log.

Indexes are built from the database (or a saved snapshot) on first use and then follow `bank_changes`
incrementally (polled at most every POLL_SECONDS, on the next lookup), so an entry added or disabled in
one process is matched or ignored by every process within a second, without reloading. Negative banks
(known false positives) suppress the positive matches of any signal that also matches them.

Each signal type builds its own index (`SignalType.build_index`); the matcher names no type but PDQ, whose
quality floor it applies and whose indexes it may save as snapshots.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import secrets
import shutil
import threading
import time
from collections import OrderedDict
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Sequence

import sqlalchemy as sa

from vigil import signals
from vigil.banks.service import UnknownBank
from vigil.index.pdq import PDQIndex
from vigil.signals import Signal, SignalIndex
from vigil.signals.pdq import QUALITY_FLOOR
from vigil.store.banks import Bank, BankChange, BankEntry
from vigil.store.db import Database

log = logging.getLogger("vigil.match")

POLL_SECONDS = 0.5
"""How often match() looks for bank changes: a change is visible in every process within 1 s."""
SNAPSHOT_MIN = 100_000
"""PDQ indexes at least this large are saved under the snapshot folder, so the next start loads them
(seconds at 10M) and replays later changes instead of reading every entry from the database."""
SNAPSHOT_TYPES = frozenset({"pdq"})
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
class _BankInfo:
    id: int
    name: str
    threshold: int
    negative: bool
    dihedral: bool


def _validated(signal: Signal) -> Signal:
    """The signal with normalised values; InvalidSignal (a ValueError) for a malformed query hash."""
    kind = signals.get(signal.type)
    return replace(signal, value=kind.validate(signal.value), variants=tuple(kind.validate(v) for v in signal.variants))


class Matcher:
    """Thread-safe: one lock guards refresh and lookups (numpy does the heavy lifting either way).

    `snapshots` is the folder for saved PDQ indexes (the state folder's `index/`), or None for none.
    """

    def __init__(self, db: Database, snapshots: Path | None = None):
        self.db = db
        self.snapshots = snapshots / hashlib.sha256(db.url.encode()).hexdigest()[:16] if snapshots else None
        self._lock = threading.RLock()
        self._banks: dict[str, _BankInfo] = {}
        self._indexes: dict[tuple[int, str], SignalIndex] = {}
        self._details: OrderedDict[int, tuple[str, dict, dict]] = OrderedDict()
        self._cursor = 0
        self._polled = time.monotonic()
        with self._lock, db.session() as s:
            self._cursor = s.scalar(sa.select(sa.func.coalesce(sa.func.max(BankChange.id), 0)))
            self._load_banks(s)

    # --- keeping current -----------------------------------------------------------------------

    def _load_banks(self, s) -> None:
        self._banks = {
            b.name: _BankInfo(b.id, b.name, b.threshold, b.negative, b.dihedral) for b in s.scalars(sa.select(Bank))
        }

    def refresh(self) -> int:
        """Apply bank changes committed since the last refresh; returns how many were applied."""
        with self._lock, self.db.session() as s:
            self._polled = time.monotonic()
            applied = 0
            reload_banks = False
            while True:
                rows = s.execute(
                    sa.select(BankChange.id, BankChange.bank_id, BankChange.entry_id, BankChange.signal_type,
                              BankChange.value, BankChange.kind)
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

    def _index(self, bank: _BankInfo, signal_type: str) -> SignalIndex:
        """The index for (bank, type): from its saved snapshot plus later changes, or built from the database."""
        key = (bank.id, signal_type)
        if key not in self._indexes:
            index = self._load_snapshot(bank) if signal_type in SNAPSHOT_TYPES else None
            if index is None:
                index = self._build(bank, signal_type)
            self._indexes[key] = index
        return self._indexes[key]

    def _build(self, bank: _BankInfo, signal_type: str) -> SignalIndex:
        with self.db.session() as s:
            # Read the cursor first: changes after it may already be in the rows, and replaying them is harmless.
            cursor = s.scalar(sa.select(sa.func.coalesce(sa.func.max(BankChange.id), 0)))
            rows = s.execute(
                sa.select(BankEntry.id, BankEntry.value)
                .where(BankEntry.bank_id == bank.id, BankEntry.signal_type == signal_type, BankEntry.enabled)
                .order_by(BankEntry.id)
                .execution_options(yield_per=_BUILD_PAGE)
            )
            index = signals.get(signal_type).build_index((entry_id, value) for entry_id, value in rows)
        if signal_type in SNAPSHOT_TYPES and isinstance(index, PDQIndex) and len(index) >= SNAPSHOT_MIN:
            self._save_snapshot(bank, index, cursor)
        return index

    # --- snapshots: one folder per save, published by renaming a link over the old one ---------------

    def _snapshot_link(self, bank: _BankInfo) -> Path:
        assert self.snapshots is not None
        return self.snapshots / f"bank-{bank.id}-pdq"

    def _save_snapshot(self, bank: _BankInfo, index: PDQIndex, cursor: int) -> None:
        """Write the index into a folder of its own, then point the bank's link at it with one rename.

        Several workers may save at once (two cold starts): each writes its own folder, the last rename wins,
        and a reader sees either the old snapshot or a complete new one, never a half-written one.
        """
        if self.snapshots is None:
            return
        link = self._snapshot_link(bank)
        fresh = link.with_name(f"{link.name}.{os.getpid()}.{secrets.token_hex(4)}")
        try:
            self.snapshots.mkdir(parents=True, exist_ok=True)
            index.save(fresh)
            (fresh / "cursor.json").write_text(json.dumps({"change_id": int(cursor), "bank": bank.name}))
            pointer = fresh.with_name(fresh.name + ".link")
            os.symlink(fresh.name, pointer)
            previous = link.resolve() if link.is_symlink() else None
            os.replace(pointer, link)
        except OSError as e:
            log.warning("could not save the index snapshot of bank %s (%s); the next start rebuilds it", bank.name, e)
            shutil.rmtree(fresh, ignore_errors=True)
            return
        if previous is not None and previous != fresh:
            shutil.rmtree(previous, ignore_errors=True)

    def _load_snapshot(self, bank: _BankInfo) -> PDQIndex | None:
        """A saved index brought up to date from the change log, or None if there is none or it disagrees with the DB."""
        if self.snapshots is None:
            return None
        folder = self._snapshot_link(bank)
        try:
            folder = folder.resolve(strict=True)
            cursor = json.loads((folder / "cursor.json").read_text())["change_id"]
            index = PDQIndex.load(folder)
        except (OSError, ValueError, KeyError):
            return None
        with self.db.session() as s:
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
                sa.select(sa.func.count()).where(BankEntry.bank_id == bank.id, BankEntry.signal_type == "pdq",
                                                 BankEntry.enabled)
            )
        if enabled != len(index):
            return None
        if replayed > max(SNAPSHOT_MIN, len(index)) // 10:
            # Keep restarts fast: fold a long tail of changes into a fresh snapshot.
            self._save_snapshot(bank, index, cursor)
        return index

    # --- lookups -------------------------------------------------------------------------------

    def match(self, found: Sequence[Signal], banks: list[str] | None = None) -> list[Match]:
        """Matches of `found` in `banks` (default: every positive bank), after negative-bank suppression.

        Signals of types no bank can hold (none today) are skipped; a malformed value raises InvalidSignal.
        """
        with self._lock:
            self._maybe_refresh()
            if banks is None:
                positive = [b for b in self._banks.values() if not b.negative]
            else:
                missing = [name for name in banks if name not in self._banks]
                if missing:
                    raise UnknownBank(f"no bank named {', '.join(map(repr, missing))}; `vigil bank list` shows the banks")
                positive = [self._banks[name] for name in dict.fromkeys(banks) if not self._banks[name].negative]
            negative = [b for b in self._banks.values() if b.negative]
            best: dict[tuple[str, int], tuple[int, str]] = {}
            for signal in found:
                if signal.type not in signals.REGISTRY:
                    continue
                signal = _validated(signal)
                if signal.quality is not None and signal.quality < QUALITY_FLOOR and signal.type == "pdq":
                    continue
                hits = self._hits(signal, positive)
                if not hits or self._hits(signal, negative):
                    continue
                for name, entry_id, distance in hits:
                    if (name, entry_id) not in best or distance < best[(name, entry_id)][0]:
                        best[(name, entry_id)] = (distance, signal.type)
            details = self._entry_details({entry_id for _, entry_id in best})
            matches = [Match(name, entry_id, signal_type, details[entry_id][0], int(distance),
                             dict(details[entry_id][1]), dict(details[entry_id][2]))
                       for (name, entry_id), (distance, signal_type) in best.items() if entry_id in details]
            matches.sort(key=lambda m: (m.distance, m.bank, m.entry_id))
            return matches

    def _hits(self, signal: Signal, banks: list[_BankInfo]) -> list[tuple[str, int, int]]:
        """(bank name, entry id, distance) for every entry of `banks` matching `signal` (or one of its variants,
        where the bank matches rotations and flips)."""
        out = []
        for bank in banks:
            index = self._index(bank, signal.type)
            if not len(index):
                continue
            values = list(dict.fromkeys((signal.value, *signal.variants))) if bank.dihedral else [signal.value]
            out.extend((bank.name, entry_id, d) for entry_id, d in index.search(values, bank.threshold).items())
        return out

    def _entry_details(self, ids: set[int]) -> dict[int, tuple[str, dict, dict]]:
        """Stored value, labels and metadata of matched entries (read on demand, cached until they change)."""
        missing = [i for i in ids if i not in self._details]
        if missing:
            with self.db.session() as s:
                rows = s.execute(
                    sa.select(BankEntry.id, BankEntry.value, BankEntry.labels, BankEntry.meta).where(BankEntry.id.in_(missing))
                )
                for entry_id, value, labels, metadata in rows:
                    self._details[entry_id] = (value, labels or {}, metadata or {})
            while len(self._details) > _DETAIL_CACHE:
                self._details.popitem(last=False)
        return {i: self._details[i] for i in ids if i in self._details}

    def warm(self) -> None:
        """Build every bank's indexes now rather than inside the first request (they are built on first use)."""
        with self._lock:
            for bank in self._banks.values():
                for name in signals.names():
                    self._index(bank, name)

    def stats(self) -> dict[str, int]:
        """Entries per loaded index ("bank/type"), plus the number of banks and the last change applied."""
        with self._lock:
            self._maybe_refresh()
            names = {b.id: b.name for b in self._banks.values()}
            out = {"banks": len(self._banks), "change_cursor": int(self._cursor)}
            for (bank_id, signal_type), index in sorted(self._indexes.items()):
                out[f"{names.get(bank_id, bank_id)}/{signal_type}"] = len(index)
            return out
