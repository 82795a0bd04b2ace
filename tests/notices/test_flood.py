"""A Content Incident Protocol flood: 10,000 notices about 500 near-duplicate copies collapse into one case."""

import random

import sqlalchemy as sa

from vigil.signals import video
from vigil.store.cases import Case, CaseContent, Notice
from vigil.store.db import session_scope

from .conftest import auth, flip, notice, random_pdq

COPIES, NOTICES, BATCH = 500, 10_000, 1000


def video_copies(rng, n: int, frames: int = 20) -> list[str]:
    base = [random_pdq(rng) for _ in range(frames)]
    return [video.encode([video.Frame(flip(f, rng.sample(range(256), 8)), 90) for f in base]) for _ in range(n)]


def flood(client, role_keys, values: list[tuple[str, dict]], rng) -> None:
    order = [values[i % len(values)] for i in range(NOTICES)]
    rng.shuffle(order)
    for lo in range(0, NOTICES, BATCH):
        items = [notice(cid, hashes=h, uploader_id=f"acct-{cid}") for cid, h in order[lo : lo + BATCH]]
        r = client.post("/v1/notices/batch", json={"notices": items}, headers=auth(role_keys, "submitter"))
        assert r.status_code == 202 and r.json()["accepted"] == BATCH, r.text[:500]


def counts(db_url):
    with session_scope(db_url) as s:
        return (s.scalar(sa.select(sa.func.count()).select_from(Case)),
                s.scalar(sa.select(sa.func.count()).select_from(CaseContent)),
                s.scalar(sa.select(sa.func.count()).select_from(Notice)))


def test_flood_of_one_video_is_one_case(db_url, client, role_keys):
    rng = random.Random(7)
    values = [(f"vid-{i}", {"vpdq": v}) for i, v in enumerate(video_copies(rng, COPIES))]
    flood(client, role_keys, values, rng)
    assert counts(db_url) == (1, COPIES, NOTICES)
    [case] = client.get("/v1/cases", headers=auth(role_keys, "reviewer")).json()
    assert case["notice_count"] == NOTICES and case["content_type"] == "video"


def test_flood_of_three_videos_is_three_cases(db_url, client, role_keys):
    rng = random.Random(8)
    values = [(f"vid-{k}-{i}", {"vpdq": v}) for k in range(3) for i, v in enumerate(video_copies(rng, COPIES // 3))]
    flood(client, role_keys, values, rng)
    cases, copies, notices = counts(db_url)
    assert (cases, copies, notices) == (3, 3 * (COPIES // 3), NOTICES)


def test_flood_of_one_image_cluster_is_one_case(db_url, client, role_keys):
    rng = random.Random(9)
    base = random_pdq(rng)
    values = [(f"img-{i}", {"pdq": flip(base, rng.sample(range(256), 12))}) for i in range(COPIES)]
    flood(client, role_keys, values, rng)
    assert counts(db_url) == (1, COPIES, NOTICES)
