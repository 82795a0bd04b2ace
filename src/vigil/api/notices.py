"""Notices in: one (`POST /v1/notices`) or up to 1,000 at once (`POST /v1/notices/batch`).

Both answer only after the notices are committed, so an acknowledged notice is never lost. The same
notice under the same idempotency key yields the first notice's ids again, never a second notice.
Media sent with a notice is hashed in the runtime's media pool, then intake and the decisions that cannot
wait run in one transaction (vigil.review.notices.receive) in a worker thread: the event loop only parses.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Header
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, ValidationError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from vigil.api.auth import Principal, charge, require
from vigil.api.check import json_response
from vigil.api.errors import ErrorDetail, describe, detail, field_of, responses
from vigil.cases.intake import IntakeError, Receipt
from vigil.cases.notice import NoticeIn, with_media_hashed
from vigil.errors import InvalidInput, VigilError
from vigil.review.notices import receive
from vigil.roles import Permission
from vigil.runtime import Runtime
from vigil.web.deps import CurrentRuntime, DbSession

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


class BatchItem(BaseModel):
    index: int
    status: int
    notice_id: int | None = None
    case_id: int | None = None
    receipt: ReceiptOut | None = None
    duplicate: bool | None = None
    error: ErrorDetail | None = None


class BatchOut(BaseModel):
    accepted: int
    rejected: int
    results: list[BatchItem]


def receive_now(rt: Runtime, session: Session, notices: list[NoticeIn]) -> list[Receipt | IntakeError]:
    return receive(session, notices, policy=rt.policy, near_index=rt.near_index, matcher=rt.matcher,
                   detector=rt.detector)


def _item_error(e: ValidationError) -> dict:
    err = e.errors()[0]
    message = describe(err)
    if len(e.errors()) > 1:
        message += f" ({len(e.errors()) - 1} more problem(s) in this notice.)"
    return {"code": "invalid_notice", "message": message, "field": field_of(err.get("loc", ()))}


@router.post("", status_code=202, response_model=NoticeAccepted, responses=responses(409, 422))
async def submit_notice(notice: NoticeIn, session: DbSession, rt: CurrentRuntime, _: Principal = Depends(notify),
                        idempotency_key: str | None = Header(None, alias="Idempotency-Key", max_length=200)):
    """Submit a notice (DSA Art. 16) or a removal order (TCO). 202 once it is stored, with a receipt."""
    if idempotency_key:
        if notice.idempotency_key and notice.idempotency_key != idempotency_key:
            raise InvalidInput("The Idempotency-Key header and the body's idempotency_key differ; send one of them.",
                               field="idempotency_key")
        notice = notice.model_copy(update={"idempotency_key": idempotency_key})
    if notice.content.media is not None:
        notice = await rt.offload_media(with_media_hashed, notice)
    [result] = await run_in_threadpool(receive_now, rt, session, [notice])
    if isinstance(result, IntakeError):
        raise result
    return JSONResponse(result.to_dict(), status_code=202)


@router.post("/batch", status_code=202, response_model=BatchOut, responses=responses(422))
async def submit_batch(batch: BatchIn, request: Request, session: DbSession, rt: CurrentRuntime,
                       principal: Principal = Depends(notify)):
    """Submit up to 1,000 notices. Each gets its own result; a bad notice never sinks the others."""
    if len(batch.notices) > 1:
        charge(request, principal, len(batch.notices) - 1)
    results: list[dict] = [{}] * len(batch.notices)
    valid: list[tuple[int, NoticeIn]] = []
    for i, raw in enumerate(batch.notices):
        try:
            notice = NoticeIn.model_validate(raw)
            if notice.content.media is not None:
                notice = await rt.offload_media(with_media_hashed, notice)
            valid.append((i, notice))
        except ValidationError as e:
            results[i] = {"index": i, "status": 422, "error": _item_error(e)}
        except VigilError as e:
            results[i] = {"index": i, "status": e.status, "error": detail(e).model_dump()}
    outcomes = await run_in_threadpool(receive_now, rt, session, [n for _, n in valid]) if valid else []
    for (i, _), out in zip(valid, outcomes):
        if isinstance(out, IntakeError):
            results[i] = {"index": i, "status": 409, "error": detail(out).model_dump()}
        else:
            results[i] = {"index": i, "status": 202, **out.to_dict()}
    accepted = sum(1 for r in results if r["status"] == 202)
    return json_response({"accepted": accepted, "rejected": len(results) - accepted, "results": results}, 202)
