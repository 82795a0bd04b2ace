"""Grouping does not depend on how notices are batched or interleaved."""

import itertools
import random
import string
import threading

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vigil.cases.intake import Receipt

from vigil.signals import video

from .conftest import flip, ingest, notice, random_pdq

TEXT_FORMS = ["Join the {w} now", "J0IN the {w} now!", "join  the {w}\u200b now"]
WORDS = ["caliphate", "brigade", "uprising", "column", "battalion"]
RUNS = itertools.count()  # every run gets content ids, md5s and texts of its own, so examples never interact


def materialise(spec, run: int, seed: int):
    """Notices for an abstract spec [(content, kind, cluster, variant)], with hashes fresh for each run.

    PDQ copies stay within 15 bits of their cluster's base, so any two copies are within PDQ's threshold
    of each other and unrelated clusters (random bases) are ~128 bits apart.
    """
    rng = random.Random(seed * 1000 + run)
    # Distinct letters, no digits: a run's marker survives text normalisation (leetspeak, repeats) unchanged.
    marker = "".join(random.Random(run).sample(string.ascii_lowercase, 8))
    bases = {c: rng.randbytes(32).hex() for c in range(6)}
    flips = random.Random(seed)  # the same variants in every run
    variants = {(c, v): flips.sample(range(256), 15) for c in range(6) for v in range(4)}
    out = []
    for content, kind, cluster, variant in spec:
        cid = f"r{run}-c{content}"
        if kind == "pdq":
            out.append(notice(cid, hashes={"pdq": flip(bases[cluster], variants[(cluster, variant)])}))
        elif kind == "md5":
            out.append(notice(cid, hashes={"md5": f"{run:08x}{cluster:024x}"}))
        else:
            out.append(notice(cid, text=TEXT_FORMS[variant % 3].format(w=f"{WORDS[cluster % 5]} {marker}")))
    return out


def partition(receipts, spec):
    assert all(isinstance(r, Receipt) for r in receipts)
    groups: dict[int, set[int]] = {}
    for r, (content, *_rest) in zip(receipts, spec):
        groups.setdefault(r.case_id, set()).add(content)
    return sorted(sorted(g) for g in groups.values())


content_spec = st.integers(0, 11).flatmap(lambda content: st.tuples(
    st.just(content), st.just(("pdq", "md5", "text")[content % 3]), st.just(content // 3 % 2 + content % 3 * 2),
    st.integers(0, 3)))


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(spec=st.lists(content_spec, min_size=1, max_size=30), cuts=st.lists(st.integers(1, 29), max_size=4),
       seed=st.integers(0, 10**6))
def test_one_batch_or_many_give_the_same_cases(db_url, spec, cuts, seed):
    # Each content keeps one identity (its first variant) so a content id never bridges two clusters.
    first = {}
    spec = [first.setdefault(s[0], s) for s in spec]
    whole = partition(ingest(db_url, materialise(spec, next(RUNS), seed)), spec)
    notices = materialise(spec, next(RUNS), seed)
    receipts, lo = [], 0
    for hi in sorted(set(c for c in cuts if c < len(spec))) + [len(spec)]:
        receipts += ingest(db_url, notices[lo:hi])
        lo = hi
    assert partition(receipts, spec) == whole


def test_concurrent_batches_on_the_same_content_open_one_case_each(db_url):
    """Intake is serialised per database, so racing batches never open two cases for one content."""
    results, errors = [], []

    def worker(k: int) -> None:
        try:
            for _ in range(5):
                results.extend(ingest(db_url, [notice(f"c{i}", uploader_id=f"u{k}") for i in range(20)]))
        except Exception as e:  # surfaced below
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(results) == 4 * 5 * 20
    assert len({r.case_id for r in results}) == 20


def test_copies_committed_while_a_batch_waits_for_the_lock_still_group(db_url, monkeypatch):
    """A batch reads keys and searches near copies before the intake lock; whatever another batch commits in
    between (same content id, near PDQ, same video, same text) must still join that batch's case."""
    from vigil.cases import intake

    rng = random.Random(11)
    pdq = random_pdq(rng)
    frames = [random_pdq(rng) for _ in range(12)]
    clip = lambda: video.encode([video.Frame(flip(f, rng.sample(range(256), 6)), 90) for f in frames])  # noqa: E731
    first = [notice("same-id"), notice("img-a", hashes={"pdq": pdq}), notice("vid-a", hashes={"vpdq": clip()}),
             notice("txt-a", text="Join the fighters at the border tonight")]
    second = [notice("same-id"), notice("img-b", hashes={"pdq": flip(pdq, rng.sample(range(256), 12))}),
              notice("vid-b", hashes={"vpdq": clip()}), notice("txt-b", text="JOIN the f1ghters at the border tonight!")]
    real = intake.serialise
    earlier = []

    def meanwhile(session):
        monkeypatch.setattr(intake, "serialise", real)
        earlier.extend(ingest(db_url, first))  # commits between the second batch's prepare() and its lock
        real(session)

    monkeypatch.setattr(intake, "serialise", meanwhile)
    later = ingest(db_url, second)
    assert len(earlier) == 4
    assert [r.case_id for r in later] == [r.case_id for r in earlier]
    assert len({r.case_id for r in earlier}) == 4
