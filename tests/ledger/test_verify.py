"""`verify` finds and names every kind of tampering, on SQLite and PostgreSQL.

The world: ten decision-like rows of the tests' own table, a hash bank with its change log (the real
bank_changes table), and decisions on a case (the real decisions table), all ledgered; a signed
checkpoint after the first part, and more rows after it.
"""

from datetime import datetime, timezone

import pytest
import sqlalchemy as sa

from vigil.banks import service as banks
from vigil.ledger import checkpoint as cp
from vigil.ledger import log, merkle
from vigil.ledger.verify import verify
from vigil.store.banks import BankChange
from vigil.store.cases import Case, Decision
from vigil.store.db import connect, session_scope

from .conftest import local_signer, ORIGIN

MD5 = "d41d8cd98f00b204e9800998ecf8427e"
AT = datetime(2026, 2, 3, 4, 5, 6, tzinfo=timezone.utc)


def _decision(s, case_id: int, action: str) -> Decision:
    d = Decision(case_id=case_id, action=action, territorial_scope=["DE"], ground_type="legal",
                 ground_reference="TCO Art. 3", explanation="free text, not ledgered", reviewer_key_id=7,
                 automated=False, content_ids=[f"content-{case_id}"], appeal_id=None, decided_at=AT)
    s.add(d)
    s.flush()
    log.append_row(s, "decision", d)
    return d


@pytest.fixture
def world(things_db, add_things, thing):
    add_things(things_db, 10)
    with session_scope(things_db) as s:
        bank = banks.create_bank(s, "tvec")
        for i in range(3):
            banks.add_entry(s, bank, "md5", f"{i:032x}")
        case = Case(state="decided", queue="default", priority=1.0, source="user", category=None, language="en",
                    content_type="image", deadline=AT, evidence={}, notice_count=1, created_at=AT, updated_at=AT)
        s.add(case)
        s.flush()
        for action in ("remove", "label"):
            _decision(s, case.id, action)
    signer = local_signer()
    with session_scope(things_db) as s:
        cp.publish(s, signer)
    add_things(things_db, 3, start=10)
    with session_scope(things_db) as s:
        size = log.size(s)
        cp.publish(s, signer)
    return {"url": things_db, "classes": [thing, BankChange, Decision], "verifier": signer.verifier, "size": size}


def run(world, notes=()):
    with session_scope(world["url"]) as s:
        return verify(s, [world["verifier"]], notes, classes=world["classes"])


def sql(world, *statements):
    with connect(world["url"]) as conn:
        for statement in statements:
            conn.execute(sa.text(statement))


def leaf_of(world, table, row_id):
    with session_scope(world["url"]) as s:
        return s.execute(sa.text("SELECT idx FROM ledger_leaves WHERE ref_table = :t AND ref_id = :i ORDER BY idx DESC"),
                         {"t": table, "i": str(row_id)}).scalar()


def kinds(report):
    return {f.kind for f in report.findings}


def named(report, kind, *, leaf=None, table=None, row_id=None):
    return any(f.kind == kind and (leaf is None or f.leaf == leaf) and (table is None or f.table == table)
               and (row_id is None or f.row_id == str(row_id)) for f in report.findings)


def test_an_untouched_ledger_verifies(world):
    report = run(world)
    assert report.ok, report.findings
    assert report.leaves == world["size"] == 10 + 4 + 2 + 3
    assert report.rows == world["size"]
    assert [c.size for c in report.checkpoints] == [16, 19]


ROWS = [("ledger_test_things", "action", "'disable'"), ("bank_changes", "value", "'ffffffffffffffffffffffffffffffff'"),
        ("decisions", "action", "'no_action'")]


@pytest.mark.parametrize("table,column,value", ROWS)
def test_changed_row_is_named_with_its_leaf(world, table, column, value):
    row_id = 2
    sql(world, f"UPDATE {table} SET {column} = {value} WHERE id = {row_id}")
    report = run(world)
    leaf = leaf_of(world, table, row_id)
    assert named(report, "row_changed", leaf=leaf, table=table, row_id=row_id)
    (finding,) = [f for f in report.findings if f.kind == "row_changed"]
    assert column in finding.message and f"leaf {leaf}" in finding.message
    assert kinds(report) == {"row_changed"}


@pytest.mark.parametrize("table", [t for t, _, _ in ROWS])
def test_deleted_row_is_named_with_its_leaf(world, table):
    leaf = leaf_of(world, table, 1)
    sql(world, f"DELETE FROM {table} WHERE id = 1")
    report = run(world)
    assert named(report, "row_deleted", leaf=leaf, table=table, row_id=1)
    assert kinds(report) == {"row_deleted"}


def test_inserted_rows_without_leaves_are_named(world):
    sql(world, "INSERT INTO ledger_test_things (id, action, content_ids, automated, decided_at, note) "
               "VALUES (100, 'remove', '[]', false, '2026-01-01 00:00:00', '')",
        "INSERT INTO bank_changes (id, bank_id, bank_name, kind, created_at) VALUES (100, 1, 'tvec', 'delete', '2026-01-01 00:00:00')",
        "INSERT INTO decisions (id, case_id, action, territorial_scope, ground_type, ground_reference, explanation, "
        "automated, content_ids, decided_at) VALUES (100, 1, 'remove', '[]', 'legal', 'x', 'x', false, '[]', '2026-01-01 00:00:00')")
    report = run(world)
    for table in ("ledger_test_things", "bank_changes", "decisions"):
        assert named(report, "row_unledgered", table=table, row_id=100)
    assert kinds(report) == {"row_unledgered"}


def test_rows_declared_pending_need_no_leaf_until_decided(world):
    sql(world, "INSERT INTO ledger_test_things (id, action, content_ids, automated, decided_at, note, state) "
               "VALUES (101, 'remove', '[]', false, '2026-01-01 00:00:00', '', 'open')")
    assert run(world).ok
    sql(world, "UPDATE ledger_test_things SET state = 'decided' WHERE id = 101")
    assert named(run(world), "row_unledgered", table="ledger_test_things", row_id=101)


@pytest.mark.parametrize("table,column", [("ledger_test_things", "action"), ("decisions", "action"), ("bank_changes", "value")])
def test_reordered_rows_are_both_named(world, table, column):
    """Swapping what two rows say (their order in the table's history) breaks both against their leaves."""
    with connect(world["url"]) as conn:
        a, b = [conn.execute(sa.text(f"SELECT {column} FROM {table} WHERE id = :i"), {"i": i}).scalar() for i in (1, 2)]
        assert a != b
        conn.execute(sa.text(f"UPDATE {table} SET {column} = :v WHERE id = 1"), {"v": b})
        conn.execute(sa.text(f"UPDATE {table} SET {column} = :v WHERE id = 2"), {"v": a})
    report = run(world)
    for row_id in (1, 2):
        assert named(report, "row_changed", leaf=leaf_of(world, table, row_id), table=table, row_id=row_id)


def test_changed_leaf_data_is_named(world):
    sql(world, "UPDATE ledger_leaves SET data = REPLACE(data, '\"remove\"', '\"label\"') WHERE idx = 4")
    report = run(world)
    assert named(report, "leaf_changed", leaf=4)
    assert named(report, "row_changed", leaf=4, table="ledger_test_things", row_id=5)
    assert "checkpoint_root" in kinds(report)


def test_leaf_rewritten_with_a_matching_hash_is_named(world):
    with session_scope(world["url"]) as s:
        data = s.get(log.LedgerLeaf, 4).data.replace('"remove"', '"label"')
    with connect(world["url"]) as conn:
        conn.execute(sa.update(log.LedgerLeaf.__table__).where(log.LedgerLeaf.idx == 4)
                     .values(data=data, leaf_hash=merkle.leaf_hash(data.encode())))
    sql(world, "UPDATE ledger_test_things SET action = 'label' WHERE id = 5")
    report = run(world)
    assert named(report, "node_mismatch", leaf=4)  # "leaf 4 or 5", from the hash stored when they were appended
    assert named(report, "checkpoint_root", leaf=0)
    assert "row_changed" not in kinds(report)  # the row was forged to match: the tree still tells


def test_deleted_leaf_is_named(world):
    sql(world, "DELETE FROM ledger_leaves WHERE idx = 6")
    report = run(world)
    assert named(report, "leaf_missing", leaf=6)
    assert named(report, "row_unledgered", table="ledger_test_things", row_id=7)
    assert {"head", "checkpoint_root"} <= kinds(report)


def test_deleted_newest_leaf_is_named(world):
    last = world["size"] - 1
    sql(world, f"DELETE FROM ledger_leaves WHERE idx = {last}")
    report = run(world)
    assert named(report, "checkpoint_size", leaf=last)
    assert named(report, "row_unledgered", table="ledger_test_things", row_id=13)
    assert "head" in kinds(report)


def test_reordered_leaves_are_named(world):
    sql(world, "UPDATE ledger_leaves SET idx = 1000 WHERE idx = 3", "UPDATE ledger_leaves SET idx = 3 WHERE idx = 8",
        "UPDATE ledger_leaves SET idx = 8 WHERE idx = 1000")
    report = run(world)
    assert named(report, "leaf_moved", leaf=3) and named(report, "leaf_moved", leaf=8)
    moved = {f.message for f in report.findings if f.kind == "leaf_moved"}
    assert any("now at index 8" in m for m in moved) and any("now at index 3" in m for m in moved)
    assert "checkpoint_root" in kinds(report) and "row_changed" not in kinds(report)


def test_inserted_leaf_is_named(world):
    """A forged decision slipped into the middle: every later leaf is renumbered."""
    record = {"kind": "decision", "table": "ledger_test_things",
              "row": {"id": 50, "action": "no_action", "content_ids": [], "automated": False, "decided_at": "2026-01-01T00:00:00.000000Z"}}
    data = log.canonical_json(record)
    with connect(world["url"]) as conn:
        for idx in range(world["size"] - 1, 4, -1):
            conn.execute(sa.text("UPDATE ledger_leaves SET idx = :n WHERE idx = :o"), {"n": idx + 1, "o": idx})
        conn.execute(sa.insert(log.LedgerLeaf.__table__).values(
            idx=5, kind="decision", ref_table="ledger_test_things", ref_id="50", data=data,
            leaf_hash=merkle.leaf_hash(data.encode()), created_at=datetime.now(timezone.utc)))
    report = run(world)
    # the leaf appended at 5 is found again one place later, and the forged leaf is about no row at all
    assert any(f.kind == "leaf_moved" and f.leaf == 5 and "now at index 6" in f.message for f in report.findings)
    assert named(report, "row_deleted", leaf=5, table="ledger_test_things", row_id=50)  # a leaf about no row
    assert {"head", "checkpoint_root"} <= kinds(report)


def test_leaf_appended_without_the_lock_is_named(world):
    data = log.canonical_json({"kind": "decision", "table": "ledger_test_things", "row": {"id": 77}})
    with connect(world["url"]) as conn:
        conn.execute(sa.insert(log.LedgerLeaf.__table__).values(
            idx=world["size"], kind="decision", ref_table="ledger_test_things", ref_id="77", data=data,
            leaf_hash=merkle.leaf_hash(data.encode()), created_at=datetime.now(timezone.utc)))
    report = run(world)
    assert any(f.kind == "head" and "without the append lock" in f.message for f in report.findings)
    assert named(report, "row_deleted", leaf=world["size"], row_id=77)


def test_history_rewritten_consistently_is_caught_by_the_signed_checkpoint(world):
    """The forger changes a leaf and its row, then rebuilds every node and the head: only the signature remains."""
    with session_scope(world["url"]) as s:
        leaves = log.leaves(s, 0, world["size"])
    forged = [(leaf.kind, leaf.ref_table, leaf.ref_id, _json(leaf.data)) for leaf in leaves]
    forged[2][3]["row"]["action"] = "label" if forged[2][3]["row"]["action"] != "label" else "remove"
    sql(world, "DELETE FROM ledger_leaves", "DELETE FROM ledger_nodes", "DELETE FROM ledger_head",
        f"UPDATE ledger_test_things SET action = '{forged[2][3]['row']['action']}' WHERE id = 3")
    with session_scope(world["url"]) as s:
        log.append_many(s, forged)
    report = run(world)
    assert [f.kind for f in report.findings] == ["checkpoint_root", "checkpoint_root"]
    assert report.findings[0].message.startswith("leaves 0..15:")
    # and an auditor's saved checkpoint, checked against the rewritten ledger, fails the same way
    with session_scope(world["url"]) as s:
        old_note = s.scalars(sa.select(cp.LedgerCheckpoint).order_by(cp.LedgerCheckpoint.tree_size)).first().note
    sql(world, "DELETE FROM ledger_checkpoints")
    report = run(world, [old_note])
    assert [f.kind for f in report.findings] == ["checkpoint_root"]


def test_tampered_checkpoints_are_named(world, tmp_path):
    sql(world, f"UPDATE ledger_checkpoints SET root_hash = {_blob(world, b'x' * 32)} WHERE tree_size = 16")
    report = run(world)
    assert any(f.kind == "checkpoint_changed" and "size 16" in f.message for f in report.findings)
    other = cp.load_signer(tmp_path / "forger", ORIGIN)
    with session_scope(world["url"]) as s:
        forged = other.sign(cp.body(other.name, world["size"], log.root_at(s, world["size"])))
    report = run(world, [forged])
    assert any(f.kind == "checkpoint_signature" and "given checkpoint 1" in f.message for f in report.findings)


def _json(text):
    import json

    return json.loads(text)


def _blob(world, raw: bytes) -> str:
    return f"X'{raw.hex()}'" if world["url"].startswith("sqlite") else f"'\\x{raw.hex()}'::bytea"


def test_garbage_bytes_in_ledger_columns_are_findings_not_crashes(world):
    if world["url"].startswith("sqlite"):  # SQLite keeps any bytes in a TEXT column; PostgreSQL refuses them
        sql(world, "UPDATE ledger_leaves SET data = CAST(X'7b80ff' AS TEXT) WHERE idx = 4",
            "UPDATE ledger_nodes SET hash = 'not a hash' WHERE level = 1 AND idx = 4")
    else:
        sql(world, "UPDATE ledger_leaves SET data = 'not json' WHERE idx = 4",
            "UPDATE ledger_nodes SET hash = 'not a hash'::bytea WHERE level = 1 AND idx = 4")
    report = run(world)
    assert named(report, "leaf_changed", leaf=4)
    assert named(report, "node_mismatch", leaf=8)
    assert named(report, "row_changed", leaf=4, table="ledger_test_things", row_id=5)


def test_verifying_a_live_ledger_sees_one_consistent_snapshot(world, add_things):
    """Appends keep landing while verify reads: nothing they do may look like tampering."""
    import threading

    stop = threading.Event()
    appended = []

    def keep_appending():
        while not stop.is_set() and len(appended) < 200:
            appended.extend(add_things(world["url"], 1, start=1000 + len(appended)))

    writer = threading.Thread(target=keep_appending)
    writer.start()
    try:
        reports = [run(world) for _ in range(3)]
    finally:
        stop.set()
        writer.join()
    assert appended
    for report in reports:
        assert report.ok, report.findings
    assert run(world).leaves == world["size"] + len(appended)
