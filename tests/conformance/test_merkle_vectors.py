"""transparency-dev/merkle's inclusion and consistency probes, run against both verifiers.

Source, read at test time (tests/references.py; nothing of it is committed here):

- repository: https://github.com/transparency-dev/merkle
- commit: 417fb0c314750d94e53942e9f92e79b6d35915db (2026-07-23; the two folders last changed in
  8c666a79ae695b010ac709a5d662e1f4fae5cd1a)
- paths: testdata/inclusion/**, testdata/consistency/** (98 + 98 JSON files)
- licence: Apache License 2.0, copyright Google LLC

They are the probes that transparency-dev/merkle's own proof/verify_test.go (TestVerifyInclusionProbes,
TestVerifyConsistencyProbes) walks and checks against proof.VerifyInclusion / proof.VerifyConsistency: each
names a leaf index and tree size (or two sizes), hashes (Go's JSON form of []byte: standard base64, null for
nil), a proof, a description and wantErr. Vigil's `vigil.ledger.merkle` and the outside auditor
`tools/verify_ledger.py` must give the reference's answer on every one of them. Not used:
testdata/subtreeinclusion and testdata/subtreeconsistency (subtree proofs of draft-ietf-plants-merkle-tree-certs,
which Vigil neither makes nor verifies).
"""

from __future__ import annotations

import base64
import hashlib
import json

import pytest

from vigil.ledger import merkle

from . import load_auditor, references

MERKLE = references.Reference(
    "transparency-dev/merkle", "417fb0c314750d94e53942e9f92e79b6d35915db",
    ("testdata/inclusion/**", "testdata/consistency/**"), licence="Apache-2.0")
VERIFIERS = {"vigil": merkle, "tool": load_auditor()}


def _probes(kind: str) -> list[str]:
    return [p for p in MERKLE.files(f"testdata/{kind}") if p.endswith(".json")]


def _probe(path: str) -> dict:
    """One probe file, parsed (all of a folder is read from git at once, then cached)."""
    folder = "/".join(path.split("/")[:2])  # testdata/inclusion or testdata/consistency
    return json.loads(MERKLE.read_many(folder)[path])


def _bytes(value: str | None) -> bytes:
    """Go's encoding/json form of []byte: standard base64, null for nil."""
    return b"" if value is None else base64.b64decode(value, validate=True)


def _id(path: str) -> str:
    return path.removeprefix("testdata/").removesuffix(".json")


INCLUSION = MERKLE.params(lambda: _probes("inclusion"), ids=_id)
CONSISTENCY = MERKLE.params(lambda: _probes("consistency"), ids=_id)


def test_every_probe_is_there():
    """98 inclusion and 98 consistency probes at the upstream commit: none lost in the reading."""
    MERKLE.require()
    inclusion, consistency = _probes("inclusion"), _probes("consistency")
    assert len(inclusion) == 98 and len(consistency) == 98
    wanted = [_probe(p)["wantErr"] for p in inclusion + consistency]
    assert wanted.count(False) >= 10 and wanted.count(True) >= 150  # both answers are exercised


@pytest.mark.parametrize("impl", sorted(VERIFIERS))
@pytest.mark.parametrize("path", INCLUSION)
def test_inclusion_probe(path, impl):
    p = _probe(path)
    proof = [_bytes(h) for h in p["proof"] or []]
    valid = VERIFIERS[impl].verify_inclusion(p["leafIdx"], p["treeSize"], _bytes(p["leafHash"]), proof, _bytes(p["root"]))
    assert valid is (not p["wantErr"]), f"{p['desc']}: reference wantErr={p['wantErr']}"


@pytest.mark.parametrize("impl", sorted(VERIFIERS))
@pytest.mark.parametrize("path", CONSISTENCY)
def test_consistency_probe(path, impl):
    p = _probe(path)
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
