"""An exact PDQ range index: every entry within a Hamming threshold, the same set brute force finds.

Why not faiss `IndexBinaryMultiHash` (pytx's PDQIndex)? Its 16 tables of 16 bits make each query at
10M entries visit ~41k candidates through a per-query hash set. This index uses multi-index hashing
with wider substrings chosen for the bank size (about log2(N) bits each): by pigeonhole, a hash within
distance t of the query agrees with it on some substring to within floor(t/m) bits (see `_radii` for
the sharper form used), so probing the tables at those radii finds all matches while visiting a few
thousand candidates at 10M instead of ~41k. Tables are contiguous
sorted arrays (argsort + offsets), probes are generated with precomputed flip masks, candidates are
verified with popcount on uint64 words, and only the survivors are de-duplicated.

Changes land without a rebuild: new entries go to a small delta segment scanned by brute force, removed
entries are cleared in a live bitmap. Once the delta grows past a size, a background thread rebuilds the
tables from a snapshot while queries go on; changes made meanwhile are replayed onto the new tables.
"""

from __future__ import annotations

import json
import threading
from functools import lru_cache
from itertools import combinations
from math import comb
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

HASH_BITS = 256
WORDS = HASH_BITS // 64
FORMAT_VERSION = 1
# Substring widths past this make the offsets arrays too large for their pruning to pay.
MAX_SUBSTRING_BITS = 24
MIN_SUBSTRING_BITS = 8
# Offsets arrays (4 bytes per bucket) may take this much memory per entry, or the floor for small banks.
_OFFSETS_BYTES_PER_ENTRY = 160
_OFFSETS_MIN_BYTES = 1 << 20
# Relative costs measured on the 2-core box: one probe (two offset loads), one candidate check, one
# entry of a full scan, and a query's fixed overhead (about 25 ns per probe unit).
_PROBE_COST = 1.0
_CANDIDATE_COST = 1.6
_SCAN_COST = 0.15
_QUERY_OVERHEAD = 1500
# Layouts are tuned for PDQ's match threshold, 31 (PDQ hashing paper; vigil.signals.pdq.PDQ_THRESHOLD); other
# thresholds stay exact, only the cost differs.
_TUNE_THRESHOLD = 31
# Entries kept in the brute-force delta before it is merged into the tables.
_DELTA_MIN = 1 << 14
# Queries vectorised together while cheap ones dominate; past this estimated cost per query (about
# 3k probes and candidates, i.e. banks of a few million) one-at-a-time was as fast or faster.
_QUERY_BATCH = 128
_MEMORY_BOUND_COST = 4000


def hashes_to_words(hashes: Sequence[str] | np.ndarray) -> np.ndarray:
    """(N, 4) uint64 words, most significant first, from 64-hex strings or (N, 32) uint8 bytes."""
    if isinstance(hashes, np.ndarray) and hashes.dtype == np.uint8:
        raw = np.ascontiguousarray(hashes.reshape(-1, 32))
    else:
        raw = np.frombuffer(bytes.fromhex("".join(hashes)), dtype=np.uint8).reshape(-1, 32) if len(hashes) else np.zeros((0, 32), np.uint8)
    return raw.view(">u8").astype(np.uint64).reshape(-1, WORDS)


def words_to_hex(words: np.ndarray) -> list[str]:
    raw = np.ascontiguousarray(words.astype(">u8")).view(np.uint8).reshape(-1, 32)
    return [row.tobytes().hex() for row in raw]


def distances(query: np.ndarray, words: np.ndarray) -> np.ndarray:
    """Hamming distances from one (4,) query, or one query per row, to (N, 4) hashes."""
    x = words ^ query
    np.bitwise_count(x, out=x)
    return x[:, 0] + x[:, 1] + x[:, 2] + x[:, 3]


def _gathered_distances(words: np.ndarray, positions: np.ndarray, query: np.ndarray) -> np.ndarray:
    """`distances` for the rows at `positions`, in one gather and in-place popcount."""
    x = np.take(words, positions, axis=0)
    x ^= query
    np.bitwise_count(x, out=x)
    return x[:, 0] + x[:, 1] + x[:, 2] + x[:, 3]


def _radii(widths: tuple[int, ...], threshold: int) -> tuple[int, ...]:
    """Probe radius per table (-1: table not probed) that still finds every hash within `threshold`.

    With threshold = m*r + a (0 <= a < m), a match lies within r bits on one of a+1 chosen tables or
    within r-1 bits on one of the others: otherwise its distance would be at least
    (a+1)(r+1) + (m-a-1)r = threshold + 1 (Norouzi et al., "Fast search in Hamming space with
    multi-index hashing", 2012). The a+1 tables given radius r are the widest (fewest hashes per bucket).
    """
    r, a = divmod(threshold, len(widths))
    wide_first = sorted(range(len(widths)), key=lambda t: -widths[t])
    radii = [r - 1] * len(widths)
    for t in wide_first[: a + 1]:
        radii[t] = r
    return tuple(min(x, widths[t]) for t, x in enumerate(radii))


def _plan_cost(widths: tuple[int, ...], radii: tuple[int, ...], n: int) -> tuple[int, float]:
    """(probes, estimated cost) of one query."""
    probes, cost = 0, 0.0
    for b, r in zip(widths, radii):
        p = sum(comb(b, k) for k in range(r + 1))
        probes += p
        cost += p * (_PROBE_COST + _CANDIDATE_COST * n / 2**b)
    return probes, cost


def _layout(n: int) -> tuple[int, ...]:
    """Substring widths (summing to 256) that minimise the estimated cost of a threshold-31 query on n hashes,
    within the offsets memory budget."""
    budget = max(_OFFSETS_MIN_BYTES, _OFFSETS_BYTES_PER_ENTRY * n)
    best = None
    for m in range(HASH_BITS // MAX_SUBSTRING_BITS + 1, HASH_BITS // MIN_SUBSTRING_BITS + 1):
        base, extra = divmod(HASH_BITS, m)
        widths = (base + 1,) * extra + (base,) * (m - extra)
        if max(widths) > MAX_SUBSTRING_BITS or sum(4 << b for b in widths) > budget:
            continue
        cost = _plan_cost(widths, _radii(widths, _TUNE_THRESHOLD), n)[1]
        if best is None or cost < best[0]:
            best = (cost, widths)
    return best[1]


@lru_cache(maxsize=64)
def _flip_masks(bits: int, radius: int) -> np.ndarray:
    """Every mask of at most `radius` set bits among `bits`: the probes around one substring."""
    masks = [0]
    for k in range(1, radius + 1):
        masks.extend(sum(1 << i for i in c) for c in combinations(range(bits), k))
    return np.array(masks, dtype=np.int64)


def _substrings(words: np.ndarray, widths: tuple[int, ...], skip: int = 0) -> np.ndarray:
    """(N, m) int64 substring keys: contiguous bit ranges of the 256-bit hash, most significant first,
    starting `skip` bits in."""
    if len(words) == 1:
        whole = int.from_bytes(words[0].astype(">u8").tobytes(), "big")
        keys, left = [], HASH_BITS - skip
        for b in widths:
            left -= b
            keys.append((whole >> left) & ((1 << b) - 1))
        return np.array([keys], dtype=np.int64)
    out = np.empty((words.shape[0], len(widths)), dtype=np.int64)
    start = skip
    for i, b in enumerate(widths):
        w, off = divmod(start, 64)
        mask = np.uint64((1 << b) - 1)
        if off + b <= 64:
            key = (words[:, w] >> np.uint64(64 - off - b)) & mask
        else:
            spill = off + b - 64
            key = ((words[:, w] << np.uint64(spill)) | (words[:, w + 1] >> np.uint64(64 - spill))) & mask
        out[:, i] = key.astype(np.int64)
        start += b
    return out


@lru_cache(maxsize=64)
def _probe_plan(widths: tuple[int, ...], radii: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For every probe: its table, its flip mask, and where that table's offsets start."""
    tables, masks, bases = [], [], []
    base = 0
    for t, (b, r) in enumerate(zip(widths, radii)):
        if r >= 0:
            m = _flip_masks(b, r)
            tables.append(np.full(len(m), t, dtype=np.int64))
            masks.append(m)
            bases.append(np.full(len(m), base, dtype=np.int64))
        base += (1 << b) + 1
    return np.concatenate(tables), np.concatenate(masks), np.concatenate(bases)


class _Tables:
    """The immutable multi-index over one snapshot of hashes (the main segment)."""

    def __init__(self, widths: tuple[int, ...], words: np.ndarray, ids: np.ndarray, order: np.ndarray, offsets: np.ndarray):
        self.widths = widths
        self.words = words
        self.ids = ids
        self.order = order
        self.offsets = offsets
        self.n = len(ids)
        self._radii: dict[int, tuple[int, ...] | None] = {}

    @classmethod
    def build(cls, words: np.ndarray, ids: np.ndarray) -> _Tables:
        if len(ids) > 1 and not bool(np.all(ids[1:] > ids[:-1])):
            by_id = np.argsort(ids, kind="stable")
            words, ids = words[by_id], ids[by_id]
        words, ids = np.ascontiguousarray(words), np.ascontiguousarray(ids)
        n = len(ids)
        widths = _layout(max(n, 1))
        order = np.empty((len(widths), n), dtype=np.uint32)
        offsets = np.empty(sum((1 << b) + 1 for b in widths), dtype=np.uint32)
        base = start = 0
        for t, b in enumerate(widths):
            # One table's keys at a time: all of them at once would take 8 * m bytes per entry.
            col = _substrings(words, (b,), skip=start)[:, 0].astype(np.uint32)
            start += b
            order[t] = np.argsort(col, kind="stable")
            counts = np.bincount(col, minlength=1 << b)
            offsets[base] = 0
            np.cumsum(counts, out=offsets[base + 1 : base + (1 << b) + 1])
            base += (1 << b) + 1
        return cls(widths, words, ids, order, offsets)

    def radii(self, threshold: int) -> tuple[int, ...] | None:
        """The probe radius per table for `threshold`, or None when scanning everything is cheaper."""
        if threshold not in self._radii:
            radii = _radii(self.widths, threshold)
            probes, cost = _plan_cost(self.widths, radii, self.n)
            self._radii[threshold] = None if cost + _QUERY_OVERHEAD > self.n * _SCAN_COST else radii
        return self._radii[threshold]

    def block_size(self, threshold: int) -> int:
        """How many queries to vectorise together: many while per-query overhead dominates, one at a time
        once each query's probes and candidates are memory-bound (larger blocks then only add traffic)."""
        radii = self.radii(threshold) if self.n else None
        if radii is None:
            return _QUERY_BATCH
        probes, cost = _plan_cost(self.widths, radii, self.n)
        return 1 if cost > _MEMORY_BOUND_COST else _QUERY_BATCH

    def candidates(self, keys: np.ndarray, radii: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
        """Positions in the main segment with a substring within its table's radius of each query's, and their query rows."""
        tables, masks, bases = _probe_plan(self.widths, radii)
        q = len(keys)
        probe = (keys[:, tables] ^ masks) + bases
        probe = probe.ravel()
        starts = self.offsets[probe].astype(np.int64)
        lens = self.offsets[probe + 1].astype(np.int64) - starts
        total = int(lens.sum())
        if total == 0:
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        starts += (tables if q == 1 else np.tile(tables, q)) * self.n
        flat = np.repeat(starts - (np.cumsum(lens) - lens), lens)
        flat += np.arange(total, dtype=np.int64)
        cand = np.take(self.order.reshape(-1), flat).astype(np.int64)
        if q == 1:
            return cand, np.zeros(total, dtype=np.int64)
        return cand, np.repeat(np.repeat(np.arange(q, dtype=np.int64), len(tables)), lens)

    def save(self, folder: Path) -> None:
        np.save(folder / "words.npy", self.words, allow_pickle=False)
        np.save(folder / "ids.npy", self.ids, allow_pickle=False)
        np.save(folder / "order.npy", self.order, allow_pickle=False)
        np.save(folder / "offsets.npy", self.offsets, allow_pickle=False)

    @classmethod
    def load(cls, folder: Path, widths: tuple[int, ...]) -> _Tables:
        def get(name):
            return np.load(folder / f"{name}.npy", allow_pickle=False)

        return cls(widths, get("words"), get("ids"), get("order"), get("offsets"))


class PDQIndex:
    """Entry ids by PDQ hash; `query` returns exactly the live entries within a threshold.

    Ids are the caller's (bank entry ids). Adding an id that is already live does nothing, so
    replaying a change log over a snapshot that already holds some of its changes is safe.
    """

    def __init__(self, tables: _Tables, live: np.ndarray | None = None):
        self._install(tables, live)
        self._merge_thread: threading.Thread | None = None
        self._merged: _Tables | None = None
        self._journal: list[tuple[int, np.ndarray | None]] | None = None

    def _install(self, tables: _Tables, live: np.ndarray | None = None) -> None:
        self._tables = tables
        self._live = np.ones(tables.n, dtype=bool) if live is None else live
        self._dead = int(tables.n - self._live.sum())
        self._delta_words = np.zeros((64, WORDS), dtype=np.uint64)
        self._delta_ids = np.full(64, -1, dtype=np.int64)
        self._delta_n = 0
        self._delta_index: dict[int, int] = {}

    @classmethod
    def build(cls, hashes: Sequence[str] | np.ndarray, ids: Iterable[int]) -> PDQIndex:
        words = hashes if isinstance(hashes, np.ndarray) and hashes.dtype == np.uint64 else hashes_to_words(hashes)
        ids = np.fromiter(ids, dtype=np.int64) if not isinstance(ids, np.ndarray) else ids.astype(np.int64)
        if len(ids) != len(words):
            raise ValueError(f"{len(words)} hashes but {len(ids)} ids")
        if len(ids) > 1 and not bool(np.all(ids[1:] > ids[:-1])):
            ids, first = np.unique(ids, return_index=True)
            words = words[first]
        return cls(_Tables.build(words, ids))

    def __len__(self) -> int:
        self._adopt_merge()
        return self._tables.n - self._dead + len(self._delta_index)

    # --- changes -------------------------------------------------------------------------------
    # The caller serialises changes and queries (vigil.match.Matcher holds one lock); a background
    # merge only reads its own snapshot and hands back new tables, adopted at the next call.

    def _main_position(self, entry_id: int) -> int | None:
        pos = int(np.searchsorted(self._tables.ids, entry_id))
        if pos < self._tables.n and self._tables.ids[pos] == entry_id:
            return pos
        return None

    def add(self, entry_id: int, value: str) -> None:
        """Make `entry_id` match `value` from the next query on."""
        self._adopt_merge()
        self._add_word(entry_id, hashes_to_words([value])[0])
        self._maybe_merge()

    def _add_word(self, entry_id: int, word: np.ndarray) -> None:
        if self._journal is not None:
            self._journal.append((entry_id, word))
        pos = self._main_position(entry_id)
        if pos is not None:
            if np.array_equal(self._tables.words[pos], word):
                if not self._live[pos]:
                    self._live[pos] = True
                    self._dead -= 1
                return
            self._kill_main(pos)
        slot = self._delta_index.get(entry_id)
        if slot is None:
            if self._delta_n == len(self._delta_ids):
                grow = len(self._delta_ids)
                self._delta_words = np.concatenate([self._delta_words, np.zeros((grow, WORDS), np.uint64)])
                self._delta_ids = np.concatenate([self._delta_ids, np.full(grow, -1, np.int64)])
            slot = self._delta_n
            self._delta_n += 1
            self._delta_index[entry_id] = slot
            self._delta_ids[slot] = entry_id
        self._delta_words[slot] = word

    def remove(self, entry_id: int) -> None:
        """Stop `entry_id` matching (disabled or deleted). Unknown ids are ignored."""
        self._adopt_merge()
        self._remove(entry_id)
        self._maybe_merge()

    def _remove(self, entry_id: int) -> None:
        if self._journal is not None:
            self._journal.append((entry_id, None))
        pos = self._main_position(entry_id)
        if pos is not None:
            self._kill_main(pos)
        slot = self._delta_index.pop(entry_id, None)
        if slot is not None:
            self._delta_ids[slot] = -1

    def _kill_main(self, pos: int) -> None:
        if self._live[pos]:
            self._live[pos] = False
            self._dead += 1

    def _snapshot(self) -> tuple[np.ndarray, np.ndarray]:
        keep = self._delta_ids[: self._delta_n] >= 0
        words = np.concatenate([self._tables.words[self._live], self._delta_words[: self._delta_n][keep]])
        ids = np.concatenate([self._tables.ids[self._live], self._delta_ids[: self._delta_n][keep]])
        return words, ids

    def _maybe_merge(self) -> None:
        """Start a background merge once the delta or the removed entries grow past a size."""
        if self._merge_thread is not None:
            return
        limit = max(_DELTA_MIN, self._tables.n // 64)
        if self._delta_n <= limit and self._dead <= max(limit, self._tables.n // 4):
            return
        words, ids = self._snapshot()
        self._journal = []

        def run() -> None:
            self._merged = _Tables.build(words, ids)

        self._merge_thread = threading.Thread(target=run, name="pdq-index-merge", daemon=True)
        self._merge_thread.start()

    def _adopt_merge(self, wait: bool = False) -> None:
        """Install finished merged tables, then replay the changes made while they were built."""
        thread = self._merge_thread
        if thread is None or (thread.is_alive() and not wait):
            return
        thread.join()
        merged, journal = self._merged, self._journal or []
        self._merge_thread = self._merged = self._journal = None
        if merged is None:
            return
        self._install(merged)
        for entry_id, word in journal:
            if word is None:
                self._remove(entry_id)
            else:
                self._add_word(entry_id, word)

    def merge(self) -> None:
        """Fold the delta into the tables and drop removed entries now (a rebuild of the live set)."""
        self._adopt_merge(wait=True)
        self._install(_Tables.build(*self._snapshot()))

    # --- queries -------------------------------------------------------------------------------

    def search(self, values: Sequence[str], threshold: int) -> dict[int, int]:
        """Entry id -> its smallest distance to any of `values`, for live entries within `threshold` (the
        SignalIndex contract: `values` are one signal's hash and its variants, such as rotations)."""
        best: dict[int, int] = {}
        for ids, dists in self.query_many(values, threshold):
            for entry_id, d in zip(ids.tolist(), dists.tolist()):
                if d < best.get(entry_id, HASH_BITS + 1):
                    best[entry_id] = d
        return best

    def query(self, value: str, threshold: int) -> tuple[np.ndarray, np.ndarray]:
        """(entry ids, distances) of live entries within `threshold` of `value`, ordered by distance."""
        return self.query_many([value], threshold)[0]

    def query_many(self, values: Sequence[str] | np.ndarray, threshold: int) -> list[tuple[np.ndarray, np.ndarray]]:
        """`query` for many hashes at once (amortises the per-call overhead)."""
        self._adopt_merge()
        words = values if isinstance(values, np.ndarray) and values.dtype == np.uint64 else hashes_to_words(values)
        block = self._tables.block_size(threshold)
        out: list[tuple[np.ndarray, np.ndarray]] = []
        for lo in range(0, len(words), block):
            out.extend(self._query_block(words[lo : lo + block], threshold))
        return out

    def _query_block(self, queries: np.ndarray, threshold: int) -> list[tuple[np.ndarray, np.ndarray]]:
        t = self._tables
        q = len(queries)
        radii = t.radii(threshold) if t.n else None
        if t.n and radii is not None:
            cand, rows = t.candidates(_substrings(queries, t.widths), radii)
            d = _gathered_distances(t.words, cand, queries[0] if q == 1 else queries[rows])
            ok = (d <= threshold) & self._live[cand]
            cand, rows, d = cand[ok], rows[ok], d[ok]
            if len(cand):
                key, first = np.unique(rows * t.n + cand, return_index=True)
                rows, cand, d = key // t.n, key % t.n, d[first]
            main_ids = t.ids[cand]
        elif t.n:
            rows, main_ids, d = self._scan(queries, t.words, t.ids, self._live, threshold)
        else:
            rows, main_ids, d = np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.uint16)
        if self._delta_index:
            ids = self._delta_ids[: self._delta_n]
            drows, dids, dd = self._scan(queries, self._delta_words[: self._delta_n], ids, ids >= 0, threshold)
            rows, main_ids, d = np.concatenate([rows, drows]), np.concatenate([main_ids, dids]), np.concatenate([d, dd])
        order = np.lexsort((main_ids, d, rows))
        rows, main_ids, d = rows[order], main_ids[order], d[order]
        bounds = np.searchsorted(rows, np.arange(q + 1))
        return [(main_ids[bounds[i] : bounds[i + 1]], d[bounds[i] : bounds[i + 1]].astype(np.int64)) for i in range(q)]

    @staticmethod
    def _scan(queries: np.ndarray, words: np.ndarray, ids: np.ndarray, live: np.ndarray, threshold: int):
        rows_out, ids_out, d_out = [], [], []
        for i, qw in enumerate(queries):
            d = distances(qw, words)
            hit = np.flatnonzero((d <= threshold) & live)
            rows_out.append(np.full(len(hit), i, dtype=np.int64))
            ids_out.append(ids[hit])
            d_out.append(d[hit])
        if not rows_out:
            return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.uint16)
        return np.concatenate(rows_out), np.concatenate(ids_out), np.concatenate(d_out)

    # --- persistence ---------------------------------------------------------------------------

    def save(self, folder: str | Path) -> None:
        """Write the index as plain .npy files (no pickle) into `folder` (created if missing, files replaced).

        Publishing a saved index for other processes (replacing an older one atomically) is the caller's
        business: vigil.match writes each snapshot into a new folder and renames a link over the old one.
        """
        self._adopt_merge(wait=True)
        if self._delta_n or self._dead:
            self.merge()
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        self._tables.save(folder)
        (folder / "meta.json").write_text(json.dumps({"format": FORMAT_VERSION, "widths": list(self._tables.widths), "n": self._tables.n}))

    @classmethod
    def load(cls, folder: str | Path) -> PDQIndex:
        folder = Path(folder)
        meta = json.loads((folder / "meta.json").read_text())
        if meta.get("format") != FORMAT_VERSION:
            raise ValueError(f"{folder} holds index format {meta.get('format')}, this Vigil reads {FORMAT_VERSION}; delete it to rebuild")
        tables = _Tables.load(folder, tuple(meta["widths"]))
        if tables.n != meta["n"]:
            raise ValueError(f"{folder} is incomplete ({tables.n} of {meta['n']} entries); delete it to rebuild")
        return cls(tables)
