"""Disclosures to an authority (e.g. DSA Art. 18, a threat to life): a legal basis and two people, both recorded.

A reviewer requests; a senior reviewer who is not the requester approves. Only then is the disclosure
ledgered and sent (through the outbox). Nothing about people leaves without both. Only the senior reviewer
role holds the approval (vigil.roles): an admin key, which manages keys and banks, cannot approve.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from vigil import outbox
from vigil.clock import now
from vigil.errors import Conflict, Forbidden, InvalidInput, not_found
from vigil.ledger.log import append_row
from vigil.roles import Permission, Role, allows
from vigil.store.cases import Case, CaseContent, Disclosure
from vigil.vocabulary import DisclosureState


def disclosure_view(d: Disclosure) -> dict:
    return {
        "id": d.id, "case_id": d.case_id, "authority": d.authority, "legal_basis": d.legal_basis, "reason": d.reason,
        "state": d.state, "requested_by": d.requested_by, "requested_at": d.requested_at.isoformat(),
        "approved_by": d.approved_by, "approved_at": d.approved_at.isoformat() if d.approved_at else None,
    }


def request(session: Session, case_id: int, authority: str, legal_basis: str, reason: str, requester_key_id: int,
            *, at: datetime | None = None) -> Disclosure:
    at = at or now()
    for name, value, limit in (("authority", authority, 200), ("legal_basis", legal_basis, 500), ("reason", reason, 10_000)):
        if not (value or "").strip() or len(value) > limit:
            raise InvalidInput(f"{name} is required (1-{limit} characters); a disclosure "
                              "needs the authority, the legal basis that allows it, and the reason", code="invalid_disclosure", field=name)
    if session.get(Case, case_id) is None:
        raise not_found("case", case_id)
    d = Disclosure(case_id=case_id, authority=authority.strip(), legal_basis=legal_basis.strip(), reason=reason.strip(),
                   state=DisclosureState.REQUESTED, requested_by=requester_key_id, requested_at=at)
    session.add(d)
    session.flush()
    return d


def decide(session: Session, disclosure_id: int, approver_key_id: int, approver_role: Role | str, approve: bool,
           *, at: datetime | None = None) -> Disclosure:
    """The second person's answer. Approval ledgers the disclosure and sends it; rejection only records it."""
    at = at or now()
    if not allows(approver_role, Permission.APPROVE_DISCLOSURE):
        raise Forbidden("only a senior reviewer may approve or reject a disclosure")
    d = session.get(Disclosure, disclosure_id)
    if d is None:
        raise not_found("disclosure", disclosure_id)
    if d.requested_by == approver_key_id:
        raise Forbidden("the second approver must be a different person from the requester", code="same_person")
    taken = session.execute(sa.update(Disclosure).where(Disclosure.id == disclosure_id, Disclosure.state == DisclosureState.REQUESTED)
                            .values(state=DisclosureState.APPROVED if approve else DisclosureState.REJECTED, approved_by=approver_key_id,
                                    approved_at=at).execution_options(synchronize_session=False)).rowcount
    session.refresh(d)
    if not taken:
        raise Conflict(f"disclosure {disclosure_id} is already {d.state}", code="already_decided")
    if approve:
        append_row(session, "disclosure", d)
        case = session.get(Case, d.case_id)
        contents = session.scalars(sa.select(CaseContent).where(CaseContent.case_id == d.case_id)).all()
        outbox.enqueue(session, [outbox.Message(f"disclosure:{d.id}", "disclosure", {
            **disclosure_view(d), "evidence": case.evidence.model_dump(mode="json"),
            "contents": [{"content_id": c.content_id, "url": c.content_url} for c in contents]})], at)
    return d


def list_disclosures(session: Session, *, state: str | None = DisclosureState.REQUESTED, limit: int = 200) -> list[dict]:
    q = sa.select(Disclosure)
    if state:
        q = q.where(Disclosure.state == state)
    return [disclosure_view(d) for d in session.scalars(q.order_by(Disclosure.requested_at, Disclosure.id).limit(limit))]
