"""The PDQ index returns exactly what brute force returns, before and after adds, removals and merges."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import vigil.index.pdq as pdq_index
from vigil.index.pdq import PDQIndex, hashes_to_words, words_to_hex


@pytest.fixture(autouse=True, params=["planned", "tables", "scan"])
def strategy(request, monkeypatch):
    """Run every test with the cost-planned strategy, with the multi-index forced, and with full scans forced."""
    if request.param == "tables":
        monkeypatch.setattr(pdq_index, "_SCAN_COST", 1e12)
    elif request.param == "scan":
        monkeypatch.setattr(pdq_index, "_SCAN_COST", 0.0)
    return request.param


def brute(bank: dict[int, str], query: str, threshold: int) -> dict[int, int]:
    if not bank:
        return {}
    ids = list(bank)
    raw = np.frombuffer(bytes.fromhex("".join(bank[i] for i in ids)), dtype=np.uint8).reshape(-1, 32)
    d = np.unpackbits(raw ^ np.frombuffer(bytes.fromhex(query), dtype=np.uint8), axis=1).sum(axis=1)
    return {ids[k]: int(d[k]) for k in np.flatnonzero(d <= threshold)}


def near(rng: np.random.Generator, h: str, flips: int) -> str:
    x = int(h, 16)
    for b in rng.choice(256, size=flips, replace=False):
        x ^= 1 << int(b)
    return f"{x:064x}"


def random_hash(rng: np.random.Generator) -> str:
    return rng.bytes(32).hex()


def check(index: PDQIndex, bank: dict[int, str], queries: list[str], threshold: int) -> None:
    batched = index.query_many(queries, threshold)
    for q, (ids, dists) in zip(queries, batched):
        expected = brute(bank, q, threshold)
        assert dict(zip(ids.tolist(), dists.tolist())) == expected
        assert list(dists) == sorted(dists)
        single_ids, single_d = index.query(q, threshold)
        assert dict(zip(single_ids.tolist(), single_d.tolist())) == expected


def queries_for(rng, bank: dict[int, str], n: int) -> list[str]:
    values = list(bank.values())
    out = [random_hash(rng) for _ in range(n)]
    if values:
        out += [near(rng, values[int(rng.integers(len(values)))], int(rng.integers(0, 40))) for _ in range(n)]
    return out


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(size=st.sampled_from([0, 1, 2, 7, 300, 20000]), threshold=st.integers(0, 64), seed=st.integers(0, 2**32 - 1))
def test_index_equals_brute_force(size, threshold, seed):
    rng = np.random.default_rng(seed)
    base = [random_hash(rng) for _ in range(max(1, size // 10))]
    # Clustered banks (near-duplicates of a few originals) put many entries inside one query's radius.
    bank = {i + 1: (near(rng, base[i % len(base)], int(rng.integers(0, 30))) if i % 2 else random_hash(rng)) for i in range(size)}
    index = PDQIndex.build(list(bank.values()), list(bank.keys()))
    assert len(index) == size
    check(index, bank, queries_for(rng, bank, 6), threshold)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    size=st.sampled_from([0, 1, 50, 3000]),
    threshold=st.integers(0, 64),
    seed=st.integers(0, 2**32 - 1),
    ops=st.lists(st.tuples(st.sampled_from(["add", "remove", "readd", "change"]), st.integers(0, 10**6)), max_size=40),
)
def test_changes_take_effect_on_next_query(size, threshold, seed, ops):
    with pytest.MonkeyPatch.context() as patch:
        # A tiny delta limit makes background merges start (and finish mid-sequence) in every example.
        patch.setattr(pdq_index, "_DELTA_MIN", 3)
        run_changes(size, threshold, seed, ops)


def run_changes(size, threshold, seed, ops):
    rng = np.random.default_rng(seed)
    bank = {i + 1: random_hash(rng) for i in range(size)}
    index = PDQIndex.build(list(bank.values()), list(bank.keys()))
    removed: dict[int, str] = {}
    next_id = size + 1
    for op, pick in ops:
        if op == "add" or not (bank or removed):
            source = list(bank.values()) or [random_hash(rng)]
            value = near(rng, source[pick % len(source)], int(rng.integers(0, 20)))
            bank[next_id] = value
            index.add(next_id, value)
            next_id += 1
        elif op == "remove" and bank:
            victim = sorted(bank)[pick % len(bank)]
            removed[victim] = bank.pop(victim)
            index.remove(victim)
        elif op == "readd" and removed:
            back = sorted(removed)[pick % len(removed)]
            bank[back] = removed.pop(back)
            index.add(back, bank[back])
        elif op == "change" and bank:
            victim = sorted(bank)[pick % len(bank)]
            bank[victim] = random_hash(rng)
            index.add(victim, bank[victim])
        check(index, bank, queries_for(rng, bank, 2), threshold)
        if pick % 3 == 0:
            index._adopt_merge(wait=True)
    assert len(index) == len(bank)
    index.merge()
    check(index, bank, queries_for(rng, bank, 4), threshold)


def test_adding_a_live_id_again_is_a_no_op():
    rng = np.random.default_rng(1)
    h = random_hash(rng)
    index = PDQIndex.build([h], [5])
    index.add(5, h)
    index.add(5, h)
    assert len(index) == 1
    assert index.query(h, 0)[0].tolist() == [5]


def test_save_and_load_round_trip_without_pickle(tmp_path):
    rng = np.random.default_rng(2)
    bank = {i + 1: random_hash(rng) for i in range(2000)}
    index = PDQIndex.build(list(bank.values()), list(bank.keys()))
    index.remove(3)
    index.add(9999, near(rng, bank[4], 3))
    bank.pop(3)
    bank[9999] = index_value = near(rng, bank[4], 3)
    index.add(9999, index_value)
    index.save(tmp_path / "idx")
    assert all(f.suffix in (".npy", ".json") for f in (tmp_path / "idx").iterdir())
    for f in (tmp_path / "idx").glob("*.npy"):
        np.load(f, allow_pickle=False)
    loaded = PDQIndex.load(tmp_path / "idx")
    check(loaded, bank, queries_for(rng, bank, 10), 31)
    index.save(tmp_path / "idx")
    check(PDQIndex.load(tmp_path / "idx"), bank, queries_for(rng, bank, 3), 31)


def test_load_refuses_a_truncated_index(tmp_path):
    rng = np.random.default_rng(3)
    index = PDQIndex.build([random_hash(rng) for _ in range(10)], range(10))
    index.save(tmp_path / "idx")
    np.save(tmp_path / "idx" / "ids.npy", np.arange(3, dtype=np.int64))
    with pytest.raises(ValueError, match="incomplete"):
        PDQIndex.load(tmp_path / "idx")


def test_hex_words_round_trip():
    rng = np.random.default_rng(4)
    values = [random_hash(rng) for _ in range(20)]
    assert words_to_hex(hashes_to_words(values)) == values
