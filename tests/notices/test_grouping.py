"""Notices on the same content or its near-duplicates group into one case; different content does not."""

import json
import random

import pytest
import sqlalchemy as sa

from vigil.cases.intake import Receipt
from vigil.signals import video
from vigil.store.cases import Case, CaseContent, Notice
from vigil.store.db import session_scope

from .conftest import flip, ingest, notice, random_pdq


def case_ids(receipts):
    assert all(isinstance(r, Receipt) for r in receipts), receipts
    return [r.case_id for r in receipts]


def test_same_content_id_one_case_across_batches(db_url):
    a = case_ids(ingest(db_url, [notice("c1"), notice("c1"), notice("c2")]))
    b = case_ids(ingest(db_url, [notice("c1")]))
    assert a[0] == a[1] == b[0] and a[2] != a[0]
    with session_scope(db_url) as s:
        assert s.get(Case, a[0]).notice_count == 3
        assert s.scalar(sa.select(sa.func.count()).select_from(CaseContent).where(CaseContent.case_id == a[0])) == 1


def test_exact_hash_groups_different_content_ids(db_url):
    md5 = "d41d8cd98f00b204e9800998ecf8427e"
    ids = case_ids(ingest(db_url, [notice("a", hashes={"md5": md5})]) + ingest(db_url, [notice("b", hashes={"md5": md5})]))
    assert ids[0] == ids[1]
    with session_scope(db_url) as s:
        copies = s.scalars(sa.select(CaseContent.content_id).where(CaseContent.case_id == ids[0]).order_by(CaseContent.id)).all()
    assert copies == ["a", "b"]


def test_pdq_within_threshold_groups_and_beyond_does_not(db_url):
    rng = random.Random(1)
    base = random_pdq(rng)
    near = flip(base, rng.sample(range(256), 31))   # exactly at PDQ's threshold
    far = flip(base, rng.sample(range(256), 90))
    first = case_ids(ingest(db_url, [notice("p0", hashes={"pdq": base})]))
    later = case_ids(ingest(db_url, [notice("p1", hashes={"pdq": near}), notice("p2", hashes={"pdq": far})]))
    assert later[0] == first[0]
    assert later[1] != first[0]


def test_pdq_near_duplicates_within_one_batch(db_url):
    rng = random.Random(2)
    base = random_pdq(rng)
    batch = [notice(f"p{i}", hashes={"pdq": flip(base, rng.sample(range(256), 10))}) for i in range(20)]
    assert len(set(case_ids(ingest(db_url, batch)))) == 1


def test_same_normalised_text_groups(db_url):
    texts = ["Join the caliphate now", "J0in the c@liphate now", "JOIN  the ca\u200bliphate now"]
    ids = case_ids(ingest(db_url, [notice(f"t{i}", text=t) for i, t in enumerate(texts)]))
    other = case_ids(ingest(db_url, [notice("t9", text="The weather is fine today")]))
    assert len(set(ids)) == 1 and other[0] != ids[0]


def test_blank_text_does_not_group_unrelated_content(db_url):
    ids = case_ids(ingest(db_url, [notice("x1", text="   "), notice("x2", text="\u200b")]))
    assert ids[0] != ids[1]


def video_value(rng, frames: list[str], quality: int = 90) -> str:
    return video.encode([video.Frame(f, quality) for f in frames])


def test_same_video_groups_and_different_video_does_not(db_url):
    rng = random.Random(3)
    frames = [random_pdq(rng) for _ in range(12)]
    copy = [flip(f, rng.sample(range(256), 8)) for f in frames]
    other = [random_pdq(rng) for _ in range(12)]
    ids = case_ids(ingest(db_url, [notice("v1", hashes={"vpdq": video_value(rng, frames)})]))
    ids += case_ids(ingest(db_url, [notice("v2", hashes={"vpdq": video_value(rng, copy)}),
                                    notice("v3", hashes={"vpdq": video_value(rng, other)})]))
    assert ids[0] == ids[1] != ids[2]


def test_no_action_case_does_not_absorb_new_notices(db_url, role_keys):
    from vigil.policy.cases import CasePolicy
    from vigil.review.decisions import DecisionIn, decide

    [r] = ingest(db_url, [notice("c1")])
    with session_scope(db_url) as s:
        decide(s, r.case_id, DecisionIn("no_action", "contractual", "ToS 4.2", "Satire, allowed."),
               role_keys["reviewer"][0], policy=CasePolicy())
    [again] = ingest(db_url, [notice("c1")])
    assert again.case_id != r.case_id


def test_reupload_of_removed_content_is_actioned_automatically(db_url, role_keys):
    from vigil.policy.cases import CasePolicy
    from vigil.review.decisions import DecisionIn, decide
    from vigil.store.cases import Decision, OutboxMessage

    md5 = "0123456789abcdef0123456789abcdef"
    [r] = ingest(db_url, [notice("orig", hashes={"md5": md5}, uploader_id="u1")])
    with session_scope(db_url) as s:
        decide(s, r.case_id, DecisionIn("remove", "legal", "TCO Art. 3", "Terrorist content."), role_keys["reviewer"][0],
               policy=CasePolicy())
    [re_up] = ingest(db_url, [notice("copy", hashes={"md5": md5}, uploader_id="u2")])
    assert re_up.case_id == r.case_id
    with session_scope(db_url) as s:
        ds = s.scalars(sa.select(Decision).where(Decision.case_id == r.case_id).order_by(Decision.id)).all()
        assert [(d.automated, d.content_ids) for d in ds] == [(False, ["orig"]), (True, ["copy"])]
        actions = s.scalars(sa.select(OutboxMessage).where(OutboxMessage.event == "action")).all()
        assert len(actions) == 2 and '"copy"' in actions[1].body
    # a late notice on the original is answered with the decision already taken
    [late] = ingest(db_url, [notice("orig", hashes={"md5": md5})])
    assert late.case_id == r.case_id
    with session_scope(db_url) as s:
        told = s.scalars(sa.select(OutboxMessage.idempotency_key).where(OutboxMessage.event == "notifier_notification")).all()
        assert f"notifier:{ds[0].id}:{late.notice_id}" in told
        assert s.scalar(sa.select(sa.func.count()).select_from(Decision)) == 2


def test_receipt_is_durable_and_names_stored_notice(db_url):
    [r] = ingest(db_url, [notice("c1")])
    with session_scope(db_url) as s:
        n = s.get(Notice, r.notice_id)
        assert n.case_id == r.case_id and n.digest == r.digest


def test_reversed_removal_no_longer_catches_reuploads(db_url, role_keys):
    from vigil.policy.cases import CasePolicy
    from vigil.review.appeals import decide_appeal, lodge
    from vigil.review.decisions import DecisionIn, decide

    md5 = "fedcba9876543210fedcba9876543210"
    [r] = ingest(db_url, [notice("orig", hashes={"md5": md5})])
    with session_scope(db_url) as s:
        d = decide(s, r.case_id, DecisionIn("remove", "legal", "TCO", "x"), role_keys["reviewer"][0], policy=CasePolicy())
        a = lodge(s, d.id, "uploader", "It is news.")
        decide_appeal(s, a.id, "reversed", "News reporting.", role_keys["reviewer2"][0], policy=CasePolicy())
    [copy] = ingest(db_url, [notice("copy", hashes={"md5": md5})])
    assert copy.case_id != r.case_id  # a fresh case for review, not an automatic removal


def test_reversing_a_removal_reverses_the_reupload_removals_made_under_it(db_url, role_keys):
    """Re-uploads removed because of a decision come back with it: restored, strikes taken back, and later copies
    are no longer removed automatically. The reviewer who made the decision cannot decide appeals against its copies."""
    from vigil.policy.cases import CasePolicy
    from vigil.review.appeals import decide_appeal, lodge
    from vigil.review.decisions import DecisionIn, decide
    from vigil.errors import VigilError as ReviewError
    from vigil.store.cases import Decision, OutboxMessage, Strike

    md5 = "00112233445566778899aabbccddeeff"
    [r] = ingest(db_url, [notice("orig", hashes={"md5": md5}, uploader_id="u1")])
    with session_scope(db_url) as s:
        d = decide(s, r.case_id, DecisionIn("remove", "legal", "TCO Art. 3", "Terrorist content."),
                   role_keys["reviewer"][0], policy=CasePolicy())
    ingest(db_url, [notice("copy1", hashes={"md5": md5}, uploader_id="u2")])
    ingest(db_url, [notice("copy2", hashes={"md5": md5}, uploader_id="u3")])
    with session_scope(db_url) as s:
        copies = s.scalars(sa.select(Decision).where(Decision.id != d.id).order_by(Decision.id)).all()
        assert [c.content_ids for c in copies] == [["copy1"], ["copy2"]]
        assert {k.uploader_id: k.count for k in s.scalars(sa.select(Strike))} == {"u1": 1, "u2": 1, "u3": 1}
        on_copy = lodge(s, copies[0].id, "uploader", "Mine is a copy of news footage.")
        with pytest.raises(ReviewError) as e:
            decide_appeal(s, on_copy.id, "upheld", "Same content.", role_keys["reviewer"][0], policy=CasePolicy())
        assert e.value.code == "same_reviewer"
    with session_scope(db_url) as s:
        a = lodge(s, d.id, "uploader", "It is news.")
        decide_appeal(s, a.id, "reversed", "News reporting.", role_keys["reviewer2"][0], policy=CasePolicy())
    with session_scope(db_url) as s:
        restored = [json.loads(m.body) for m in s.scalars(sa.select(OutboxMessage).where(OutboxMessage.event == "restore"))]
        assert sorted(c["content_id"] for m in restored for c in m["contents"]) == ["copy1", "copy2", "orig"]
        assert {k.uploader_id: k.count for k in s.scalars(sa.select(Strike))} == {"u1": 0, "u2": 0, "u3": 0}
    [later] = ingest(db_url, [notice("copy3", hashes={"md5": md5})])
    assert later.case_id != r.case_id  # no automatic removal under a reversed decision's copies
