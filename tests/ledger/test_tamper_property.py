"""Property: whatever single change is made to a ledger (any size, any position), verification fails."""

from datetime import datetime, timezone

import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vigil.ledger import checkpoint as cp
from vigil.ledger import log
from vigil.ledger.verify import verify
from vigil.store.db import Database, session_scope

from .conftest import local_signer

TAMPERS = ("flip_data", "rehash_data", "swap", "delete", "insert", "node", "row")


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(n=st.integers(2, 40), data=st.data())
def test_any_single_tamper_is_found(things_db, thing, n, data):
    db = Database(things_db)
    engine = db.engine
    with engine.begin() as conn:
        for table in ("ledger_leaves", "ledger_nodes", "ledger_head", "ledger_checkpoints", "ledger_test_things"):
            conn.execute(sa.text(f"DELETE FROM {table}"))
    with session_scope(things_db) as s:
        for i in range(n):
            row = thing(id=i + 1, action="remove", content_ids=[f"c{i}"], automated=False,
                        decided_at=datetime(2026, 1, 1, tzinfo=timezone.utc))
            s.add(row)
            s.flush()
            log.append_row(s, "decision", row)
        cp.publish(s, local_signer())
    tamper = data.draw(st.sampled_from(TAMPERS))
    i = data.draw(st.integers(0, n - 1))
    j = data.draw(st.integers(0, n - 1).filter(lambda x: x != i))
    with engine.begin() as conn:
        leaf = conn.execute(sa.text("SELECT data FROM ledger_leaves WHERE idx = :i"), {"i": i}).scalar()
        if tamper == "flip_data":
            conn.execute(sa.text("UPDATE ledger_leaves SET data = :d WHERE idx = :i"), {"d": leaf.replace("remove", "rem0ve"), "i": i})
        elif tamper == "rehash_data":
            forged = leaf.replace("remove", "label")
            conn.execute(sa.update(log.LedgerLeaf.__table__).where(log.LedgerLeaf.idx == i)
                         .values(data=forged, leaf_hash=log.merkle.leaf_hash(forged.encode())))
        elif tamper == "swap":
            for a, b in ((i, -1), (j, i), (-1, j)):
                conn.execute(sa.text("UPDATE ledger_leaves SET idx = :b WHERE idx = :a"), {"a": a, "b": b})
        elif tamper == "delete":
            conn.execute(sa.text("DELETE FROM ledger_leaves WHERE idx = :i"), {"i": i})
        elif tamper == "insert":
            for k in range(n - 1, i - 1, -1):
                conn.execute(sa.text("UPDATE ledger_leaves SET idx = :b WHERE idx = :a"), {"a": k, "b": k + 1})
            conn.execute(sa.insert(log.LedgerLeaf.__table__).values(
                idx=i, kind="decision", ref_table="ledger_test_things", ref_id=str(i + 1), data=leaf,
                leaf_hash=log.merkle.leaf_hash(leaf.encode()), created_at=datetime.now(timezone.utc)))
        elif tamper == "node":
            conn.execute(sa.text("UPDATE ledger_nodes SET hash = ledger_nodes.hash || ledger_nodes.hash "
                                 "WHERE level = 1 AND idx = 0"))
        else:
            conn.execute(sa.text("UPDATE ledger_test_things SET action = 'label' WHERE id = :id"), {"id": i + 1})
    with session_scope(things_db) as s:
        report = verify(s, [local_signer().verifier], classes=[thing])
    assert not report.ok, tamper
    if tamper in ("flip_data", "delete", "row"):
        assert any(f.leaf == i or f.row_id == str(i + 1) for f in report.findings), (tamper, report.findings)
