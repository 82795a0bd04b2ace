"""Appending leaves: canonical records, O(log n) stored nodes, unique consecutive indexes under concurrency."""

import json
import subprocess
import sys
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from vigil.ledger import log, merkle
from vigil.store.db import session_scope
from vigil.store.ledger import LedgerLeaf, LedgerNode


def test_append_row_ledgers_canonical_json_of_the_declared_fields(things_db, thing):
    with session_scope(things_db) as s:
        row = thing(action="remove", content_ids=["c-1", "ü-2"], automated=True,
                    decided_at=datetime(2026, 3, 1, 13, 0, 5, 123456, tzinfo=timezone(timedelta(hours=1))), note="about a person")
        s.add(row)
        s.flush()
        assert log.append_row(s, "decision", row) == 0
    with session_scope(things_db) as s:
        leaf = s.get(LedgerLeaf, 0)
    expected = ('{"kind":"decision","row":{"action":"remove","automated":true,"content_ids":["c-1","ü-2"],'
                '"decided_at":"2026-03-01T12:00:05.123456Z","id":1},"table":"ledger_test_things"}')
    assert leaf.data == expected  # sorted keys, no whitespace, UTF-8, UTC; the free-text note is not there
    assert leaf.leaf_hash == merkle.leaf_hash(expected.encode("utf-8"))
    assert (leaf.kind, leaf.ref_table, leaf.ref_id) == ("decision", "ledger_test_things", "1")


def test_indexes_are_consecutive_and_roots_match_an_in_memory_tree(things_db, add_things):
    assert add_things(things_db, 23) == list(range(23))
    with session_scope(things_db) as s:
        hashes = [leaf.leaf_hash for leaf in log.leaves(s, 0, 23)]
        assert log.size(s) == 23
        for n in range(24):
            assert log.root_at(s, n) == merkle.root(hashes[:n])
        # stored nodes: one per completed perfect subtree, never the whole tree again
        assert s.execute(sa.select(sa.func.count()).select_from(LedgerNode)).scalar_one() == 23 - bin(23).count("1")
        for n in (1, 7, 16, 23):
            for i in range(n):
                assert merkle.verify_inclusion(i, n, hashes[i], log.inclusion_proof(s, i, n), merkle.root(hashes[:n]))
            for m in range(n + 1):
                assert merkle.verify_consistency(m, n, merkle.root(hashes[:m]), merkle.root(hashes[:n]),
                                                 log.consistency_proof(s, m, n)) is (m > 0)  # none from size 0


def test_append_many_and_rollback_leave_no_gap(things_db, add_things):
    with session_scope(things_db) as s:
        assert log.append_many(s, [("bank_change", "t", str(i), {"i": i}) for i in range(5)]) == [0, 1, 2, 3, 4]
    with pytest.raises(RuntimeError):
        with session_scope(things_db) as s:
            log.append(s, "decision", "t", "x", {"x": 1})
            raise RuntimeError("the caller's transaction fails")
    assert add_things(things_db, 1) == [5]  # the rolled-back leaf took no index


def test_bad_records_are_refused_with_a_reason(things_db, thing):
    class Unknown:
        pass

    class Personal:
        __ledger_fields__ = ("id", "notifier_email")

    with session_scope(things_db) as s:
        with pytest.raises(log.LedgerError, match="unknown ledger kind"):
            log.append(s, "opinion", "t", "1", {})
        with pytest.raises(log.LedgerError, match="no JSON form"):
            log.append(s, "decision", "t", "1", {"x": float("nan")})
        with pytest.raises(log.LedgerError, match="cannot ledger a Unknown"):
            log.append(s, "decision", "t", "1", {"x": Unknown()})
        unflushed = thing(action="remove", content_ids=[], automated=False, decided_at=datetime.now(timezone.utc))
        with pytest.raises(log.LedgerError, match="flush"):
            log.append_row(s, "decision", unflushed)
        with pytest.raises(log.LedgerError, match="declares no __ledger_fields__"):
            log.ledger_fields(Unknown)
        with pytest.raises(log.LedgerError, match="personal data"):
            log.ledger_fields(Personal)
    with session_scope(things_db) as s:
        assert log.size(s) == 0


def test_proof_requests_outside_the_ledger_are_refused(things_db, add_things):
    add_things(things_db, 3)
    with session_scope(things_db) as s:
        with pytest.raises(log.LedgerError, match="outside the ledger"):
            log.root_at(s, 4)
        with pytest.raises(log.LedgerError):
            log.inclusion_proof(s, 3, 3)
        with pytest.raises(log.LedgerError):
            log.consistency_proof(s, 3, 2)


APPENDER = """
import sys
from vigil.ledger import log
from vigil.store.db import session_scope
url, worker, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
for i in range(n):
    with session_scope(url) as s:
        log.append(s, "decision", "work", f"{worker}-{i}", {"worker": worker, "i": i})
"""


def test_concurrent_processes_get_unique_consecutive_indexes(things_db):
    workers, each = 4, 40
    procs = [subprocess.Popen([sys.executable, "-c", APPENDER, things_db, str(w), str(each)], stderr=subprocess.PIPE, text=True)
             for w in range(workers)]
    for p in procs:
        assert p.wait(timeout=300) == 0, p.stderr.read()
    with session_scope(things_db) as s:
        leaves = log.leaves(s, 0, workers * each + 10)
        assert [leaf.idx for leaf in leaves] == list(range(workers * each))
        assert len({leaf.ref_id for leaf in leaves}) == workers * each
        for w in range(workers):  # each worker's own leaves stay in its order
            mine = [json.loads(leaf.data)["i"] for leaf in leaves if leaf.ref_id.startswith(f"{w}-")]
            assert mine == list(range(each))
        hashes = [leaf.leaf_hash for leaf in leaves]
        assert log.root_at(s, len(hashes)) == merkle.root(hashes)
