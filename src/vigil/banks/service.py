"""Bank operations: create and configure banks, add, enable and disable entries, import and export lists.

Every change writes a `bank_changes` row (ledgered as "bank_change"); indexes in every process replay
those rows, so a change made here is seen by all matchers without a rebuild.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Callable

import sqlalchemy as sa
from sqlalchemy.orm import Session

from vigil import signals
from vigil.banks.io import Record, Rejection, format_module
from vigil.errors import Conflict, InvalidInput, NotFound
from vigil.ledger.log import append_many, row_record, row_ref
from vigil.signals import InvalidSignal
from vigil.signals.pdq import PDQ_THRESHOLD
from vigil.store import locks
from vigil.store.banks import Bank, BankChange, BankEntry
from vigil.store.bulk import chunks
from vigil.store.db import is_postgres

# PDQ hashes have 256 bits, so no distance exceeds 256.
MAX_THRESHOLD = 256
MAX_METADATA_BYTES = 64 * 1024
# GIFCT's three label dimensions; other keys are kept as free extras.
GIFCT_LABELS = ("entity", "behaviour", "content_type")
_LABEL_ALIASES = {"behavior": "behaviour", "contenttype": "content_type", "content-type": "content_type"}
_BANK_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _.:/-]{0,199}$")
_IMPORT_BATCH = 500


class BankError(InvalidInput):
    """A bank operation that cannot be done as asked; the message says why and `field` names the input."""


class BankExists(Conflict, BankError):
    """A bank of that name exists already (409 over HTTP)."""

    code = "conflict"


class UnknownBank(NotFound):
    pass


class UnknownEntry(NotFound):
    pass


@dataclass
class ImportReport:
    added: int = 0
    updated: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)
    deleted: int = 0
    unchanged: int = 0

    def to_dict(self) -> dict:
        return {
            "added": self.added,
            "updated": self.updated,
            "deleted": self.deleted,
            "unchanged": self.unchanged,
            "rejected": [{"line": line, "reason": reason} for line, reason in self.rejected],
        }


def value_key(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def _lock_changes(s: Session) -> None:
    """Serialise bank writers until commit, so change ids become visible in increasing order.

    SQLite already allows one writer at a time; PostgreSQL needs the advisory lock, otherwise a
    transaction holding id 5 could commit after one holding id 6 and a reader at 6 would skip 5.
    """
    locks.hold(s, locks.BANK_CHANGES)


def _log(s: Session, bank: Bank, kind: str, entry: BankEntry | None = None) -> BankChange:
    change = (kind, None if entry is None else (entry.id, entry.signal_type, entry.value))
    return _log_many(s, bank, [change])[0]


def _log_many(s: Session, bank: Bank, changes: list[tuple[str, tuple[int, str, str] | None]]) -> list[BankChange]:
    """Write change rows (kind, (entry id, signal type, value)) in order, and their ledger leaves in one append."""
    rows = [
        BankChange(
            bank_id=bank.id, bank_name=bank.name, kind=kind,
            entry_id=None if entry is None else entry[0],
            signal_type=None if entry is None else entry[1],
            value=None if entry is None else entry[2],
        )
        for kind, entry in changes
    ]
    s.add_all(rows)
    s.flush()
    append_many(s, [("bank_change", *row_ref(row), row_record("bank_change", row)) for row in rows])
    return rows


def _check_threshold(threshold) -> int:
    if isinstance(threshold, bool) or not isinstance(threshold, int) or not 0 <= threshold <= MAX_THRESHOLD:
        raise BankError(f"threshold must be a whole number from 0 to {MAX_THRESHOLD} (PDQ's default is {PDQ_THRESHOLD}), "
                        f"got {threshold!r}", field="threshold")
    return threshold


def _check_flag(name: str, value) -> bool:
    if not isinstance(value, bool):
        raise BankError(f"{name} must be true or false, got {value!r}", field=name)
    return value


def _check_text(name: str, value, limit: int) -> str:
    if not isinstance(value, str):
        raise BankError(f"{name} must be text, got {type(value).__name__}", field=name.split()[0])
    if len(value) > limit:
        raise BankError(f"{name} is {len(value)} characters long; the limit is {limit}", field=name.split()[0])
    return value


def normalise_labels(labels) -> dict:
    """GIFCT labels: entity, behaviour, content_type (spelling variants folded), plus free extras."""
    if labels is None:
        return {}
    if not isinstance(labels, dict):
        raise BankError(f"labels must be an object of name -> text, got {type(labels).__name__}", field="labels")
    out: dict = {}
    for key, value in labels.items():
        if not isinstance(key, str) or not key.strip():
            raise BankError(f"label names must be non-empty text, got {key!r}", field="labels")
        key = key.strip().lower()
        key = _LABEL_ALIASES.get(key, key)
        if isinstance(value, str):
            value = value.strip()
            if value:
                out[key] = _check_text(f"label {key}", value, 500)
        elif isinstance(value, list) and all(isinstance(v, str) for v in value):
            items = [v.strip() for v in value if v.strip()]
            if items:
                out[key] = [_check_text(f"label {key}", v, 500) for v in items]
        elif value is not None:
            raise BankError(f"label {key} must be text or a list of text, got {type(value).__name__}", field="labels")
    return out


def _check_metadata(metadata) -> dict:
    if metadata is None:
        return {}
    if not isinstance(metadata, dict):
        raise BankError(f"metadata must be an object, got {type(metadata).__name__}", field="metadata")
    try:
        size = len(json.dumps(metadata, ensure_ascii=False))
    except (TypeError, ValueError) as e:
        raise BankError(f"metadata must be plain JSON: {e}", field="metadata") from None
    if size > MAX_METADATA_BYTES:
        raise BankError(f"metadata is {size} bytes as JSON; the limit is {MAX_METADATA_BYTES}", field="metadata")
    return metadata


def normalise_signal(signal_type: str, value: str) -> str:
    """The canonical form of a signal value; BankError for unknown types, InvalidSignal for bad values."""
    try:
        kind = signals.get(signal_type)
    except InvalidSignal:
        raise BankError(f"unknown signal type {signal_type!r}; known: {', '.join(signals.names())}",
                        field="signal_type") from None
    try:
        return kind.validate(value)
    except InvalidSignal as e:
        raise InvalidSignal(str(e), field="value") from None


def create_bank(s: Session, name: str, *, threshold: int = PDQ_THRESHOLD, negative: bool = False, dihedral: bool = True, description: str = "") -> Bank:
    if not isinstance(name, str) or not _BANK_NAME.match(name):
        raise BankError(
            f"bank name {name!r} is not allowed: use 1-200 letters, digits, spaces or _ . : / -, starting with a letter or digit",
            field="name")
    bank = Bank(
        name=name,
        threshold=_check_threshold(threshold),
        negative=_check_flag("negative", negative),
        dihedral=_check_flag("dihedral", dihedral),
        description=_check_text("description", description, 5000),
    )
    _lock_changes(s)
    if s.scalar(sa.select(Bank.id).where(Bank.name == name)) is not None:
        raise BankExists(f"a bank named {name!r} already exists; PATCH it to change it", field="name")
    s.add(bank)
    s.flush()
    _log(s, bank, "create")
    return bank


def list_banks(s: Session) -> list[Bank]:
    return list(s.scalars(sa.select(Bank).order_by(Bank.name)))


def get_bank(s: Session, name: str) -> Bank:
    bank = s.scalar(sa.select(Bank).where(Bank.name == name))
    if bank is None:
        raise UnknownBank(f"no bank named {name!r}; `vigil bank list` shows the banks")
    return bank


def _bank(s: Session, bank: str | Bank) -> Bank:
    return bank if isinstance(bank, Bank) else get_bank(s, bank)


def entry_counts(s: Session) -> dict[int, tuple[int, int]]:
    """bank id -> (entries, enabled entries)."""
    rows = s.execute(
        sa.select(BankEntry.bank_id, sa.func.count(), sa.func.sum(sa.case((BankEntry.enabled, 1), else_=0))).group_by(BankEntry.bank_id)
    )
    return {bank_id: (int(total), int(enabled or 0)) for bank_id, total, enabled in rows}


def update_bank(s: Session, name: str, **changes) -> Bank:
    checks: dict[str, Callable] = {
        "threshold": _check_threshold,
        "negative": lambda v: _check_flag("negative", v),
        "dihedral": lambda v: _check_flag("dihedral", v),
        "description": lambda v: _check_text("description", v, 5000),
    }
    unknown = set(changes) - set(checks)
    if unknown:
        raise BankError(f"cannot change {', '.join(sorted(unknown))}; changeable: {', '.join(checks)}",
                        field=sorted(unknown)[0])
    values = {key: checks[key](value) for key, value in changes.items()}
    _lock_changes(s)
    bank = get_bank(s, name)
    if all(getattr(bank, key) == value for key, value in values.items()):
        return bank
    for key, value in values.items():
        setattr(bank, key, value)
    s.flush()
    _log(s, bank, "update")
    return bank


def get_entry(s: Session, entry_id: int) -> BankEntry:
    entry = s.get(BankEntry, entry_id)
    if entry is None:
        raise UnknownEntry(f"no bank entry with id {entry_id}")
    return entry


def list_entries(s: Session, bank: str | Bank, *, limit: int = 100, after_id: int = 0) -> list[BankEntry]:
    """A page of a bank's entries in id order (keyset pagination: pass the last id seen)."""
    bank = _bank(s, bank)
    query = sa.select(BankEntry).where(BankEntry.bank_id == bank.id, BankEntry.id > after_id).order_by(BankEntry.id).limit(limit)
    return list(s.scalars(query))


def _find(s: Session, bank: Bank, signal_type: str, value: str) -> BankEntry | None:
    return s.scalar(
        sa.select(BankEntry).where(
            BankEntry.bank_id == bank.id, BankEntry.signal_type == signal_type, BankEntry.value_key == value_key(value)
        )
    )


def _merge(existing: BankEntry, labels: dict, source: str, note: str, metadata: dict) -> bool:
    """Merge an import's fields into a known entry; True if anything changed.

    A known entry keeps its enabled flag: an operator's disable must survive the next import of a shared list.
    """
    new = {
        "labels": {**existing.labels, **labels},
        "meta": {**existing.meta, **metadata},
        "source": source or existing.source,
        "note": note or existing.note,
    }
    if all(getattr(existing, key) == value for key, value in new.items()):
        return False
    for key, value in new.items():
        setattr(existing, key, value)
    return True


def _new_entry(bank: Bank, signal_type: str, value: str, labels: dict, source: str, note: str, metadata: dict) -> BankEntry:
    return BankEntry(
        bank_id=bank.id, signal_type=signal_type, value=value, value_key=value_key(value),
        labels=labels, source=source, note=note, meta=metadata, enabled=True,
    )


def add_entry(s: Session, bank: str | Bank, signal_type: str, value: str, *, labels=None, source: str = "", note: str = "", metadata=None) -> BankEntry:
    """Add a signal to a bank, or merge new labels into the entry that already holds it."""
    bank = _bank(s, bank)
    value = normalise_signal(signal_type, value)
    labels = normalise_labels(labels)
    metadata = _check_metadata(metadata)
    source = _check_text("source", source, 200)
    note = _check_text("note", note, 5000)
    _lock_changes(s)
    entry = _find(s, bank, signal_type, value)
    if entry is None:
        entry = _new_entry(bank, signal_type, value, labels, source, note, metadata)
        s.add(entry)
        s.flush()
        _log(s, bank, "add", entry)
    elif _merge(entry, labels, source, note, metadata):
        s.flush()
        _log(s, bank, "edit", entry)
    return entry


def set_entry_enabled(s: Session, entry_id: int, enabled: bool) -> BankEntry:
    _check_flag("enabled", enabled)
    _lock_changes(s)
    entry = get_entry(s, entry_id)
    if entry.enabled != enabled:
        entry.enabled = enabled
        s.flush()
        bank = s.get(Bank, entry.bank_id)
        _log(s, bank, "enable" if enabled else "disable", entry)
    return entry


def import_entries(s: Session, bank: str | Bank, fmt: str, data: bytes, progress: Callable[[int], None] | None = None) -> ImportReport:
    """Apply a shared list to a bank. Bad lines are rejected with their line number; good lines still land.

    `progress(n)` is called after each batch with the number of records handled so far.
    """
    bank = _bank(s, bank)
    reader = format_module(fmt)
    report = ImportReport()
    _lock_changes(s)
    done, analyse_at = 0, 4 * _IMPORT_BATCH
    for batch in chunks(reader.read(data), _IMPORT_BATCH):
        ready: list[tuple[Record, str, dict, dict]] = []
        for item in batch:
            if isinstance(item, Rejection):
                report.rejected.append((item.line, item.reason))
                continue
            try:
                value = normalise_signal(item.signal_type, item.value)
                ready.append((item, value, normalise_labels(item.labels), _check_metadata(item.metadata)))
            except (BankError, InvalidSignal) as e:
                report.rejected.append((item.line, str(e)))
        keys = {(item.signal_type, value_key(value)) for item, value, _, _ in ready}
        existing = {}
        if keys:
            rows = s.scalars(
                sa.select(BankEntry).where(BankEntry.bank_id == bank.id, BankEntry.value_key.in_({k for _, k in keys}))
            )
            existing = {(e.signal_type, e.value_key): e for e in rows}
        # Writes are batched: one flush for the entries, one for their change rows, one ledger append.
        changes: list[tuple[str, BankEntry | tuple[int, str, str]]] = []
        for item, value, labels, metadata in ready:
            key = (item.signal_type, value_key(value))
            found = existing.get(key)
            if item.deleted:
                if found is None:
                    report.unchanged += 1
                    continue
                s.flush()
                changes.append(("delete", (found.id, found.signal_type, found.value)))
                s.delete(found)
                s.flush()
                existing.pop(key)
                report.deleted += 1
            elif found is None:
                entry = _new_entry(bank, item.signal_type, value, labels, item.source[:200], item.note[:5000], metadata)
                s.add(entry)
                existing[key] = entry
                changes.append(("add", entry))
                report.added += 1
            elif _merge(found, labels, item.source[:200], item.note[:5000], metadata):
                changes.append(("edit", found))
                report.updated += 1
            else:
                report.unchanged += 1
        if changes:
            s.flush()
            _log_many(s, bank, [
                (kind, (e.id, e.signal_type, e.value) if isinstance(e, BankEntry) else e) for kind, e in changes
            ])
        done += len(batch)
        if report.added >= analyse_at and is_postgres(s):
            # An import is one transaction: without fresh statistics the planner goes on treating the bank as
            # small, and every batch's lookup scans all of it (quadratic). Statistics at each doubling are cheap.
            s.execute(sa.text("ANALYZE bank_entries"))
            analyse_at *= 2
        if progress is not None:
            progress(done)
    report.rejected.sort()
    return report


def export_entries(s: Session, bank: str | Bank, fmt: str) -> bytes:
    """The bank's enabled entries in a shared format (disabled entries are withheld from sharing)."""
    bank = _bank(s, bank)
    writer = format_module(fmt)
    query = sa.select(BankEntry).where(BankEntry.bank_id == bank.id, BankEntry.enabled).order_by(BankEntry.id)
    records = (
        Record(line=0, signal_type=e.signal_type, value=e.value, labels=e.labels, source=e.source, note=e.note, metadata=e.meta)
        for e in s.scalars(query.execution_options(yield_per=1000))
    )
    return writer.write(bank.name, records)
