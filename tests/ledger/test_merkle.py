"""RFC 9162 hashing and proofs: the published vectors, the negative cases, and properties over any size."""

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vigil.ledger import merkle

# RFC 6962 test vectors (as used by the CT reference implementations), listed in ANCHORS.md.
VECTOR_LEAVES = [bytes.fromhex(h) for h in (
    "", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f")]
ROOT_1 = "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
ROOT_8 = "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"


def leaves(n: int) -> list[bytes]:
    return [merkle.leaf_hash(i.to_bytes(4, "big")) for i in range(n)]


def test_vector_roots():
    hashes = [merkle.leaf_hash(d) for d in VECTOR_LEAVES]
    assert merkle.root(hashes[:1]).hex() == ROOT_1
    assert merkle.root(hashes).hex() == ROOT_8


def test_empty_tree_and_domain_separation():
    assert merkle.root([]) == hashlib.sha256(b"").digest() == merkle.EMPTY_ROOT
    assert merkle.leaf_hash(b"ab") == hashlib.sha256(b"\x00ab").digest()
    assert merkle.node_hash(b"a" * 32, b"b" * 32) == hashlib.sha256(b"\x01" + b"a" * 32 + b"b" * 32).digest()
    # a leaf can never pose as an interior node
    pair = merkle.node_hash(merkle.leaf_hash(b"x"), merkle.leaf_hash(b"y"))
    assert merkle.leaf_hash(merkle.leaf_hash(b"x") + merkle.leaf_hash(b"y")) != pair


def test_root_splits_at_largest_power_of_two():
    h = leaves(7)
    left = merkle.node_hash(merkle.node_hash(h[0], h[1]), merkle.node_hash(h[2], h[3]))
    right = merkle.node_hash(merkle.node_hash(h[4], h[5]), h[6])
    assert merkle.root(h) == merkle.node_hash(left, right)


def test_inclusion_proof_shape_matches_rfc_path():
    h = leaves(7)
    proof = merkle.inclusion_proof(6, 7, merkle.list_subtree(h))
    assert proof == [merkle.node_hash(h[4], h[5]), merkle.root(h[:4])]


def test_frontier_reports_completed_nodes():
    f = merkle.Frontier()
    assert f.append(b"a" * 32) == []
    (completed,) = f.append(b"b" * 32)
    assert completed == (1, 0, merkle.node_hash(b"a" * 32, b"b" * 32))
    f.append(b"c" * 32)
    assert [(lv, i) for lv, i, _ in f.append(b"d" * 32)] == [(1, 1), (2, 0)]
    assert merkle.Frontier.from_bytes(f.size, f.to_bytes()).root() == f.root() == merkle.root([b"a" * 32, b"b" * 32, b"c" * 32, b"d" * 32])
    with pytest.raises(ValueError):
        merkle.Frontier(3, [b"a" * 32])


def flip(h: bytes, bit: int = 0) -> bytes:
    return bytes([h[0] ^ (1 << bit)]) + h[1:]


def test_inclusion_negative_cases():
    h = leaves(11)
    root = merkle.root(h)
    proof = merkle.inclusion_proof(5, 11, merkle.list_subtree(h))
    assert merkle.verify_inclusion(5, 11, h[5], proof, root)
    assert not merkle.verify_inclusion(5, 11, flip(h[5]), proof, root)  # flipped bit in the leaf
    assert not merkle.verify_inclusion(5, 11, h[5], [proof[0], flip(proof[1], 7), *proof[2:]], root)  # in the proof
    assert not merkle.verify_inclusion(5, 11, h[5], proof, flip(root))  # in the root
    assert not merkle.verify_inclusion(4, 11, h[5], proof, root)  # wrong index
    # wrong size: a size whose tree has another shape is refused (the path does not end at the root);
    # sizes of the same shape give the same computation, which is why a root is only ever trusted with its size
    assert not merkle.verify_inclusion(5, 7, h[5], proof, root)
    assert not merkle.verify_inclusion(5, 17, h[5], proof, root)
    assert not merkle.verify_inclusion(11, 11, h[5], proof, root)  # index outside the tree
    assert not merkle.verify_inclusion(5, 11, h[5], proof[:-1], root)  # truncated
    assert not merkle.verify_inclusion(5, 11, h[5], proof + [root], root)  # padded


def test_consistency_negative_cases():
    h = leaves(13)
    sub = merkle.list_subtree(h)
    r5, r13 = merkle.root(h[:5]), merkle.root(h)
    proof = merkle.consistency_proof(5, 13, sub)
    assert merkle.verify_consistency(5, 13, r5, r13, proof)
    assert not merkle.verify_consistency(5, 13, flip(r5), r13, proof)
    assert not merkle.verify_consistency(5, 13, r5, flip(r13), proof)
    assert not merkle.verify_consistency(5, 13, r5, r13, [flip(proof[0], 3), *proof[1:]])
    assert not merkle.verify_consistency(6, 13, r5, r13, proof)  # wrong first size
    assert not merkle.verify_consistency(5, 20, r5, r13, proof)  # wrong second size (another shape)
    assert not merkle.verify_consistency(5, 8, r5, r13, proof)
    assert not merkle.verify_consistency(13, 5, r13, r5, proof)
    assert not merkle.verify_consistency(5, 13, r5, r13, [])
    assert merkle.verify_consistency(13, 13, r13, r13, []) and not merkle.verify_consistency(13, 13, r13, r13, [r13])


def test_consistency_proof_must_use_up_the_second_size():
    """The known pitfall: hashes that match, but a path that ends before the second tree's root."""
    h = leaves(16)
    r4, r6 = merkle.root(h[:4]), merkle.root(h[:6])
    proof_4_6 = merkle.consistency_proof(4, 6, merkle.list_subtree(h))
    assert merkle.verify_consistency(4, 6, r4, r6, proof_4_6)
    # Claimed as a proof from 4 to 16: both recomputed roots still equal r4 and r6, and only the check that
    # the path used up the second size (sn == 0) refuses it.
    assert merkle.node_hash(r4, proof_4_6[0]) == r6
    assert not merkle.verify_consistency(4, 16, r4, r6, proof_4_6)
    assert not merkle.verify_consistency(4, 12, r4, r6, proof_4_6)


def test_proof_requests_outside_the_tree_are_refused():
    with pytest.raises(ValueError):
        merkle.inclusion_ranges(5, 5)
    with pytest.raises(ValueError):
        merkle.consistency_ranges(6, 5)
    with pytest.raises(ValueError):
        merkle.perfect_parts(1, 3)  # not an aligned subtree


sizes = st.integers(min_value=1, max_value=300)


@settings(max_examples=150, deadline=None)
@given(data=st.data(), n=sizes)
def test_any_inclusion_proof_verifies_and_any_tamper_fails(data, n):
    h = leaves(n)
    root = merkle.root(h)
    i = data.draw(st.integers(0, n - 1))
    proof = merkle.inclusion_proof(i, n, merkle.list_subtree(h))
    assert merkle.verify_inclusion(i, n, h[i], proof, root)
    assert merkle.root_from_inclusion(i, n, h[i], proof) == root
    bit = data.draw(st.integers(0, 255))
    assert not merkle.verify_inclusion(i, n, bytes([h[i][bit // 8] ^ (1 << bit % 8)]).join([h[i][:bit // 8], h[i][bit // 8 + 1:]]), proof, root)
    if proof:
        k = data.draw(st.integers(0, len(proof) - 1))
        assert not merkle.verify_inclusion(i, n, h[i], proof[:k] + [flip(proof[k])] + proof[k + 1:], root)
    other = data.draw(st.integers(0, n))
    if other != i:
        assert not merkle.verify_inclusion(other, n, h[i], proof, root)
    size = data.draw(st.integers(i + 1, 2 * n + 5))
    if len(merkle.inclusion_ranges(i, size)) != len(proof):
        assert not merkle.verify_inclusion(i, size, h[i], proof, root)


@settings(max_examples=150, deadline=None)
@given(data=st.data(), n=sizes)
def test_any_consistency_proof_verifies_and_any_tamper_fails(data, n):
    h = leaves(n)
    m = data.draw(st.integers(1, n))
    proof = merkle.consistency_proof(m, n, merkle.list_subtree(h))
    rm, rn = merkle.root(h[:m]), merkle.root(h)
    assert merkle.verify_consistency(m, n, rm, rn, proof)
    if proof:
        k = data.draw(st.integers(0, len(proof) - 1))
        assert not merkle.verify_consistency(m, n, rm, rn, proof[:k] + [flip(proof[k])] + proof[k + 1:])
    if m < n:
        assert not merkle.verify_consistency(m, n, flip(rm), rn, proof)
        assert not merkle.verify_consistency(m, n, rm, flip(rn), proof)
        second = data.draw(st.integers(m, n + 40))
        if len(merkle.consistency_ranges(m, second)) != len(proof):
            assert not merkle.verify_consistency(m, second, rm, rn, proof)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.binary(max_size=40), max_size=200))
def test_frontier_root_equals_recursive_definition(data):
    def mth(d):
        if not d:
            return merkle.EMPTY_ROOT
        if len(d) == 1:
            return merkle.leaf_hash(d[0])
        k = merkle.split(len(d))
        return merkle.node_hash(mth(d[:k]), mth(d[k:]))

    assert merkle.root([merkle.leaf_hash(x) for x in data]) == mth(data)
