"""Bank curation over HTTP: create, list, update, entries, enable/disable, import and export in the three formats."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest

from vigil.roles import Role

from .conftest import auth

PDQ = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"


@pytest.fixture
def admin(client, role_keys):
    client.headers.update(auth(role_keys[Role.ADMIN]))
    return client


def test_create_list_get_update(admin):
    r = admin.post("/v1/banks", json={"name": "gifct/tvec", "threshold": 20, "description": "shared list"})
    assert r.status_code == 201, r.text
    assert r.json()["threshold"] == 20
    assert datetime.fromisoformat(r.json()["created_at"]).utcoffset() == timedelta(0)  # stored UTC, and says so
    assert admin.post("/v1/banks", json={"name": "gifct/tvec"}).status_code == 409
    assert [b["name"] for b in admin.get("/v1/banks").json()] == ["gifct/tvec"]
    assert admin.get("/v1/banks/gifct/tvec").json()["description"] == "shared list"
    r = admin.patch("/v1/banks/gifct/tvec", json={"threshold": 12, "negative": True})
    assert r.status_code == 200 and (r.json()["threshold"], r.json()["negative"]) == (12, True)
    assert admin.get("/v1/banks/nope").status_code == 404


@pytest.mark.parametrize("body,field", [
    ({"name": "x", "threshold": 300}, "threshold"),
    ({"name": "x", "threshold": "high"}, "threshold"),
    ({"name": ""}, "name"),
    ({"name": "-bad start"}, "name"),
    ({"name": "x", "colour": "red"}, "colour"),
])
def test_create_rejects_bad_input_naming_the_field(admin, body, field):
    r = admin.post("/v1/banks", json=body)
    assert r.status_code == 422 and r.json()["error"]["field"] == field, r.text


def test_entries_add_list_disable(admin):
    admin.post("/v1/banks", json={"name": "b"})
    r = admin.post("/v1/banks/b/entries", json={"signal_type": "pdq", "value": PDQ.upper(), "labels": {"entity": "Group A"},
                                                "metadata": {"ref": 1}})
    assert r.status_code == 201, r.text
    entry = r.json()
    assert entry["value"] == PDQ and entry["labels"] == {"entity": "Group A"} and entry["enabled"] is True
    bad = admin.post("/v1/banks/b/entries", json={"signal_type": "pdq", "value": "12"})
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "value"
    unknown = admin.post("/v1/banks/b/entries", json={"signal_type": "tmk", "value": "12"})
    assert unknown.status_code == 422
    r = admin.patch(f"/v1/banks/b/entries/{entry['id']}", json={"enabled": False})
    assert r.status_code == 200 and r.json()["enabled"] is False
    assert admin.get("/v1/banks/b").json()["enabled_entries"] == 0
    assert [e["id"] for e in admin.get("/v1/banks/b/entries").json()] == [entry["id"]]
    admin.post("/v1/banks", json={"name": "other"})
    assert admin.patch(f"/v1/banks/other/entries/{entry['id']}", json={"enabled": True}).status_code == 404
    assert admin.patch("/v1/banks/b/entries/99999", json={"enabled": True}).status_code == 404


@pytest.mark.parametrize("fmt", ["te_csv", "tat_json", "hma"])
def test_export_then_import_round_trips(admin, fmt):
    admin.post("/v1/banks", json={"name": "src"})
    admin.post("/v1/banks/src/entries", json={"signal_type": "pdq", "value": PDQ, "labels": {"entity": "Group A"}})
    admin.post("/v1/banks/src/entries", json={"signal_type": "md5", "value": "a" * 32})
    exported = admin.get(f"/v1/banks/src/export?format={fmt}")
    assert exported.status_code == 200 and exported.content
    assert "attachment" in exported.headers["content-disposition"]
    admin.post("/v1/banks", json={"name": "dst"})
    r = admin.post(f"/v1/banks/dst/import?format={fmt}", content=exported.content,
                   headers={"Content-Type": "application/octet-stream"})
    assert r.status_code == 200, r.text
    assert r.json()["added"] == 2 and r.json()["rejected"] == []
    values = {e["value"] for e in admin.get("/v1/banks/dst/entries").json()}
    assert values == {PDQ, "a" * 32}


def test_import_reports_rejected_lines_and_keeps_the_good_ones(admin):
    admin.post("/v1/banks", json={"name": "tat"})
    page = {"results": [
        {"hash_digest": PDQ, "algorithm": "PDQ", "ideology": "x", "file_type": "image", "deleted": False},
        {"hash_digest": "not-hex", "algorithm": "PDQ", "ideology": "x", "file_type": "image", "deleted": False},
    ]}
    r = admin.post("/v1/banks/tat/import?format=tat_json", content=json.dumps(page), headers={"Content-Type": "application/json"})
    assert r.status_code == 200, r.text
    assert r.json()["added"] == 1 and len(r.json()["rejected"]) == 1 and r.json()["rejected"][0]["reason"]


def test_import_format_must_be_known(admin):
    admin.post("/v1/banks", json={"name": "f"})
    r = admin.post("/v1/banks/f/import?format=xml", content=b"<x/>")
    assert r.status_code == 422 and r.json()["error"]["field"] == "format"
    assert admin.post("/v1/banks/nope/import?format=te_csv", content=b"").status_code == 404


def test_lone_surrogates_and_invalid_utf8_are_422(admin):
    headers = {"Content-Type": "application/json"}
    r = admin.post("/v1/banks", content=b'{"name": "s", "description": "\\ud800x"}', headers=headers)
    assert r.status_code == 422 and r.json()["error"]["field"] == "description"
    r = admin.post("/v1/banks", content=b'{"name": "s\xff"}', headers=headers)
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_request"
    assert admin.get("/v1/banks").json() == []
