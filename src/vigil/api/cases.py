"""Cases for reviewers: the queue, a case with its evidence, claims, decisions, and disclosures to authorities."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from vigil.api.auth import Principal, require
from vigil.api.deps import get_session
from vigil.api.errors import ApiError, responses
from vigil.cases import policy, queue
from vigil.review import decisions, disclosures
from vigil.review.errors import ReviewError
from vigil.roles import Permission

router = APIRouter(tags=["cases"])
MAX_ID = 2**63 - 1  # ids are 64-bit; larger numbers cannot name anything
Id = Annotated[int, Path(ge=1, le=MAX_ID)]
review = require(Permission.REVIEW)
approver = require(Permission.APPROVE_DISCLOSURE)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Ground(Strict):
    type: Literal["legal", "contractual"]
    reference: str = Field(min_length=1, max_length=500, description="The law's provision, or the terms-of-service clause.")


class DecisionBody(Strict):
    action: Literal["remove", "disable", "restrict", "label", "no_action"]
    territorial_scope: list[str] = Field(default_factory=list, max_length=300, description="ISO 3166-1 alpha-2 codes.")
    ground: Ground
    explanation: str = Field(min_length=1, max_length=decisions.MAX_EXPLANATION)

    def to_core(self) -> decisions.DecisionIn:
        return decisions.DecisionIn(action=self.action, ground_type=self.ground.type, ground_reference=self.ground.reference,
                                    explanation=self.explanation, territorial_scope=self.territorial_scope)


class DisclosureBody(Strict):
    authority: str = Field(min_length=1, max_length=200, description="The authority the case is disclosed to.")
    legal_basis: str = Field(min_length=1, max_length=500, description="The provision that allows it, e.g. 'DSA Art. 18(1)'.")
    reason: str = Field(min_length=1, max_length=10_000)


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


def api_error(e: ReviewError) -> ApiError:
    return ApiError(e.status, e.code, str(e), e.field)


@router.get("/v1/cases", response_model=list[CaseOut])
def list_cases(session: Session = Depends(get_session), _: Principal = Depends(review),
               queue_name: str | None = Query(None, alias="queue", max_length=64),
               state: Literal["open", "claimed", "decided", "appealed"] | None = Query(None, description="Default: open and claimed."),
               source: Literal["user", "trusted_flagger", "authority_order"] | None = None,
               category: str | None = Query(None, max_length=64), language: str | None = Query(None, max_length=16),
               limit: int = Query(100, ge=1, le=queue.MAX_LIMIT), offset: int = Query(0, ge=0, le=10**9)) -> Any:
    """Cases in priority order (authority orders, trusted flaggers, then score), each with its deadline and time left."""
    return queue.list_cases(session, queue=queue_name, state=state, source=source, category=category,
                            language=language, limit=limit, offset=offset)


@router.get("/v1/cases/{case_id}", responses=responses(404))
def get_case(case_id: Id, session: Session = Depends(get_session), _: Principal = Depends(review)) -> dict:
    """A case with its evidence (bank matches, text hits), notices, copies and near-duplicates, decisions and appeals."""
    try:
        return queue.get_case(session, case_id)
    except ReviewError as e:
        raise api_error(e) from None


@router.post("/v1/cases/{case_id}/claim", response_model=CaseOut, responses=responses(404, 409))
def claim(case_id: Id, session: Session = Depends(get_session), principal: Principal = Depends(review)) -> Any:
    """Lock the case to you for the configured time (claiming again extends it). 409 if someone else holds it."""
    try:
        return queue.claim(session, case_id, principal.key_id, policy=policy.current())
    except ReviewError as e:
        raise api_error(e) from None


@router.post("/v1/cases/{case_id}/release", response_model=CaseOut, responses=responses(404))
def release(case_id: Id, session: Session = Depends(get_session), principal: Principal = Depends(review)) -> Any:
    """Give your claim back to the queue."""
    try:
        return queue.release(session, case_id, principal.key_id)
    except ReviewError as e:
        raise api_error(e) from None


@router.post("/v1/cases/{case_id}/decision", response_model=DecisionOut, status_code=201, responses=responses(404, 409))
def decide(case_id: Id, body: DecisionBody, session: Session = Depends(get_session),
           principal: Principal = Depends(review)) -> Any:
    """Decide the whole case: every copy gets the action, every uploader and notifier is told, with a statement of reasons."""
    try:
        d = decisions.decide(session, case_id, body.to_core(), principal.key_id, policy=policy.current())
    except ReviewError as e:
        raise api_error(e) from None
    return queue.decision_view(d)


@router.post("/v1/cases/{case_id}/disclosures", status_code=201, responses=responses(404))
def request_disclosure(case_id: Id, body: DisclosureBody, session: Session = Depends(get_session),
                       principal: Principal = Depends(review)) -> dict:
    """Ask to disclose the case to an authority. Nothing is sent until a second person, a senior reviewer, approves."""
    try:
        d = disclosures.request(session, case_id, body.authority, body.legal_basis, body.reason, principal.key_id)
    except ReviewError as e:
        raise api_error(e) from None
    return disclosures.disclosure_view(d)


@router.get("/v1/disclosures", tags=["cases"])
def list_disclosures(session: Session = Depends(get_session), _: Principal = Depends(review),
                     state: Literal["requested", "approved", "rejected"] | None = "requested") -> list[dict]:
    """Disclosure requests, oldest first (default: those waiting for a second approver)."""
    return disclosures.list_disclosures(session, state=state)


@router.post("/v1/disclosures/{disclosure_id}/approve", responses=responses(404, 409))
def approve_disclosure(disclosure_id: Id, session: Session = Depends(get_session),
                       principal: Principal = Depends(approver)) -> dict:
    """Second approval (senior reviewer, not the requester): the disclosure is ledgered and sent."""
    return _decide_disclosure(session, disclosure_id, principal, True)


@router.post("/v1/disclosures/{disclosure_id}/reject", responses=responses(404, 409))
def reject_disclosure(disclosure_id: Id, session: Session = Depends(get_session),
                      principal: Principal = Depends(approver)) -> dict:
    """Refuse the disclosure; the refusal is recorded and nothing is sent."""
    return _decide_disclosure(session, disclosure_id, principal, False)


def _decide_disclosure(session: Session, disclosure_id: int, principal: Principal, approve: bool) -> dict:
    try:
        d = disclosures.decide(session, disclosure_id, principal.key_id, principal.role, approve)
    except ReviewError as e:
        raise api_error(e) from None
    return disclosures.disclosure_view(d)
