"""RFC 9162 Merkle tree hashing, inclusion and consistency proofs, and their verification.

The tree is the one Certificate Transparency uses (RFC 6962, restated in RFC 9162 section 2.1), so any
CT-style auditor can check Vigil's ledger. Proof construction is written over an oracle,
`subtree(start, end) -> MTH(D[start:end])`, so the same code serves an in-memory list and the
database (which answers from stored node hashes, see vigil.store.ledger).
"""

from __future__ import annotations

import hashlib
from typing import Callable, Iterable, Sequence

LEAF_PREFIX = b"\x00"  # RFC 9162 2.1.1: domain separation between leaves and interior nodes
NODE_PREFIX = b"\x01"
EMPTY_ROOT = hashlib.sha256(b"").digest()  # RFC 9162 2.1.1: MTH({}) = SHA-256()
HASH_SIZE = 32

Subtree = Callable[[int, int], bytes]


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(NODE_PREFIX + left + right).digest()


def split(n: int) -> int:
    """The largest power of two smaller than n (n > 1): where RFC 9162 splits a tree."""
    return 1 << ((n - 1).bit_length() - 1)


def fold(hashes: Sequence[bytes]) -> bytes:
    """Combine perfect subtree hashes, largest (leftmost) first, into the hash of their concatenation."""
    if not hashes:
        return EMPTY_ROOT
    h = hashes[-1]
    for left in reversed(hashes[:-1]):
        h = node_hash(left, h)
    return h


def perfect_parts(start: int, end: int) -> list[tuple[int, int]]:
    """The aligned perfect subtrees (level, index) that make up D[start:end], largest first.

    Level l, index i covers leaves [i * 2**l, (i + 1) * 2**l). Every subtree that appears in an RFC 9162
    proof starts at a multiple of a power of two at least as large as itself, so it splits this way.
    """
    parts = []
    pos, remaining = start, end - start
    while remaining:
        level = remaining.bit_length() - 1
        if pos % (1 << level):
            raise ValueError(f"range [{start}, {end}) is not a Merkle subtree")
        parts.append((level, pos >> level))
        pos += 1 << level
        remaining -= 1 << level
    return parts


def root(leaf_hashes: Sequence[bytes]) -> bytes:
    """MTH over a list of leaf hashes, bottom-up in O(n)."""
    frontier = Frontier()
    for h in leaf_hashes:
        frontier.append(h)
    return frontier.root()


class Frontier:
    """The right edge of a growing tree: one perfect subtree hash per set bit of `size`.

    Appending costs O(log n) and reports the interior nodes it completes, which the store keeps
    so that proofs never need to rehash the whole tree.
    """

    __slots__ = ("size", "hashes")

    def __init__(self, size: int = 0, hashes: Iterable[bytes] = ()) -> None:
        self.size = size
        self.hashes = list(hashes)
        if len(self.hashes) != bin(size).count("1"):
            raise ValueError(f"a frontier for size {size} needs {bin(size).count('1')} hashes, got {len(self.hashes)}")

    @classmethod
    def from_bytes(cls, size: int, packed: bytes) -> Frontier:
        return cls(size, [packed[i:i + HASH_SIZE] for i in range(0, len(packed), HASH_SIZE)])

    def to_bytes(self) -> bytes:
        return b"".join(self.hashes)

    def append(self, leaf: bytes) -> list[tuple[int, int, bytes]]:
        """Add a leaf hash; return the completed interior nodes as (level, index, hash)."""
        completed = []
        h, level, n = leaf, 0, self.size
        while n & 1:
            h = node_hash(self.hashes.pop(), h)
            level += 1
            n >>= 1
            completed.append((level, (self.size + 1 >> level) - 1, h))
        self.hashes.append(h)
        self.size += 1
        return completed

    def root(self) -> bytes:
        return fold(self.hashes)


def inclusion_ranges(index: int, size: int) -> list[tuple[int, int]]:
    """The subtrees whose hashes form PATH(index, D[size]) (RFC 9162 2.1.3.1), leaf side first."""
    if not 0 <= index < size:
        raise ValueError(f"leaf index {index} is outside a tree of size {size}")
    ranges: list[tuple[int, int]] = []
    start, end = 0, size
    while end - start > 1:
        k = split(end - start)
        if index - start < k:
            ranges.append((start + k, end))
            end = start + k
        else:
            ranges.append((start, start + k))
            start += k
    ranges.reverse()
    return ranges


def consistency_ranges(first: int, second: int) -> list[tuple[int, int]]:
    """The subtrees whose hashes form PROOF(first, D[second]) (RFC 9162 2.1.4.1), smallest first."""
    if not 0 <= first <= second:
        raise ValueError(f"no consistency proof from size {first} to size {second}")
    if first in (0, second):
        return []
    ranges: list[tuple[int, int]] = []
    start, end, m, whole = 0, second, first, True
    while m != end - start:
        k = split(end - start)
        if m <= k:
            ranges.append((start + k, end))
            end = start + k
        else:
            ranges.append((start, start + k))
            m -= k
            start += k
            whole = False
    if not whole:
        ranges.append((start, end))
    ranges.reverse()
    return ranges


def inclusion_proof(index: int, size: int, subtree: Subtree) -> list[bytes]:
    return [subtree(a, b) for a, b in inclusion_ranges(index, size)]


def consistency_proof(first: int, second: int, subtree: Subtree) -> list[bytes]:
    return [subtree(a, b) for a, b in consistency_ranges(first, second)]


def list_subtree(leaf_hashes: Sequence[bytes]) -> Subtree:
    """An oracle over an in-memory list of leaf hashes."""
    return lambda a, b: root(leaf_hashes[a:b])


def _hashes_ok(*hashes: bytes) -> bool:
    return all(isinstance(h, (bytes, bytearray)) and len(h) == HASH_SIZE for h in hashes)


def root_from_inclusion(index: int, size: int, leaf: bytes, proof: Sequence[bytes]) -> bytes | None:
    """The root that `proof` implies for `leaf` at `index`, or None if the proof has the wrong shape.

    RFC 9162 2.1.3.2, including the final check that the path used up the tree (sn == 0). The leaf and every
    proof hash must be SHA-256 hashes (32 bytes), as transparency-dev/merkle requires of the leaf.
    """
    proof = list(proof)
    if not 0 <= index < size or not _hashes_ok(leaf, *proof):
        return None
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return None
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return r if sn == 0 else None


def verify_inclusion(index: int, size: int, leaf: bytes, proof: Sequence[bytes], root_hash: bytes) -> bool:
    return root_from_inclusion(index, size, leaf, proof) == root_hash


def verify_consistency(first: int, second: int, first_root: bytes, second_root: bytes, proof: Sequence[bytes]) -> bool:
    """RFC 9162 2.1.4.2, defined for 0 < first <= second, with transparency-dev/merkle's answers at the edges.

    A proof from size 0 is refused (the RFC defines none: any tree extends the empty one, so there is nothing
    to prove; check the empty root against MTH({}) instead). For first == second the proof must be empty and
    the roots equal. Otherwise every hash must be 32 bytes, and a proof that does not use up the second size
    exactly (sn != 0) fails.
    """
    if not 0 < first <= second:
        return False
    if first == second:
        return not proof and first_root == second_root
    if not proof or not _hashes_ok(first_root, second_root, *proof):
        return False
    path = list(proof)
    if first & (first - 1) == 0:
        path.insert(0, first_root)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == first_root and sr == second_root
