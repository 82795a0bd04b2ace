"""transparency-dev/merkle's inclusion and consistency probes, run against both verifiers.

The probes (tests/conformance/data/merkle, copied unchanged; see SOURCE.md there) are the ones
transparency-dev/merkle's own proof/verify_test.go walks: each names a leaf index and tree size (or two
sizes), hashes, a proof and whether verification must fail. Vigil's `vigil.ledger.merkle` and the outside
auditor `tools/verify_ledger.py` must give the reference's answer on every one of them.
"""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import pytest

from vigil.ledger import merkle

from . import load_auditor

DATA = Path(__file__).parent / "data" / "merkle"
VERIFIERS = {"vigil": merkle, "tool": load_auditor()}


def _probes(kind: str) -> list[Path]:
    return sorted((DATA / kind).rglob("*.json"))


def _bytes(value: str | None) -> bytes:
    """Go's encoding/json form of []byte: standard base64, null for nil."""
    return b"" if value is None else base64.b64decode(value, validate=True)


INCLUSION = _probes("inclusion")
CONSISTENCY = _probes("consistency")


def _id(path: Path) -> str:
    return str(path.relative_to(DATA).with_suffix(""))


def test_every_probe_is_there():
    """98 inclusion and 98 consistency probes at the upstream commit (SOURCE.md): none lost in the copy."""
    assert len(INCLUSION) == 98 and len(CONSISTENCY) == 98
    wanted = [json.loads(p.read_text())["wantErr"] for p in INCLUSION + CONSISTENCY]
    assert wanted.count(False) >= 10 and wanted.count(True) >= 150  # both answers are exercised


@pytest.mark.parametrize("impl", sorted(VERIFIERS))
@pytest.mark.parametrize("path", INCLUSION, ids=_id)
def test_inclusion_probe(path, impl):
    p = json.loads(path.read_text())
    proof = [_bytes(h) for h in p["proof"] or []]
    valid = VERIFIERS[impl].verify_inclusion(p["leafIdx"], p["treeSize"], _bytes(p["leafHash"]), proof, _bytes(p["root"]))
    assert valid is (not p["wantErr"]), f"{p['desc']}: reference wantErr={p['wantErr']}"


@pytest.mark.parametrize("impl", sorted(VERIFIERS))
@pytest.mark.parametrize("path", CONSISTENCY, ids=_id)
def test_consistency_probe(path, impl):
    p = json.loads(path.read_text())
    proof = [_bytes(h) for h in p["proof"] or []]
    valid = VERIFIERS[impl].verify_consistency(p["size1"], p["size2"], _bytes(p["root1"]), _bytes(p["root2"]), proof)
    assert valid is (not p["wantErr"]), f"{p['desc']}: reference wantErr={p['wantErr']}"


@pytest.mark.parametrize("impl", sorted(VERIFIERS))
def test_the_review_cases_by_name(impl):
    """The probes the review found accepted (M4/M20, M6/M22), spelled out."""
    v = VERIFIERS[impl]
    empty = hashlib.sha256(b"").digest()
    assert v.verify_inclusion(0, 1, b"", [], b"") is False  # single-entry/empty-root-and-leaf
    leaf = merkle.leaf_hash(b"x")
    assert v.verify_inclusion(0, 1, leaf, [], leaf) is True
    assert v.verify_inclusion(0, 1, leaf[:31], [], leaf[:31]) is False
    assert v.verify_consistency(0, 1, empty, leaf, []) is False  # no proof from size 0
    assert v.verify_consistency(0, 0, empty, empty, []) is False
    assert v.verify_consistency(1, 1, leaf, leaf, []) is True
    assert v.verify_consistency(1, 1, leaf, empty, []) is False  # equal sizes, different roots
    assert v.verify_consistency(1, 1, leaf, leaf, [leaf]) is False
    two = merkle.node_hash(leaf, leaf)
    assert v.verify_consistency(1, 2, leaf, two, [leaf]) is True
    assert v.verify_consistency(1, 2, leaf, two, [leaf + b"\0"]) is False  # a 33-byte proof hash
    assert v.verify_inclusion(0, 2, leaf, [leaf + b"\0"], two) is False


@pytest.mark.parametrize("impl", sorted(VERIFIERS))
def test_proofs_vigil_makes_still_verify(impl):
    """The strict checks refuse nothing Vigil itself produces (every size up to 20)."""
    v = VERIFIERS[impl]
    hashes = [merkle.leaf_hash(bytes([i])) for i in range(20)]
    tree = merkle.list_subtree(hashes)
    for n in range(1, 21):
        root = merkle.root(hashes[:n])
        for i in range(n):
            assert v.verify_inclusion(i, n, hashes[i], merkle.inclusion_proof(i, n, tree), root)
        for m in range(1, n + 1):
            assert v.verify_consistency(m, n, merkle.root(hashes[:m]), root, merkle.consistency_proof(m, n, tree))


def test_a_signed_empty_ledger_still_verifies(db_url, tmp_path):
    """A checkpoint of size 0 (say, a report on a fresh install) and a later one: nothing was tampered with."""
    from vigil.banks import service as banks
    from vigil.ledger import checkpoint as cp
    from vigil.ledger.verify import verify
    from vigil.store.db import session_scope

    signer = cp.load_signer(tmp_path / "home")
    with session_scope(db_url) as s:
        assert cp.publish(s, signer).tree_size == 0
    with session_scope(db_url) as s:
        banks.add_entry(s, banks.create_bank(s, "tvec"), "md5", "0" * 32)
    with session_scope(db_url) as s:
        assert cp.publish(s, signer).tree_size > 0
    with session_scope(db_url) as s:
        report = verify(s, [signer.verifier], [])
    assert report.ok, [f.message for f in report.findings]
