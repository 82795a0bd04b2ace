"""The append-only decision log: appending leaves inside the caller's transaction, and reading the tree back.

A leaf is the RFC 8785 canonical JSON (vigil.canonical) of a ledgered row: {"kind", "table", "row": {the
class's __ledger_fields__}}, UTF-8. The row's fields sit under "row" so that a field called "kind" or
"table" cannot collide with the envelope. Only content ids and facts about content belong there.
Database values that JSON has no type for are written as text first (`plain`): datetimes as UTC
"YYYY-MM-DDTHH:MM:SS.ffffffZ", dates in ISO form, enums by value, bytes in hex.
"""

from __future__ import annotations

import enum
import hashlib
import uuid
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any, Iterable

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from vigil import canonical
from vigil.clock import now
from vigil.errors import InvalidInput
from vigil.ledger import merkle
from vigil.store.bulk import chunks
from vigil.store.db import is_postgres
from vigil.store.ledger import HEAD_ID, LedgerHead, LedgerLeaf, LedgerNode

KINDS = frozenset({"decision", "appeal_decision", "automated_action", "bank_change", "disclosure"})

# Field names that hold data about people. The ledger is public to auditors and never holds them.
PERSONAL_FIELDS = frozenset({
    "email", "phone", "ip", "ip_address", "username", "user_name",
    "notifier_name", "notifier_email", "reporter_name", "reporter_email",
})

_head = LedgerHead.__table__
_leaves = LedgerLeaf.__table__
_nodes = LedgerNode.__table__


class LedgerError(InvalidInput):
    """A row or record that cannot be ledgered, or a proof that cannot be made, with the reason."""

    code = "invalid_ledger_request"


def plain(value: Any) -> Any:
    """`value` with what a database column can hand back beyond JSON's own types written as text."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)) and not isinstance(value, enum.Enum):
        return value
    return _text_of(value)


def _text_of(value: Any) -> Any:
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(timezone.utc).replace(tzinfo=None)
        return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")  # naive values are UTC: Vigil stores UTC only
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return plain(value.value)
    if isinstance(value, (Decimal, uuid.UUID)):
        return str(value)
    if isinstance(value, bytes):
        return value.hex()
    raise LedgerError(f"cannot ledger a {type(value).__name__}")


def canonical_json(record: dict) -> str:
    """The leaf text of a record: RFC 8785 over `plain(record)`, the same text from SQLite and PostgreSQL."""
    try:
        return canonical.dumps(plain(record))
    except canonical.CanonicalError as exc:
        raise LedgerError(f"the record cannot be written as canonical JSON ({exc})") from exc


def ledger_fields(cls: type) -> tuple[str, ...]:
    fields = getattr(cls, "__ledger_fields__", None)
    if not fields:
        raise LedgerError(f"{cls.__name__} declares no __ledger_fields__, so it cannot be ledgered")
    personal = PERSONAL_FIELDS.intersection(fields)
    if personal:
        raise LedgerError(f"{cls.__name__}.__ledger_fields__ names personal data ({', '.join(sorted(personal))}); "
                          "the ledger holds content ids and facts only")
    return tuple(fields)


def row_ref(row: Any) -> tuple[str, str]:
    """(table, id) of a flushed ORM row; composite keys are joined with '/'."""
    identity = sa.inspect(row).identity
    if identity is None:
        raise LedgerError(f"{type(row).__name__} has no id yet: call session.flush() before ledgering it")
    return row.__table__.name, "/".join(str(part) for part in identity)


def ledger_digests(cls: type) -> tuple[str, ...]:
    """Free-text fields (e.g. a decision's explanation) ledgered as their SHA-256 only: tampering with them is
    detected, yet the public ledger never carries text that might name a person."""
    return tuple(getattr(cls, "__ledger_digests__", ()))


def text_digest(value: str | None) -> str | None:
    return None if value is None else hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()


def row_fields(cls: type, get) -> dict:
    """The "row" part of a record, reading each attribute through `get` (an ORM row or a fetched tuple)."""
    out = {f: get(f) for f in ledger_fields(cls)}
    for f in ledger_digests(cls):
        out[f + "_sha256"] = text_digest(get(f))
    return out


def row_record(kind: str, row: Any) -> dict:
    """The record of a row, as plain values; canonical_json gives it its one textual form."""
    return {"kind": kind, "table": row.__table__.name, "row": row_fields(type(row), lambda f: getattr(row, f))}


def append_row(session: Session, kind: str, row: Any) -> int:
    """Ledger a flushed ORM row inside the caller's transaction; return its leaf index.

    The append holds the ledger's lock until the caller commits (that is what makes indexes unique and
    gap-free across processes), so call it as late in the transaction as the row allows.
    """
    table, ref_id = row_ref(row)
    return append(session, kind, table, ref_id, row_record(kind, row))


def append(session: Session, kind: str, ref_table: str, ref_id: str, record: dict) -> int:
    """Append one leaf. The head row lock serialises appenders until the caller's transaction ends."""
    return append_many(session, [(kind, ref_table, ref_id, record)])[0]


def append_many(session: Session, items: Iterable[tuple[str, str, str, dict]]) -> list[int]:
    """Append several leaves under one lock, in order; return their indexes."""
    prepared = []
    for kind, ref_table, ref_id, record in items:
        if kind not in KINDS:
            raise LedgerError(f"unknown ledger kind {kind!r}; expected one of {', '.join(sorted(KINDS))}")
        data = canonical_json(record)
        prepared.append((kind, ref_table, str(ref_id), data, merkle.leaf_hash(data.encode("utf-8"))))
    if not prepared:
        return []
    frontier = lock_head(session)
    at = now()
    leaves, nodes, indexes = [], [], []
    for kind, ref_table, ref_id, data, leaf in prepared:
        idx = frontier.size
        for level, node_idx, h in frontier.append(leaf):
            nodes.append({"level": level, "idx": node_idx, "hash": h})
        leaves.append({"idx": idx, "kind": kind, "ref_table": ref_table, "ref_id": ref_id,
                       "data": data, "leaf_hash": leaf, "created_at": at})
        indexes.append(idx)
    session.execute(_leaves.insert(), leaves)
    if nodes:
        session.execute(_nodes.insert(), nodes)
    session.execute(_head.update().where(_head.c.id == HEAD_ID)
                    .values(size=frontier.size, frontier=frontier.to_bytes()))
    return indexes


def lock_head(session: Session) -> merkle.Frontier:
    """Take the writer lock and read the frontier.

    An UPDATE (rather than SELECT ... FOR UPDATE) takes the lock on both databases: SQLite then holds
    its write lock before reading, so a concurrent writer cannot invalidate what was read.
    """
    lock = (_head.update().where(_head.c.id == HEAD_ID).values(size=_head.c.size)
            .returning(_head.c.size, _head.c.frontier))
    row = session.execute(lock).first()
    if row is None:
        dialect = postgresql if is_postgres(session) else sqlite
        insert = dialect.insert(_head)
        session.execute(insert.values(id=HEAD_ID, size=0, frontier=b"").on_conflict_do_nothing())
        row = session.execute(lock).one()
    return merkle.Frontier.from_bytes(row.size, row.frontier)


def size(session: Session) -> int:
    return session.execute(sa.select(_head.c.size).where(_head.c.id == HEAD_ID)).scalar() or 0


def perfect_hashes(session: Session, parts: Iterable[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
    """Stored hashes of perfect subtrees (level, index): level 0 from leaves, higher levels from nodes."""
    parts = set(parts)
    found: dict[tuple[int, int], bytes] = {}
    leaf_ids = [i for level, i in parts if level == 0]
    node_ids = [(level, i) for level, i in parts if level > 0]
    for chunk in chunks(leaf_ids, 500):
        # CAST: a hash column that someone overwrote with text still reads back as bytes (and mismatches)
        for idx, h in session.execute(sa.select(_leaves.c.idx, sa.cast(_leaves.c.leaf_hash, sa.LargeBinary))
                                      .where(_leaves.c.idx.in_(chunk))):
            found[(0, idx)] = h
    for chunk in chunks(node_ids, 500):
        query = sa.select(_nodes.c.level, _nodes.c.idx, sa.cast(_nodes.c.hash, sa.LargeBinary)).where(
            sa.tuple_(_nodes.c.level, _nodes.c.idx).in_(chunk))
        for level, idx, h in session.execute(query):
            found[(level, idx)] = h
    missing = parts - found.keys()
    if missing:
        level, idx = min(missing)
        raise LedgerError(f"the ledger is missing the stored hash of subtree level {level} index {idx}; "
                          "run `vigil ledger verify` to find out why")
    return found


def subtree_hashes(session: Session, ranges: list[tuple[int, int]]) -> list[bytes]:
    """MTH(D[a:b]) for each range, from stored hashes in one or two queries."""
    plans = [merkle.perfect_parts(a, b) for a, b in ranges]
    stored = perfect_hashes(session, (p for plan in plans for p in plan))
    return [merkle.fold([stored[p] for p in plan]) for plan in plans]


def _check_size(session: Session, n: int, what: str = "size") -> None:
    current = size(session)
    if not 0 <= n <= current:
        raise LedgerError(f"{what} {n} is outside the ledger, which has {current} leaves")


def root_at(session: Session, tree_size: int) -> bytes:
    _check_size(session, tree_size)
    return subtree_hashes(session, [(0, tree_size)])[0] if tree_size else merkle.EMPTY_ROOT


def inclusion_proof(session: Session, index: int, tree_size: int) -> list[bytes]:
    _check_size(session, tree_size)
    if not 0 <= index < tree_size:
        raise LedgerError(f"leaf {index} is not in a tree of size {tree_size}")
    return subtree_hashes(session, merkle.inclusion_ranges(index, tree_size))


def consistency_proof(session: Session, first: int, second: int) -> list[bytes]:
    _check_size(session, second, "second size")
    if not 0 <= first <= second:
        raise LedgerError(f"first size {first} must be between 0 and the second size {second}")
    return subtree_hashes(session, merkle.consistency_ranges(first, second))


def leaves(session: Session, start: int, end: int) -> list[LedgerLeaf]:
    return list(session.scalars(sa.select(LedgerLeaf).where(LedgerLeaf.idx >= start, LedgerLeaf.idx < end)
                                .order_by(LedgerLeaf.idx)))


def find_leaf(session: Session, leaf: bytes) -> LedgerLeaf | None:
    return session.scalars(sa.select(LedgerLeaf).where(LedgerLeaf.leaf_hash == leaf)
                           .order_by(LedgerLeaf.idx).limit(1)).first()
