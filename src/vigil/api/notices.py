"""Notices in: one (`POST /v1/notices`) or up to 1,000 at once (`POST /v1/notices/batch`).

Both answer only after the notices are committed, so an acknowledged notice is never lost. The same
notice under the same idempotency key yields the first notice's ids again, never a second notice.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Header, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, ValidationError
from sqlalchemy.orm import Session

from vigil.api.auth import Principal, charge, require
from vigil.api.deps import get_session
from vigil.api.errors import ApiError, describe, field_of, responses
from vigil.api import check
from vigil.cases import policy
from vigil.cases.checks import Checkers
from vigil.cases.intake import IntakeError, ingest
from vigil.cases.notice import NoticeIn
from vigil.roles import Permission

router = APIRouter(prefix="/v1/notices", tags=["notices"])
notify = require(Permission.NOTIFY)
MAX_BATCH = 1000


class ReceiptOut(BaseModel):
    received_at: str
    digest: str = Field(description="SHA-256 of the notice's canonical JSON, to prove what was received.")


class NoticeAccepted(BaseModel):
    notice_id: int
    case_id: int
    receipt: ReceiptOut
    duplicate: bool = Field(description="True when this idempotency key was seen before: the ids are the first notice's.")


class BatchIn(BaseModel):
    notices: list[Any] = Field(max_length=MAX_BATCH, description=f"Up to {MAX_BATCH} notices, each as for POST /v1/notices.")


class ItemError(BaseModel):
    code: str
    message: str
    field: str | None = None


class BatchItem(BaseModel):
    index: int
    status: int
    notice_id: int | None = None
    case_id: int | None = None
    receipt: ReceiptOut | None = None
    duplicate: bool | None = None
    error: ItemError | None = None


class BatchOut(BaseModel):
    accepted: int
    rejected: int
    results: list[BatchItem]


def checkers(request: Request) -> Checkers:
    """The service's own matcher and detector (one of each per process, as /v1/check uses them)."""
    return Checkers(matcher=check.holder(request.app).get(), detector=check.detector(request.app))


def _item_error(e: ValidationError) -> dict:
    err = e.errors()[0]
    message = describe(err)
    if len(e.errors()) > 1:
        message += f" ({len(e.errors()) - 1} more problem(s) in this notice.)"
    return {"code": "invalid_notice", "message": message, "field": field_of(err.get("loc", ()))}


@router.post("", status_code=202, response_model=NoticeAccepted, responses=responses(409, 422))
def submit_notice(notice: NoticeIn, request: Request, session: Session = Depends(get_session),
                  _: Principal = Depends(notify),
                  idempotency_key: str | None = Header(None, alias="Idempotency-Key", max_length=200)):
    """Submit a notice (DSA Art. 16) or a removal order (TCO). 202 once it is stored, with a receipt."""
    if idempotency_key:
        if notice.idempotency_key and notice.idempotency_key != idempotency_key:
            raise ApiError(422, "invalid_request", "The Idempotency-Key header and the body's idempotency_key differ; "
                           "send one of them.", "idempotency_key")
        notice = notice.model_copy(update={"idempotency_key": idempotency_key})
    [result] = ingest(session, [notice], policy=policy.current(), checkers=checkers(request))
    if isinstance(result, IntakeError):
        raise ApiError(409, result.code, str(result), "idempotency_key")
    return JSONResponse(result.to_dict(), status_code=202)


@router.post("/batch", status_code=202, response_model=BatchOut, responses=responses(422))
def submit_batch(batch: BatchIn, request: Request, session: Session = Depends(get_session),
                 principal: Principal = Depends(notify)):
    """Submit up to 1,000 notices. Each gets its own result; a bad notice never sinks the others."""
    if len(batch.notices) > 1:
        charge(request, principal, len(batch.notices) - 1)
    results: list[dict] = [{}] * len(batch.notices)
    valid: list[tuple[int, NoticeIn]] = []
    for i, raw in enumerate(batch.notices):
        try:
            valid.append((i, NoticeIn.model_validate(raw)))
        except ValidationError as e:
            results[i] = {"index": i, "status": 422, "error": _item_error(e)}
    outcomes = ingest(session, [n for _, n in valid], policy=policy.current(), checkers=checkers(request)) if valid else []
    for (i, _), out in zip(valid, outcomes):
        if isinstance(out, IntakeError):
            results[i] = {"index": i, "status": 409, "error": {"code": out.code, "message": str(out), "field": "idempotency_key"}}
        else:
            results[i] = {"index": i, "status": 202, **out.to_dict()}
    accepted = sum(1 for r in results if r["status"] == 202)
    return check.json_response({"accepted": accepted, "rejected": len(results) - accepted, "results": results}, 202)
