"""Each case runs Vigil's checks once: bank matches and text hits become its evidence, priority and maybe an automatic action."""

import random

import sqlalchemy as sa

from vigil.banks import service as banks
from vigil.policy.cases import CasePolicy
from vigil.store.cases import Case, Decision, OutboxMessage
from vigil.store.db import session_scope
from vigil.store.ledger import LedgerLeaf

from .conftest import flip, ingest, notice, random_pdq

MD5 = "5d41402abc4b2a76b9719d911017c592"


def bank(db_url, name, signal_type, value, labels=None):
    with session_scope(db_url) as s:
        banks.create_bank(s, name)
        banks.add_entry(s, name, signal_type, value, labels=labels or {"entity": "x", "behaviour": "praise"})


def test_verified_exact_match_is_actioned_automatically_and_marked(db_url):
    bank(db_url, "verified-tco", "md5", MD5)
    policy = CasePolicy(auto_action_banks=frozenset({"verified-tco"}))
    [r] = ingest(db_url, [notice("c1", hashes={"md5": MD5}, uploader_id="u1")], policy=policy)
    with session_scope(db_url) as s:
        case = s.get(Case, r.case_id)
        assert case.state == "decided"
        assert case.evidence.model_dump(mode='json')["matches"][0]["bank"] == "verified-tco"
        [d] = s.scalars(sa.select(Decision)).all()
        assert d.automated and d.reviewer_key_id is None and d.action == "remove"
        assert [l.kind for l in s.scalars(sa.select(LedgerLeaf)) if l.kind != "bank_change"] == ["automated_action"]
        assert s.scalar(sa.select(sa.func.count()).select_from(OutboxMessage).where(OutboxMessage.event == "action")) == 1


def test_match_in_unverified_bank_waits_for_review_but_ranks_higher(db_url):
    rng = random.Random(5)
    pdq = random_pdq(rng)
    bank(db_url, "shared", "pdq", pdq, labels={"entity": "x", "behaviour": "live_attack"})
    policy = CasePolicy(auto_action_banks=frozenset({"verified-tco"}))
    [hit, miss] = ingest(db_url, [notice("m1", hashes={"pdq": flip(pdq, list(range(12)))}),
                                  notice("m2", hashes={"pdq": random_pdq(rng)})], policy=policy)
    with session_scope(db_url) as s:
        a, b = s.get(Case, hit.case_id), s.get(Case, miss.case_id)
        assert a.state == "open" and a.evidence.model_dump(mode='json')["matches"][0]["distance"] == 12
        assert a.evidence.model_dump(mode='json')["crisis"] is True  # a crisis label on the matched entry
        assert a.priority > b.priority
        assert s.scalar(sa.select(sa.func.count()).select_from(Decision)) == 0


def test_checks_run_once_per_case_not_per_notice(db_url, monkeypatch):
    from vigil.cases import checks

    calls = []
    real = checks.check

    def counting(contents, categories, matcher, detector):
        calls.append(len(contents))
        return real(contents, categories, matcher, detector)

    monkeypatch.setattr(checks, "check", counting)
    ingest(db_url, [notice("c1", hashes={"md5": MD5})] * 5 + [notice("c2")])
    ingest(db_url, [notice("c1", hashes={"md5": MD5})] * 3)
    assert calls == [2]  # two new cases in the first batch; the second batch opened none


def test_a_copy_that_matches_a_verified_bank_counts_whichever_notice_came_first(db_url):
    """The case's evidence is every copy's: a near-duplicate carrying a verified md5 acts on the case, in the same
    batch as the first notice or in a later one."""
    bank(db_url, "verified-tco", "md5", MD5)
    policy = CasePolicy(auto_action_banks=frozenset({"verified-tco"}))
    rng = random.Random(9)
    for first_alone in (False, True):
        pdq = random_pdq(rng)
        first = notice(f"plain-{first_alone}", hashes={"pdq": pdq})
        copy = notice(f"copy-{first_alone}", hashes={"pdq": flip(pdq, list(range(8))), "md5": MD5})
        if first_alone:
            [a] = ingest(db_url, [first], policy=policy)
            [b] = ingest(db_url, [copy], policy=policy)
        else:
            a, b = ingest(db_url, [first, copy], policy=policy)
        assert a.case_id == b.case_id
        with session_scope(db_url) as s:
            case = s.get(Case, a.case_id)
            assert [m["bank"] for m in case.evidence.model_dump(mode='json')["matches"]] == ["verified-tco"], first_alone
            assert case.state == "decided", first_alone
            [d] = s.scalars(sa.select(Decision).where(Decision.case_id == case.id)).all()
            assert d.automated and sorted(d.content_ids) == sorted([f"plain-{first_alone}", f"copy-{first_alone}"])


def test_a_copy_whose_hashes_are_held_elsewhere_still_brings_its_match_to_the_case_it_joins(db_url):
    """Every hash of the copy is already held, but not by the open case it joins (its md5 sits in a case decided
    earlier): its bank match must still reach that case."""
    rng = random.Random(10)
    pdq = random_pdq(rng)
    bank(db_url, "verified-tco", "md5", MD5)
    policy = CasePolicy(auto_action_banks=frozenset({"verified-tco"}))
    [x] = ingest(db_url, [notice("x", hashes={"md5": MD5})], policy=policy)  # decided at once
    [y] = ingest(db_url, [notice("y", hashes={"pdq": pdq})], policy=policy)   # open, no match
    [c] = ingest(db_url, [notice("c", hashes={"md5": MD5, "pdq": pdq})], policy=policy)
    assert c.case_id == y.case_id != x.case_id  # an open case takes the copy before a decided one
    with session_scope(db_url) as s:
        case = s.get(Case, y.case_id)
        assert [m["bank"] for m in case.evidence.model_dump(mode='json')["matches"]] == ["verified-tco"]
        assert case.state == "decided"
