"""/v1/check and /v1/check/batch end to end: real banks, real hashing, real Matcher."""

from __future__ import annotations

import base64
import io
import sys
from pathlib import Path

import pytest
from PIL import Image

from vigil import signals
from vigil.banks import service
from vigil.roles import Role
from vigil.store.db import session_scope

from .conftest import auth

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
from _images import jpeg_bytes, varied_image  # noqa: E402


def flip_bits(value: str, n: int) -> str:
    x = int(value, 16)
    for b in range(n):
        x ^= 1 << (b * 7)
    return f"{x:064x}"


@pytest.fixture
def image() -> bytes:
    return jpeg_bytes(varied_image(11, (640, 480)))


@pytest.fixture
def banked(db_url, image):
    """A positive bank holding the image's PDQ hash and an md5, with GIFCT labels and metadata."""
    pdq = next(s for s in signals.hash_bytes(image) if s.type == "pdq")
    with session_scope(db_url) as s:
        service.create_bank(s, "tvec", threshold=31)
        entry = service.add_entry(s, "tvec", "pdq", pdq.value, labels={"entity": "Group A", "behaviour": "attack footage"},
                                  metadata={"ref": "case-9"})
        md5 = service.add_entry(s, "tvec", "md5", "0" * 32)
        return {"pdq": pdq.value, "entry_id": entry.id, "md5_id": md5.id}


@pytest.fixture
def submitter(banked, client, role_keys):
    """A client with a submitter key, started after the bank exists (a later change takes up to 1 s to show)."""
    client.headers.update(auth(role_keys[Role.SUBMITTER]))
    return client


def test_near_copy_of_a_banked_hash_is_violating_with_labels_and_metadata(submitter, banked):
    r = submitter.post("/v1/check", json={"content_id": "c1", "signals": [{"type": "pdq", "value": flip_bits(banked["pdq"], 10)}]})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["content_id"] == "c1" and body["verdict"] == "violating"
    [m] = body["matches"]
    assert (m["bank"], m["entry_id"], m["distance"]) == ("tvec", banked["entry_id"], 10)
    assert m["labels"] == {"entity": "Group A", "behaviour": "attack footage"} and m["metadata"] == {"ref": "case-9"}
    assert "tvec" in body["reasons"][0] and "Group A" in body["reasons"][0]


def test_unrelated_hash_is_benign(submitter, banked):
    r = submitter.post("/v1/check", json={"content_id": "c2", "signals": [{"type": "pdq", "value": flip_bits(banked["pdq"], 36)}]})
    assert r.json()["verdict"] == "benign" and r.json()["matches"] == [] and r.json()["reasons"] == []


def test_threshold_change_takes_effect_on_the_next_check(submitter, banked, role_keys):
    near = {"content_id": "c3", "signals": [{"type": "pdq", "value": flip_bits(banked["pdq"], 20)}]}
    assert submitter.post("/v1/check", json=near).json()["verdict"] == "violating"
    r = submitter.patch("/v1/banks/tvec", json={"threshold": 10}, headers=auth(role_keys[Role.ADMIN]))
    assert r.status_code == 200 and r.json()["threshold"] == 10
    import time

    deadline = time.monotonic() + 1.0
    while submitter.post("/v1/check", json=near).json()["verdict"] != "benign":
        assert time.monotonic() < deadline, "threshold change not seen within 1 s"
        time.sleep(0.05)


def test_uploaded_image_is_hashed_and_matched_as_json_and_multipart(submitter, banked, image):
    as_json = submitter.post("/v1/check", json={"content_id": "j", "media": base64.b64encode(image).decode(), "filename": "a.jpg"})
    as_form = submitter.post("/v1/check", data={"content_id": "m"}, files={"media": ("a.jpg", image, "image/jpeg")})
    for r in (as_json, as_form):
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["verdict"] == "violating"
        assert body["matches"][0]["entry_id"] == banked["entry_id"] and body["matches"][0]["distance"] == 0
        assert {s["type"] for s in body["signals"]} >= {"pdq", "md5", "sha256"}


def test_rotated_upload_matches_through_dihedral_variants(submitter, banked, image):
    rotated = io.BytesIO()
    Image.open(io.BytesIO(image)).rotate(90, expand=True).save(rotated, "JPEG", quality=90)
    r = submitter.post("/v1/check", data={"content_id": "rot"}, files={"media": ("r.jpg", rotated.getvalue(), "image/jpeg")})
    assert r.json()["verdict"] == "violating", r.text


def test_negative_bank_suppresses_the_match_it_overlaps(submitter, banked, db_url):
    with session_scope(db_url) as s:
        service.create_bank(s, "known-fp", negative=True)
        service.add_entry(s, "known-fp", "pdq", banked["pdq"])
    import time

    time.sleep(0.6)  # the Matcher polls the change log every 0.5 s
    r = submitter.post("/v1/check", json={"content_id": "c", "signals": [{"type": "pdq", "value": banked["pdq"]}]})
    assert r.json()["verdict"] == "benign" and r.json()["matches"] == []


def test_disabled_entry_stops_matching_and_enabling_restores_it(submitter, banked, role_keys):
    admin = auth(role_keys[Role.ADMIN])
    exact = {"content_id": "c", "signals": [{"type": "md5", "value": "0" * 32}]}
    assert submitter.post("/v1/check", json=exact).json()["verdict"] == "violating"
    r = submitter.patch(f"/v1/banks/tvec/entries/{banked['md5_id']}", json={"enabled": False}, headers=admin)
    assert r.status_code == 200 and r.json()["enabled"] is False
    import time

    time.sleep(0.6)
    assert submitter.post("/v1/check", json=exact).json()["verdict"] == "benign"
    submitter.patch(f"/v1/banks/tvec/entries/{banked['md5_id']}", json={"enabled": True}, headers=admin)
    time.sleep(0.6)
    assert submitter.post("/v1/check", json=exact).json()["verdict"] == "violating"


def test_restricting_to_banks(submitter, banked):
    one = {"content_id": "c", "signals": [{"type": "md5", "value": "0" * 32}]}
    assert submitter.post("/v1/check", json=one | {"banks": ["tvec"]}).json()["verdict"] == "violating"
    r = submitter.post("/v1/check", json=one | {"banks": ["nope"]})
    assert r.status_code == 422 and r.json()["error"]["field"] == "banks"


@pytest.mark.parametrize("data", [
    b"",
    b"just some text, not an image",
    b"\x89PNG\r\n\x1a\n" + b"\0" * 64,
    jpeg_bytes(varied_image(2, (64, 64)))[:300],
], ids=["empty", "text", "bad-png", "truncated-jpeg"])
def test_non_images_get_a_clear_error(submitter, data):
    r = submitter.post("/v1/check", data={"content_id": "x"}, files={"media": ("x.jpg", data, "image/jpeg")})
    assert r.status_code == 422, r.text
    e = r.json()["error"]
    assert (e["code"], e["field"]) == ("invalid_media", "media")
    assert e["message"].startswith("The media could not be hashed: x.jpg: ") and len(e["message"]) > 60


def test_decompression_bomb_is_refused(submitter):
    buf = io.BytesIO()
    Image.new("1", (30000, 30000)).save(buf, "PNG")  # ~100 kB on disk, 900 megapixels decoded
    r = submitter.post("/v1/check", data={"content_id": "bomb"}, files={"media": ("b.png", buf.getvalue(), "image/png")})
    assert r.status_code == 422 and r.json()["error"]["field"] == "media", r.text


def test_batch_answers_each_item_in_order_and_bad_items_fail_alone(submitter, banked, image):
    items = [
        {"content_id": "ok-match", "signals": [{"type": "pdq", "value": banked["pdq"]}]},
        {"content_id": "bad-field", "nonsense": True},
        {"content_id": "bad-hash", "signals": [{"type": "pdq", "value": "xyz"}]},
        "not an object",
        {"content_id": "bad-media", "media": base64.b64encode(b"GIF89a broken").decode()},
        {"content_id": "upload", "media": base64.b64encode(image).decode()},
        {"content_id": "clean", "signals": [{"type": "md5", "value": "1" * 32}]},
    ]
    r = submitter.post("/v1/check/batch", json={"items": items})
    assert r.status_code == 200, r.text
    results = r.json()["results"]
    assert [x["index"] for x in results] == list(range(len(items)))
    ok = {i: x["result"] for i, x in enumerate(results) if x["result"]}
    errors = {i: x["error"] for i, x in enumerate(results) if x["error"]}
    assert set(ok) == {0, 5, 6} and set(errors) == {1, 2, 3, 4}
    assert ok[0]["verdict"] == "violating" and ok[5]["verdict"] == "violating" and ok[6]["verdict"] == "benign"
    assert errors[1]["field"] == "nonsense" and errors[2]["field"] == "signals.0.value" and errors[4]["field"] == "media"


def test_batch_of_a_thousand(submitter, banked):
    items = [{"content_id": str(i), "signals": [{"type": "md5", "value": ("0" if i % 2 else "2") * 32}]} for i in range(1000)]
    results = submitter.post("/v1/check/batch", json={"items": items}).json()["results"]
    assert [r["result"]["verdict"] for r in results] == ["violating" if i % 2 else "benign" for i in range(1000)]


VIOLATING_TEXT = "Kill all the infidels, join the caliphate and take up arms."
REPORTING_TEXT = "The police said the man was convicted of planning an attack."


def test_text_detection_gives_hits_and_a_reason(submitter):
    body = submitter.post("/v1/check", json={"content_id": "t", "text": VIOLATING_TEXT}).json()
    assert body["verdict"] == "violating" and body["matches"] == []
    assert body["text"]["hits"] and body["text"]["reason"]
    assert any(r.startswith("Text: ") for r in body["reasons"])
    quiet = submitter.post("/v1/check", json={"content_id": "n", "text": REPORTING_TEXT}).json()
    assert quiet["verdict"] == "benign" and quiet["text"]["verdict"] == "benign" and quiet["reasons"] == []


def test_hash_and_text_in_one_call(submitter, banked):
    body = submitter.post("/v1/check", json={"content_id": "both", "text": REPORTING_TEXT,
                                             "signals": [{"type": "pdq", "value": banked["pdq"]}]}).json()
    assert body["verdict"] == "violating" and body["matches"] and body["text"]["verdict"] == "benign"


def test_ten_megabyte_text_gets_a_verdict_and_longer_gets_422(submitter):
    r = submitter.post("/v1/check", json={"content_id": "long", "text": "a" * (10 * 1024 * 1024)})
    assert r.status_code == 200 and r.json()["verdict"] in ("review", "benign"), r.text[:300]
    r = submitter.post("/v1/check", json={"content_id": "longer", "text": "a" * (10 * 1024 * 1024 + 1)})
    assert r.status_code == 422 and r.json()["error"]["field"] == "text"


def test_batch_runs_text_items_together(submitter):
    items = [{"content_id": str(i), "text": VIOLATING_TEXT if i % 3 == 0 else REPORTING_TEXT} for i in range(30)]
    results = submitter.post("/v1/check/batch", json={"items": items}).json()["results"]
    assert [r["result"]["verdict"] for r in results] == ["violating" if i % 3 == 0 else "benign" for i in range(30)]


@pytest.mark.parametrize("filename", ["../../etc/passwd.jpg", "x" * 1000 + ".jpg", "<script>alert(1)</script>.jpg", "名前 ünïcode.jpg"])
def test_hostile_filenames_are_only_labels(submitter, banked, image, filename):
    r = submitter.post("/v1/check", data={"content_id": "f"}, files={"media": (filename, image, "image/jpeg")})
    assert r.status_code == 200 and r.json()["verdict"] == "violating", r.text[:300]
    bad = submitter.post("/v1/check", data={"content_id": "f"}, files={"media": (filename, b"not an image", "image/jpeg")})
    assert bad.status_code == 422 and len(bad.json()["error"]["message"]) < 1000
