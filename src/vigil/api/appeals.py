"""Appeals (DSA Art. 20): lodged for the uploader or a notifier, decided by a reviewer other than the decider."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field

from vigil.api.auth import Principal, require
from vigil.api.errors import responses
from vigil.api.schemas import DecisionBody
from vigil.schema import MAX_ID, Id
from vigil.review import appeals
from vigil.roles import Permission
from vigil.schema import Strict, Trimmed
from vigil.vocabulary import Appellant
from vigil.web.deps import CurrentRuntime, DbSession

router = APIRouter(prefix="/v1/appeals", tags=["appeals"])
notify = require(Permission.NOTIFY)
review = require(Permission.REVIEW)


class AppealBody(Strict):
    decision_id: int = Field(ge=1, le=MAX_ID)
    appellant: Appellant
    explanation: Trimmed = Field(min_length=1, max_length=10_000)


class AppealDecisionBody(Strict):
    outcome: Literal["upheld", "reversed"]
    explanation: Trimmed = Field(min_length=1, max_length=5000)
    decision: DecisionBody | None = Field(None, description="The new decision, when reversing a decision to take no action.")


class AppealOut(BaseModel):
    model_config = ConfigDict(extra="allow")
    id: int
    decision_id: int = Field(ge=1, le=MAX_ID)
    case_id: int
    appellant: str
    state: str


@router.post("", status_code=201, response_model=AppealOut, responses=responses(404, 409))
def lodge(body: AppealBody, session: DbSession, _: Principal = Depends(notify)) -> Any:
    """Appeal a decision within six months of it."""
    return appeals.appeal_view(appeals.lodge(session, body.decision_id, body.appellant, body.explanation))


@router.get("", response_model=list[AppealOut])
def list_appeals(session: DbSession, principal: Principal = Depends(review),
                 state: Literal["open", "upheld", "reversed"] | None = "open",
                 mine: bool = Query(False, description="Only appeals you may decide (you did not make the decision)."),
                 limit: int = Query(100, ge=1, le=500), offset: int = Query(0, ge=0, le=10**9)) -> Any:
    """Appeals, oldest first."""
    return appeals.list_appeals(session, state=state, decidable_by=principal.key_id if mine else None,
                                limit=limit, offset=offset)


@router.post("/{appeal_id}/decision", response_model=AppealOut, responses=responses(403, 404, 409))
def decide(appeal_id: Id, body: AppealDecisionBody, session: DbSession, rt: CurrentRuntime,
           principal: Principal = Depends(review)) -> Any:
    """Uphold or reverse. Reversing a restriction restores the content; 403 if you made the original decision."""
    a = appeals.decide_appeal(session, appeal_id, body.outcome, body.explanation, principal.key_id,
                              policy=rt.policy, new_decision=body.decision.to_core() if body.decision else None)
    return appeals.appeal_view(a)
