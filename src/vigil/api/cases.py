"""Cases for reviewers: the queue, a case with its evidence, claims, decisions, and disclosures to authorities."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from vigil.api.auth import Principal, require
from vigil.api.errors import responses
from vigil.api.schemas import DecisionBody
from vigil.cases import queue
from vigil.review import decisions, disclosures, views
from vigil.roles import Permission
from vigil.schema import Id, Strict, Trimmed
from vigil.vocabulary import CaseState, DisclosureState, NoticeSource
from vigil.web.deps import CurrentRuntime, DbSession

router = APIRouter(tags=["cases"])
review = require(Permission.REVIEW)
approver = require(Permission.APPROVE_DISCLOSURE)


class DisclosureBody(Strict):
    authority: Trimmed = Field(min_length=1, max_length=200, description="The authority the case is disclosed to.")
    legal_basis: Trimmed = Field(min_length=1, max_length=500, description="The provision that allows it, e.g. 'DSA Art. 18(1)'.")
    reason: Trimmed = Field(min_length=1, max_length=10_000)


class CaseOut(BaseModel):
    model_config = ConfigDict(extra="allow")
    id: int
    state: str
    queue: str
    priority: float
    deadline: str
    time_left: float
    source: str


class DecisionOut(BaseModel):
    id: int
    case_id: int
    action: str
    territorial_scope: list[str]
    ground: dict[str, str]
    explanation: str
    reviewer_key_id: int | None
    automated: bool
    content_ids: list[str]
    appeal_id: int | None
    decided_at: str


@router.get("/v1/cases", response_model=list[CaseOut])
def list_cases(session: DbSession, _: Principal = Depends(review),
               queue_name: str | None = Query(None, alias="queue", max_length=64),
               state: CaseState | None = Query(None, description="Default: open and claimed."),
               source: NoticeSource | None = None,
               category: str | None = Query(None, max_length=64), language: str | None = Query(None, max_length=16),
               limit: int = Query(100, ge=1, le=queue.MAX_LIMIT), offset: int = Query(0, ge=0, le=10**9)) -> Any:
    """Cases in priority order (authority orders, trusted flaggers, then score), each with its deadline and time left."""
    return queue.list_cases(session, queue=queue_name, state=state, source=source, category=category,
                            language=language, limit=limit, offset=offset)


@router.get("/v1/cases/{case_id}", responses=responses(404))
def get_case(case_id: Id, session: DbSession, _: Principal = Depends(review)) -> dict:
    """A case with its evidence (bank matches, text hits), notices, copies and near-duplicates, decisions and appeals."""
    return views.get_case(session, case_id)


@router.post("/v1/cases/{case_id}/claim", response_model=CaseOut, responses=responses(404, 409))
def claim(case_id: Id, session: DbSession, rt: CurrentRuntime, principal: Principal = Depends(review)) -> Any:
    """Lock the case to you for the configured time (claiming again extends it). 409 if someone else holds it."""
    return queue.claim(session, case_id, principal.key_id, policy=rt.policy)


@router.post("/v1/cases/{case_id}/release", response_model=CaseOut, responses=responses(404))
def release(case_id: Id, session: DbSession, principal: Principal = Depends(review)) -> Any:
    """Give your claim back to the queue."""
    return queue.release(session, case_id, principal.key_id)


@router.post("/v1/cases/{case_id}/decision", response_model=DecisionOut, status_code=201, responses=responses(404, 409))
def decide(case_id: Id, body: DecisionBody, session: DbSession, rt: CurrentRuntime,
           principal: Principal = Depends(review)) -> Any:
    """Decide the whole case: every copy gets the action, every uploader and notifier is told, with a statement of reasons."""
    d = decisions.decide(session, case_id, body.to_core(), principal.key_id, policy=rt.policy)
    return queue.decision_view(d)


@router.post("/v1/cases/{case_id}/disclosures", status_code=201, responses=responses(404))
def request_disclosure(case_id: Id, body: DisclosureBody, session: DbSession,
                       principal: Principal = Depends(review)) -> dict:
    """Ask to disclose the case to an authority. Nothing is sent until a second person, a senior reviewer, approves."""
    d = disclosures.request(session, case_id, body.authority, body.legal_basis, body.reason, principal.key_id)
    return disclosures.disclosure_view(d)


@router.get("/v1/disclosures", tags=["cases"])
def list_disclosures(session: DbSession, _: Principal = Depends(review),
                     state: DisclosureState | None = DisclosureState.REQUESTED) -> list[dict]:
    """Disclosure requests, oldest first (default: those waiting for a second approver)."""
    return disclosures.list_disclosures(session, state=state)


@router.post("/v1/disclosures/{disclosure_id}/approve", responses=responses(404, 409))
def approve_disclosure(disclosure_id: Id, session: DbSession,
                       principal: Principal = Depends(approver)) -> dict:
    """Second approval (senior reviewer, not the requester): the disclosure is ledgered and sent."""
    return _decide_disclosure(session, disclosure_id, principal, True)


@router.post("/v1/disclosures/{disclosure_id}/reject", responses=responses(404, 409))
def reject_disclosure(disclosure_id: Id, session: DbSession,
                      principal: Principal = Depends(approver)) -> dict:
    """Refuse the disclosure; the refusal is recorded and nothing is sent."""
    return _decide_disclosure(session, disclosure_id, principal, False)


def _decide_disclosure(session: Session, disclosure_id: int, principal: Principal, approve: bool) -> dict:
    d = disclosures.decide(session, disclosure_id, principal.key_id, principal.role, approve)
    return disclosures.disclosure_view(d)
