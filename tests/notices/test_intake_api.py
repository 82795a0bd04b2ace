"""The notice endpoints: durable 202 receipts, idempotency, batches where a bad notice never sinks the others."""

import json

import sqlalchemy as sa

from vigil.store.cases import Notice
from vigil.store.db import session_scope

from .conftest import auth, notice


def count_notices(db_url):
    with session_scope(db_url) as s:
        return s.scalar(sa.select(sa.func.count()).select_from(Notice))


def test_same_idempotency_key_creates_one_notice(db_url, client, role_keys):
    h = {**auth(role_keys, "submitter"), "Idempotency-Key": "k-1"}
    a = client.post("/v1/notices", json=notice("c1"), headers=h)
    b = client.post("/v1/notices", json=notice("c1"), headers=h)
    assert a.status_code == b.status_code == 202
    assert (a.json()["notice_id"], a.json()["case_id"]) == (b.json()["notice_id"], b.json()["case_id"])
    assert a.json()["receipt"] == b.json()["receipt"] and b.json()["duplicate"] is True
    assert count_notices(db_url) == 1
    c = client.post("/v1/notices", json=notice("c2"), headers=h)
    assert c.status_code == 409 and c.json()["error"]["code"] == "idempotency_conflict"
    assert count_notices(db_url) == 1


def test_batch_results_per_item_and_bad_items_do_not_sink_others(db_url, client, role_keys):
    good = notice("g1")
    items = [
        good,
        {"source": "user"},                                              # missing fields
        notice("g2", source="authority_order", authority=None),          # order without authority
        {**notice("g3"), "good_faith": False},                           # no good-faith statement
        {**notice("g4"), "surprise": 1},                                 # unknown field
        notice("g5", hashes={"pdq": "zz"}),                              # invalid hash
        notice("g6", hashes={"tmk": "00"}),                              # unknown hash type
        {**notice("g7"), "explanation": "x" * 10_000_000},               # 10 MB string
        "not an object",
        {**notice("g8"), "content": {"id": 12}},                         # wrong type
        notice("g9", text="\ud800 lone surrogate text"),
        notice("g10", views=-5),
        {**notice("g11"), "idempotency_key": "b-1"},
        {**notice("g11"), "idempotency_key": "b-1"},                     # repeat in the same batch
        {**notice("g12"), "idempotency_key": "b-1"},                     # same key, different notice
    ]
    body = json.dumps({"notices": items})  # ASCII-escaped, so the lone surrogate travels as \\ud800
    r = client.post("/v1/notices/batch", content=body, headers={**auth(role_keys, "submitter"), "Content-Type": "application/json"})
    assert r.status_code == 202, r.text
    out = r.json()
    statuses = [x["status"] for x in out["results"]]
    assert statuses == [202, 422, 422, 422, 422, 422, 422, 422, 422, 422, 422, 422, 202, 202, 409]
    assert [x["index"] for x in out["results"]] == list(range(len(items)))
    res = out["results"]
    assert res[12]["notice_id"] == res[13]["notice_id"] and res[13]["duplicate"] is True
    assert res[4]["error"]["field"] == "surprise"
    assert "authority" in res[2]["error"]["message"]
    assert "surrogate" in res[10]["error"]["message"]
    assert out["accepted"] == 3 and out["rejected"] == 12
    assert count_notices(db_url) == 2


def test_batch_limit(client, role_keys):
    r = client.post("/v1/notices/batch", json={"notices": [notice(f"c{i}") for i in range(1001)]},
                    headers=auth(role_keys, "submitter"))
    assert r.status_code == 422
    r = client.post("/v1/notices/batch", json={"notices": [notice(f"c{i % 50}") for i in range(1000)]},
                    headers=auth(role_keys, "submitter"))
    assert r.status_code == 202 and r.json()["accepted"] == 1000


def test_invalid_body_is_a_clear_error(client, role_keys):
    h = {**auth(role_keys, "submitter"), "Content-Type": "application/json"}
    r = client.post("/v1/notices", content=b'{"source": "user", "content": {"id": "\xff\xfe"}}', headers=h)
    assert r.status_code in (400, 422) and r.json()["error"]["message"]
    r = client.post("/v1/notices", content=b'{"source": "us', headers=h)
    assert r.status_code == 422


def test_anonymous_notice_and_authority_order_are_accepted(db_url, client, role_keys):
    anon = notice("a1")
    r = client.post("/v1/notices", json=anon, headers=auth(role_keys, "submitter"))
    assert r.status_code == 202
    order = notice("o1", source="authority_order", good_faith=False)
    r = client.post("/v1/notices", json=order, headers=auth(role_keys, "submitter"))
    assert r.status_code == 202
    with session_scope(db_url) as s:
        n = s.get(Notice, r.json()["notice_id"])
        assert (n.authority, n.order_reference) == ("Example Police", "ORD-1")


def test_permissions(client, role_keys):
    assert client.post("/v1/notices", json=notice("c1"), headers=auth(role_keys, "reviewer")).status_code == 403
    assert client.post("/v1/notices", json=notice("c1")).status_code == 401
    assert client.get("/v1/cases", headers=auth(role_keys, "submitter")).status_code == 403
    assert client.get("/v1/cases", headers=auth(role_keys, "reviewer")).status_code == 200


def test_unknown_ids_are_404(client, role_keys):
    rev = auth(role_keys, "reviewer")
    assert client.get("/v1/cases/999", headers=rev).status_code == 404
    assert client.post("/v1/cases/999/claim", headers=rev).status_code == 404
    r = client.post("/v1/appeals", json={"decision_id": 999, "appellant": "notifier", "explanation": "x"},
                    headers=auth(role_keys, "submitter"))
    assert r.status_code == 404


def jpeg(seed: int, quality: int = 90) -> str:
    import base64
    import io
    import random

    from PIL import Image, ImageDraw

    rng = random.Random(seed)
    img = Image.new("RGB", (320, 240), (rng.randrange(256), rng.randrange(256), rng.randrange(256)))
    draw = ImageDraw.Draw(img)
    for _ in range(25):
        x, y = rng.randrange(300), rng.randrange(220)
        draw.rectangle([x, y, x + rng.randrange(10, 120), y + rng.randrange(10, 120)],
                       fill=(rng.randrange(256), rng.randrange(256), rng.randrange(256)))
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=quality)
    return base64.b64encode(buf.getvalue()).decode()


def test_media_is_hashed_on_receipt_and_groups_reencoded_copies(db_url, client, role_keys):
    from vigil.store.cases import CaseContent

    items = [{**notice("m1"), "content": {"id": "m1", "media": jpeg(1, 95)}},
             {**notice("m2"), "content": {"id": "m2", "media": jpeg(1, 60)}},   # the same picture, re-encoded
             {**notice("m3"), "content": {"id": "m3", "media": jpeg(2)}},
             {**notice("m4"), "content": {"id": "m4", "media": "bm90IGFuIGltYWdl"}},   # "not an image"
             {**notice("m5"), "content": {"id": "m5", "media": ""}},
             {**notice("m6"), "content": {"id": "m6", "media": "@@@"}}]
    r = client.post("/v1/notices/batch", json={"notices": items}, headers=auth(role_keys, "submitter"))
    res = r.json()["results"]
    assert [x["status"] for x in res] == [202, 202, 202, 422, 422, 422]
    assert res[0]["case_id"] == res[1]["case_id"] != res[2]["case_id"]
    assert "cannot be hashed" in res[3]["error"]["message"] and "base64" in res[5]["error"]["message"]
    with session_scope(db_url) as s:
        copies = s.scalars(sa.select(CaseContent).order_by(CaseContent.id)).all()
        assert all(c.pdq and c.md5 and c.sha256 for c in copies)
        assert [c.content_type for c in copies] == ["image"] * 3
