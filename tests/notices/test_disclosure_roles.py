"""Who may approve a disclosure to an authority: a senior reviewer other than the requester, never an admin key."""

import pytest
import sqlalchemy as sa

from vigil.review import disclosures
from vigil.errors import VigilError as ReviewError
from vigil.roles import Permission, Role, allows
from vigil.store.cases import Disclosure, OutboxMessage
from vigil.store.db import session_scope
from vigil.store.ledger import LedgerLeaf

from .conftest import auth, notice

BODY = {"authority": "BKA", "legal_basis": "DSA Art. 18(1)", "reason": "Announces an attack tomorrow."}


def requested(client, role_keys) -> int:
    r = client.post("/v1/notices", json=notice("c1"), headers=auth(role_keys, "submitter"))
    case = r.json()["case_id"]
    r = client.post(f"/v1/cases/{case}/disclosures", json=BODY, headers=auth(role_keys, "reviewer"))
    assert r.status_code == 201, r.text
    return r.json()["id"]


def sent(db_url) -> tuple[int, int]:
    """Disclosures in the outbox and in the ledger."""
    with session_scope(db_url) as s:
        return (s.scalar(sa.select(sa.func.count()).select_from(OutboxMessage).where(OutboxMessage.event == "disclosure")),
                s.scalar(sa.select(sa.func.count()).select_from(LedgerLeaf).where(LedgerLeaf.kind == "disclosure")))


def test_only_the_senior_reviewer_role_may_approve():
    assert [r for r in Role if allows(r, Permission.APPROVE_DISCLOSURE)] == [Role.SENIOR_REVIEWER]


def test_an_admin_key_can_neither_approve_nor_reject(db_url, client, role_keys):
    did = requested(client, role_keys)
    for verb in ("approve", "reject"):
        r = client.post(f"/v1/disclosures/{did}/{verb}", headers=auth(role_keys, "admin"))
        assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden", r.text
    with session_scope(db_url) as s:
        assert s.get(Disclosure, did).state == "requested"
    assert sent(db_url) == (0, 0)
    r = client.post(f"/v1/disclosures/{did}/approve", headers=auth(role_keys, "senior"))
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["state"] == "approved" and out["legal_basis"] == BODY["legal_basis"]
    assert (out["requested_by"], out["approved_by"]) == (role_keys["reviewer"][0], role_keys["senior"][0])
    assert sent(db_url) == (1, 1)


def test_the_core_refuses_an_admin_too(db_url, client, role_keys):
    did = requested(client, role_keys)
    with session_scope(db_url) as s, pytest.raises(ReviewError) as e:
        disclosures.decide(s, did, role_keys["admin"][0], Role.ADMIN, True)
    assert e.value.status == 403
    with session_scope(db_url) as s:
        assert s.get(Disclosure, did).state == "requested"
