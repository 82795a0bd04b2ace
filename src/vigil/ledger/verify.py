"""Recompute the whole ledger from the database and say exactly what does not add up.

Three independent records must agree: the leaves (their data and hashes), the node hashes stored
when each leaf was appended, and the checkpoints signed with a key the database never sees. On top,
every ledgered source row (a class with `__ledger_fields__`) must still produce the record in its
latest leaf. A change, deletion, reordering or insertion of a row or a leaf breaks at least one of
these, and each finding names the leaf and the row it concerns.

Limit: a forger who rewrites leaves, recomputes every node and appends a matching row cannot be
caught below the newest checkpoint an outsider holds; that is what published checkpoints are for.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Callable, Iterable, Sequence

import sqlalchemy as sa
from sqlalchemy.orm import Session

from vigil.ledger import log, merkle
from vigil.ledger.checkpoint import Checkpoint, CheckpointError, Verifier, open_note
from vigil.store.db import Base, load_all_tables
from vigil.store.ledger import HEAD_ID, LedgerCheckpoint, LedgerHead, LedgerLeaf, LedgerNode

CHUNK = 50_000
Progress = Callable[[str, int, int], None]  # (stage, done, total)

_leaves = LedgerLeaf.__table__
_nodes = LedgerNode.__table__


@dataclass(frozen=True)
class Finding:
    kind: str
    message: str
    leaf: int | None = None
    table: str | None = None
    row_id: str | None = None


@dataclass
class Report:
    leaves: int = 0
    nodes: int = 0
    rows: int = 0
    checkpoints: list[Checkpoint] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.findings

    def add(self, kind: str, message: str, **where) -> None:
        self.findings.append(Finding(kind, message, **where))


def ledgered_classes() -> list[type]:
    load_all_tables()
    return [m.class_ for m in Base.registry.mappers if getattr(m.class_, "__ledger_fields__", None)]


def verify(session: Session, verifiers: Sequence[Verifier], notes: Iterable[str] = (),
           classes: Sequence[type] | None = None, progress: Progress | None = None) -> Report:
    """Check leaves, nodes, head, checkpoints (stored and given) and ledgered rows; return every finding."""
    # One snapshot for every query, so appends that land while verifying cannot look like tampering.
    if session.get_bind().dialect.name == "postgresql":
        session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
    else:  # pysqlite opens no transaction for reads: open one, which pins a WAL snapshot
        session.connection().exec_driver_sql("BEGIN")
    report = Report()
    tick = progress or (lambda stage, done, total: None)
    total = session.execute(sa.select(sa.func.count()).select_from(_leaves)).scalar_one()
    hashes, refs = _check_leaves(session, report, total, tick)
    levels = _build_levels(hashes)
    _check_nodes(session, report, levels, tick)
    _check_head(session, report, levels)
    _check_checkpoints(session, report, levels, verifiers, notes)
    _check_rows(session, report, refs, classes if classes is not None else ledgered_classes(), tick)
    return report


def _check_leaves(session: Session, report: Report, total: int, tick: Progress):
    """Rehash every leaf's data; check the index sequence and that the columns agree with the data."""
    hashes: list[bytes] = []
    refs: dict[tuple[str, str], tuple[int, str, bytes]] = {}
    query = sa.select(_leaves.c.idx, _leaves.c.kind, _leaves.c.ref_table, _leaves.c.ref_id, _leaves.c.data,
                      sa.cast(_leaves.c.leaf_hash, sa.LargeBinary)).where(_leaves.c.idx > sa.bindparam("last")).order_by(_leaves.c.idx).limit(CHUNK)
    last = -1
    while True:
        rows = _raw_rows(session, query, last=last)
        if not rows:
            break
        for idx, kind, ref_table, ref_id, data, stored in rows:
            expected = len(hashes)
            if idx != expected:
                report.add("leaf_missing", f"leaves {expected}..{idx - 1} are missing: deleted, or leaves after "
                           f"them were renumbered", leaf=expected)
            # the stored bytes exactly, even if someone wrote invalid UTF-8 or a blob into the column
            raw = data if isinstance(data, bytes) else data.encode("utf-8", "surrogateescape")
            data = raw.decode("utf-8", "replace")
            computed = merkle.leaf_hash(raw)
            if computed != stored:
                report.add("leaf_changed", f"leaf {idx}: its data no longer hashes to the leaf hash stored at "
                           "append time (the data or the hash was changed)", leaf=idx, table=ref_table, row_id=ref_id)
            problem = _columns_disagree(kind, ref_table, data)
            if problem:
                report.add("leaf_changed", f"leaf {idx}: {problem}", leaf=idx, table=ref_table, row_id=ref_id)
            hashes.append(computed)
            refs[(ref_table, ref_id)] = (idx, kind, computed)
        last = rows[-1][0]
        tick("leaves", len(hashes), total)
    report.leaves = len(hashes)
    return hashes, refs


@lru_cache(maxsize=1024)
def _record_ends(kind: str, ref_table: str) -> tuple[str, str]:
    return (f'{{"kind":{json.dumps(kind, ensure_ascii=False)},"row":',
            f',"table":{json.dumps(ref_table, ensure_ascii=False)}}}')


def _raw_rows(session: Session, query, **params) -> list[tuple]:
    """Rows straight from the driver: leaves and nodes are ints, text and bytes on both databases, and
    skipping SQLAlchemy's result layer saves seconds per million rows."""
    conn = session.connection()
    compiled = query.compile(dialect=conn.dialect)
    values = compiled.construct_params(params)
    args = [values[name] for name in compiled.positiontup] if compiled.positiontup else values
    dbapi = conn.connection.dbapi_connection
    sqlite = conn.dialect.name == "sqlite"
    if sqlite:  # SQLite stores whatever bytes it is given as TEXT: read them back without failing
        factory, dbapi.text_factory = dbapi.text_factory, lambda b: b.decode("utf-8", "surrogateescape")
    cursor = dbapi.cursor()
    try:
        cursor.execute(str(compiled), args)
        return [tuple(r) for r in cursor.fetchall()]
    finally:
        cursor.close()
        if sqlite:
            dbapi.text_factory = factory


def _columns_disagree(kind: str, ref_table: str, data: str) -> str | None:
    """Canonical JSON sorts its keys, so a record reads {"kind":..,"row":{..},"table":..}: compare its ends
    with the leaf's columns without parsing a million documents."""
    head, tail = _record_ends(kind, ref_table)
    if data.startswith(head) and data.endswith(tail):
        return None
    return f"its columns say {kind} in {ref_table}, but its data is not that record: {data[:120]}"


def _build_levels(hashes: list[bytes]) -> list[list[bytes]]:
    """Every perfect subtree hash, level by level (level 0 = leaves)."""
    levels = [hashes]
    while len(levels[-1]) > 1:
        below = levels[-1]
        node = merkle.node_hash
        levels.append([node(below[i], below[i + 1]) for i in range(0, len(below) - 1, 2)])
    return levels


def _check_nodes(session: Session, report: Report, levels: list[list[bytes]], tick: Progress) -> None:
    """Stored node hashes were written at append time: a later change to a leaf range shows up here."""
    expected = sum(len(level) for level in levels[1:])
    bad: set[tuple[int, int]] = set()
    seen = extra = 0
    changed_leaves = {f.leaf for f in report.findings if f.kind == "leaf_changed"}
    query = (sa.select(_nodes.c.level, _nodes.c.idx, sa.cast(_nodes.c.hash, sa.LargeBinary))
             .where(sa.tuple_(_nodes.c.level, _nodes.c.idx) > sa.tuple_(sa.bindparam("level"), sa.bindparam("last")))
             .order_by(_nodes.c.level, _nodes.c.idx).limit(CHUNK))
    last = (0, -1)
    while True:
        rows = _raw_rows(session, query, level=last[0], last=last[1])
        if not rows:
            break
        for level, idx, h in rows:
            if level < len(levels) and idx < len(levels[level]):
                seen += 1
                if levels[level][idx] != h:
                    bad.add((level, idx))
            else:
                extra += 1
        last = (rows[-1][0], rows[-1][1])
        tick("nodes", seen, expected)
    report.nodes = seen
    stored_pairs = dict(_stored_level1(session, [i for level, i in bad if level == 1]))
    suspects = {levels[0][p]: p for level, i in bad if level == 1 for p in (2 * i, 2 * i + 1) if p < len(levels[0])}
    for level, idx in sorted(bad):
        first, end = idx << level, (idx + 1) << level
        if level > 1 and ((level - 1, 2 * idx) in bad or (level - 1, 2 * idx + 1) in bad):
            continue  # implied by the finding below it
        if level == 1 and changed_leaves & {first, first + 1}:
            continue
        if level == 1:
            moved = _moved_leaf(levels[0], first, stored_pairs.get(idx), suspects)
            if moved:
                report.add("leaf_moved", moved[1], leaf=moved[0])
                continue
        where = f"leaf {first} or {first + 1}" if level == 1 else f"leaves {first}..{end - 1}"
        report.add("node_mismatch", f"{where}: no longer combine to the subtree hash stored when they were appended "
                   f"(level {level}, index {idx}): a leaf in this range was changed, moved, inserted or deleted, "
                   "or the stored hash was altered", leaf=first)
    if seen < expected:
        report.add("node_missing", f"{expected - seen} of {expected} stored subtree hashes are missing")
    if extra:
        report.add("node_extra", f"{extra} stored subtree hashes cover leaves that no longer exist "
                   f"(the ledger holds {len(levels[0])} leaves): leaves were deleted from the end")


def _stored_level1(session: Session, indexes: list[int]):
    for start in range(0, len(indexes), 500):
        yield from session.execute(sa.select(_nodes.c.idx, sa.cast(_nodes.c.hash, sa.LargeBinary)).where(
            _nodes.c.level == 1, _nodes.c.idx.in_(indexes[start:start + 500]))).all()


def _moved_leaf(leaves: list[bytes], first: int, stored: bytes | None,
                suspects: dict[bytes, int]) -> tuple[int, str] | None:
    """Pin a pair mismatch on one leaf: if the stored pair hash fits one current leaf and a leaf that
    now sits elsewhere, that other position is where the original went."""
    if stored is None or first + 1 >= len(leaves):
        return None
    left, right = leaves[first], leaves[first + 1]
    for h, pos in suspects.items():
        if h != right and merkle.node_hash(left, h) == stored:
            return first + 1, f"leaf {first + 1} is not the leaf appended there: that leaf is now at index {pos}"
        if h != left and merkle.node_hash(h, right) == stored:
            return first, f"leaf {first} is not the leaf appended there: that leaf is now at index {pos}"
    return None


def _root(levels: list[list[bytes]], size: int) -> bytes:
    """The root at any size from the recomputed levels: at most one hash per level."""
    return merkle.fold([levels[lv][i] for lv, i in merkle.perfect_parts(0, size)]) if size else merkle.EMPTY_ROOT


def _check_head(session: Session, report: Report, levels: list[list[bytes]]) -> None:
    n = len(levels[0])
    head = session.get(LedgerHead, HEAD_ID)
    size = head.size if head is not None else 0
    if size != n:
        report.add("head", f"the ledger head says {size} leaves but the table holds {n}: "
                   + ("leaves were deleted" if size > n else "leaves were inserted without the append lock"))
        return
    if head is not None and merkle.Frontier.from_bytes(head.size, head.frontier).root() != _root(levels, n):
        report.add("head", "the ledger head's frontier does not match the leaves")


def _check_checkpoints(session: Session, report: Report, levels: list[list[bytes]],
                       verifiers: Sequence[Verifier], notes: Iterable[str]) -> None:
    n = len(levels[0])
    signed: dict[int, Checkpoint] = {}
    candidates = [(f"checkpoint #{row.id} (size {row.tree_size})", row.note, row)
                  for row in session.scalars(sa.select(LedgerCheckpoint).order_by(LedgerCheckpoint.tree_size))]
    candidates += [(f"given checkpoint {i + 1}", note, None) for i, note in enumerate(notes)]
    for label, note, row in candidates:
        try:
            cp = open_note(note, list(verifiers))
        except CheckpointError as exc:
            report.add("checkpoint_signature", f"{label}: {exc}")
            continue
        if row is not None and (row.tree_size != cp.size or row.root_hash != cp.root):
            report.add("checkpoint_changed", f"{label}: its columns disagree with its signed note "
                       f"(signed size {cp.size}, root {cp.root.hex()})")
        if cp.size in signed and signed[cp.size].root != cp.root:
            report.add("checkpoint_fork", f"{label}: two signed checkpoints of size {cp.size} have different roots")
        signed[cp.size] = cp
    report.checkpoints = [signed[size] for size in sorted(signed)]
    good = 0
    for cp in report.checkpoints:
        if cp.size > n:
            report.add("checkpoint_size", f"the checkpoint of size {cp.size} was signed, but the ledger holds only "
                       f"{n} leaves: leaves {n}..{cp.size - 1} were deleted", leaf=n)
            continue
        if _root(levels, cp.size) != cp.root:
            report.add("checkpoint_root", f"leaves {good}..{cp.size - 1}: the leaves no longer produce the root signed "
                       f"in the checkpoint of size {cp.size}; something below that size was changed, reordered, "
                       "inserted or deleted since", leaf=good)
            continue
        good = cp.size
    verified = [cp for cp in report.checkpoints if cp.size <= n]
    for older, newer in zip(verified, verified[1:]):
        if older.size == 0:
            continue  # every tree extends the empty one, whose root was checked above: there is no proof to ask for
        try:
            proof = log.consistency_proof(session, older.size, newer.size)
        except log.LedgerError as exc:
            report.add("proof", f"no consistency proof from size {older.size} to {newer.size}: {exc}")
            continue
        if not merkle.verify_consistency(older.size, newer.size, older.root, newer.root, proof):
            report.add("proof", f"the consistency proof the API would serve from size {older.size} to "
                       f"{newer.size} does not verify against their signed roots")


def _check_rows(session: Session, report: Report, refs: dict[tuple[str, str], tuple[int, str, bytes]],
                classes: Sequence[type], tick: Progress) -> None:
    """Every ledgered row must reproduce its latest leaf, and every leaf must still have its row."""
    mismatched: list[tuple[str, str, int, dict]] = []
    tables = set()
    for cls in classes:
        table = cls.__table__
        tables.add(table.name)
        fields = log.ledger_fields(cls)
        mapper = sa.inspect(cls)
        pending: dict[str, Iterable] = getattr(cls, "__ledger_pending__", {})
        attrs = list(dict.fromkeys([*fields, *log.ledger_digests(cls), *pending]))
        pk = [mapper.get_property_by_column(c).key for c in mapper.primary_key]
        columns = [mapper.attrs[a].columns[0] for a in attrs] + list(mapper.primary_key)
        pos = {a: i for i, a in enumerate(attrs)}
        pending_pos = [(attrs.index(f), tuple(allowed)) for f, allowed in pending.items()]
        pk_pos = list(range(len(attrs), len(attrs) + len(pk)))
        total = session.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
        done = 0
        for values in session.execute(sa.select(*columns)).yield_per(CHUNK):
            ref_id = str(values[pk_pos[0]]) if len(pk_pos) == 1 else "/".join(str(values[i]) for i in pk_pos)
            done += 1
            entry = refs.pop((table.name, ref_id), None)
            if entry is None:
                if not any(values[i] in allowed for i, allowed in pending_pos):
                    report.add("row_unledgered", f"{table.name} #{ref_id} has no ledger leaf: it was inserted "
                               "outside Vigil, or its leaf was deleted", table=table.name, row_id=ref_id)
                continue
            idx, kind, leaf = entry
            record = {"kind": kind, "table": table.name, "row": log.row_fields(cls, lambda f: values[pos[f]])}
            if merkle.leaf_hash(log.canonical_json(record).encode("utf-8")) != leaf:
                mismatched.append((table.name, ref_id, idx, json.loads(log.canonical_json(record["row"]))))
            if done % CHUNK == 0:
                tick(f"rows: {table.name}", done, total)
        tick(f"rows: {table.name}", done, total)
        report.rows += done
    _describe_mismatches(session, report, mismatched)
    for (table_name, ref_id), (idx, _, _) in sorted(refs.items(), key=lambda kv: kv[1][0]):
        if table_name in tables:
            report.add("row_deleted", f"{table_name} #{ref_id} (leaf {idx}) is missing from its table",
                       leaf=idx, table=table_name, row_id=ref_id)
        else:
            report.add("unknown_table", f"leaf {idx} is about {table_name} #{ref_id}, which is not a ledgered table",
                       leaf=idx, table=table_name, row_id=ref_id)


def _describe_mismatches(session: Session, report: Report, mismatched: list[tuple[str, str, int, dict]]) -> None:
    """Name the fields that differ between each changed row and its leaf."""
    for start in range(0, len(mismatched), 500):
        chunk = mismatched[start:start + 500]
        column = (sa.func.convert_to(_leaves.c.data, "UTF8") if session.get_bind().dialect.name == "postgresql"
                  else sa.cast(_leaves.c.data, sa.LargeBinary))  # SQLite may hold bytes that are not UTF-8
        data = {idx: bytes(raw).decode("utf-8", "replace") for idx, raw in session.execute(
            sa.select(_leaves.c.idx, column).where(_leaves.c.idx.in_([m[2] for m in chunk])))}
        for table_name, ref_id, idx, row in chunk:
            try:
                ledgered = json.loads(data[idx]).get("row", {})
            except (ValueError, AttributeError):
                ledgered = {}
            diffs = [f"{k}: ledger {json.dumps(ledgered.get(k), ensure_ascii=False)}, "
                     f"row {json.dumps(row.get(k), ensure_ascii=False)}"
                     for k in sorted(set(row) | set(ledgered)) if row.get(k) != ledgered.get(k)]
            detail = "; ".join(diffs) if diffs else "the leaf's kind or table differs"
            report.add("row_changed", f"{table_name} #{ref_id} no longer matches leaf {idx} ({detail})",
                       leaf=idx, table=table_name, row_id=ref_id)
