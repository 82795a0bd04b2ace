"""Bank management pages: admins list, add, disable and import; nobody else gets in."""

from __future__ import annotations

import pytest

from vigil.banks import service
from vigil.store.db import session_scope

PDQ = "f" * 64
PDQ2 = "0" * 63 + "1"


@pytest.fixture
def bank_id(live_server):
    with session_scope(live_server.db_url) as s:
        bank = service.create_bank(s, "tvec-local", description="local TVEC list")
        service.add_entry(s, bank, "pdq", PDQ, labels={"entity": "group-a", "behaviour": "glorification"}, source="gifct")
        return bank.id


@pytest.mark.parametrize("who", ["ada", "sam", "sub", "aud"])
def test_only_admins_reach_bank_pages(live_server, signed_in, csrf, bank_id, who):
    c = signed_in(who)
    assert c.get("/console/banks").status_code == 403
    assert c.get(f"/console/banks/{bank_id}").status_code == 403
    settings = c.get("/console/settings").text
    assert 'href="/console/banks"' not in settings
    r = c.post(f"/console/banks/{bank_id}/entries/1/enabled", data={"csrf_token": csrf(settings), "enabled": "off"})
    assert r.status_code == 403
    with session_scope(live_server.db_url) as s:
        assert service.get_entry(s, 1).enabled


def test_admin_adds_disables_and_imports(live_server, signed_in, csrf, bank_id):
    c = signed_in("adm")
    page = c.get(f"/console/banks/{bank_id}")
    assert page.status_code == 200
    assert "group-a" in page.text and "glorification" in page.text
    token = csrf(page.text)
    r = c.post(f"/console/banks/{bank_id}/entries", data={
        "csrf_token": token, "signal_type": "pdq", "value": PDQ2, "label_entity": "group-b", "source": "analyst"})
    assert r.status_code == 303
    r = c.post(f"/console/banks/{bank_id}/entries", data={"csrf_token": token, "signal_type": "pdq", "value": "xyz"})
    assert r.status_code == 422 and "was not added" in r.text
    r = c.post(f"/console/banks/{bank_id}/entries", data={
        "csrf_token": token, "signal_type": "pdq", "value": PDQ.upper(), "label_content_type": "video"})
    assert r.status_code == 303 and "Entry 1 saved" in c.get(r.headers["location"]).text  # the flash is server-side
    r = c.post(f"/console/banks/{bank_id}/entries/1/enabled", data={"csrf_token": token, "enabled": "off"})
    assert r.status_code == 303
    r = c.post(f"/console/banks/{bank_id}/import", data={"csrf_token": token, "fmt": "nope"},
               files={"file": ("list.csv", b"x", "text/csv")})
    assert r.status_code == 422 and "unknown format" in r.text
    exported = None
    with session_scope(live_server.db_url) as s:
        exported = service.export_entries(s, "tvec-local", "te_csv")
        other = service.create_bank(s, "copy")
        other_id = other.id
    r = c.post(f"/console/banks/{other_id}/import", data={"csrf_token": token, "fmt": "te_csv"},
               files={"file": ("list.csv", exported + b"\nnot,a,valid,line\n", "text/csv")})
    assert r.status_code == 200, r.text
    assert "Added 1" in r.text and "rejected 1" in r.text
    with session_scope(live_server.db_url) as s:
        assert not service.get_entry(s, 1).enabled
        assert service.get_entry(s, 1).labels == {"entity": "group-a", "behaviour": "glorification", "content_type": "video"}
        assert [e.value for e in service.list_entries(s, "tvec-local")] == [PDQ, PDQ2]
        assert [e.value for e in service.list_entries(s, "copy")] == [PDQ2]


def test_unknown_bank_is_a_404_page(signed_in, bank_id):
    c = signed_in("adm")
    r = c.get("/console/banks/999")
    assert r.status_code == 404 and "no bank with id 999" in r.text.lower()
