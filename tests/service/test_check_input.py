"""Bad input to /v1/check and /v1/check/batch: a clear error naming the field, and nothing else lost."""

from __future__ import annotations

import base64
import json

import pytest
from fastapi.testclient import TestClient

from vigil.roles import Role

from .conftest import auth

LIMIT = 10_000


@pytest.fixture
def small(db_url, role_keys, make_app):
    """A service whose media limit is 10 kB, so over-size cases stay cheap."""
    app = make_app(max_media_bytes=LIMIT)
    with TestClient(app, raise_server_exceptions=False) as c:
        c.headers.update(auth(role_keys[Role.SUBMITTER]))
        yield c


def error(r, status: int, field: str | None = "unset") -> dict:
    assert r.status_code == status, r.text[:500]
    body = r.json()["error"]
    if field != "unset":
        assert body["field"] == field, body
    assert body["message"] and body["code"]
    return body


def test_malformed_json_is_422(small):
    e = error(small.post("/v1/check", content=b'{"content_id": ', headers={"Content-Type": "application/json"}), 422)
    assert "JSON" in e["message"]


def test_invalid_utf8_is_422(small):
    error(small.post("/v1/check", content=b'{"content_id": "a", "text": "\xff\xfe"}', headers={"Content-Type": "application/json"}), 422)


def test_lone_surrogate_escape_is_refused_or_checked_not_crashed(small):
    r = small.post("/v1/check", content=b'{"content_id": "a", "text": "\\ud800 x"}', headers={"Content-Type": "application/json"})
    assert r.status_code in (200, 422), r.text[:300]


@pytest.mark.parametrize("body,field", [
    ({}, "content_id"),
    ({"content_id": ""}, "content_id"),
    ({"content_id": "a", "bogus": 1}, "bogus"),
    ({"content_id": 5}, "content_id"),
    ({"content_id": "a", "signals": "pdq"}, "signals"),
    ({"content_id": "a", "signals": [{"type": "pdq"}]}, "signals.0.value"),
    ({"content_id": "a", "signals": [{"type": "pdq", "value": "ab", "x": 1}]}, "signals.0.x"),
    ({"content_id": "a", "text": ["not", "text"]}, "text"),
    ({"content_id": "a", "banks": "all"}, "banks"),
    ({"content_id": "x" * 501}, "content_id"),
])
def test_wrong_shapes_name_the_field(small, body, field):
    e = error(small.post("/v1/check", json=body), 422, field)
    assert field.split(".")[-1] in e["message"]


def test_unknown_field_message_says_to_remove_it(small):
    e = error(small.post("/v1/check", json={"content_id": "a", "colour": "red"}), 422, "colour")
    assert "not a known field" in e["message"]


@pytest.mark.parametrize("signal,field", [
    ({"type": "pdq", "value": "zz" * 32}, "signals.0.value"),
    ({"type": "pdq", "value": "ab"}, "signals.0.value"),
    ({"type": "md5", "value": "0" * 31}, "signals.0.value"),
    ({"type": "tmk", "value": "00"}, "signals.0.type"),
])
def test_bad_signals_name_the_signal(small, signal, field):
    e = error(small.post("/v1/check", json={"content_id": "a", "signals": [signal]}), 422, field)
    assert e["code"] == "invalid_signal"


def test_bad_base64_media(small):
    e = error(small.post("/v1/check", json={"content_id": "a", "media": "not base64!!"}), 422, "media")
    assert "base64" in e["message"]


def test_oversize_base64_media_is_413(small):
    media = base64.b64encode(b"\0" * (LIMIT + 1)).decode()
    e = error(small.post("/v1/check", json={"content_id": "a", "media": media}), 413, "media")
    assert e["code"] == "too_large"


def test_declared_length_over_the_limit_is_413_before_reading(small):
    r = small.post("/v1/check", content=b"{}", headers={"Content-Type": "application/json", "Content-Length": str(10**12)})
    error(r, 413)


def test_streamed_body_over_the_limit_is_413(small):
    def chunks():
        yield b'{"content_id": "a", "media": "'
        for _ in range(100):
            yield b"A" * 1_000_000
        yield b'"}'

    error(small.post("/v1/check", content=chunks(), headers={"Content-Type": "application/json"}), 413)


def test_oversize_multipart_upload_is_413(small):
    r = small.post("/v1/check", data={"content_id": "a"}, files={"media": ("big.jpg", b"\xff" * (LIMIT + 1), "image/jpeg")})
    error(r, 413, "media")


def test_multipart_unknown_field_and_bad_json_list(small):
    def form(**fields):  # (None, value) parts force multipart even without a file
        return {k: (None, v) for k, v in fields.items()}

    error(small.post("/v1/check", files=form(content_id="a", colour="red")), 422, "colour")
    error(small.post("/v1/check", files=form(content_id="a", signals="[oops")), 422, "signals")
    error(small.post("/v1/check", files=form(text="hi")), 422, "content_id")
    # Starlette reads a field that is not UTF-8 as Latin-1; the text is then checked as such, never a crash.
    assert small.post("/v1/check", files=form(content_id="a", text=b"\xff\xfe bad utf-8")).status_code in (200, 422)
    error(small.post("/v1/check", files={"other": ("a.jpg", b"x", "image/jpeg")}, data={"content_id": "a"}), 422, "other")


def test_unsupported_content_type_is_415(small):
    error(small.post("/v1/check", content=b"content_id=a", headers={"Content-Type": "text/plain"}), 415)


@pytest.mark.parametrize("body,field", [
    (b"[]", None),
    (b'{"items": []}', "items"),
    (b'{"items": {}}', "items"),
    (b'{"items": [{"content_id": "a"}], "extra": 1}', "extra"),
    (json.dumps({"items": [{"content_id": str(i)} for i in range(1001)]}).encode(), "items"),
])
def test_batch_envelope_errors(small, body, field):
    error(small.post("/v1/check/batch", content=body, headers={"Content-Type": "application/json"}), 422, field)
