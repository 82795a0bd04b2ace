"""The outbox over HTTP (admin): every webhook delivery and its state, dead letters included, and a retry."""

from __future__ import annotations

from typing import Literal

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel
from sqlalchemy.orm import Session

from vigil import outbox
from vigil.api.auth import Principal, require
from vigil.api.cases import Id
from vigil.api.deps import get_session
from vigil.api.errors import ApiError, responses
from vigil.cases.clock import utc
from vigil.roles import Permission
from vigil.store.cases import OutboxMessage

router = APIRouter(prefix="/v1/outbox", tags=["outbox"])
admin = require(Permission.ADMIN)


class DeliveryOut(BaseModel):
    id: int
    idempotency_key: str
    event: str
    url: str
    state: str
    attempts: int
    next_attempt_at: str | None
    last_error: str | None
    created_at: str
    delivered_at: str | None


class OutboxOut(BaseModel):
    counts: dict[str, int]
    deliveries: list[DeliveryOut]


def view(m: OutboxMessage) -> dict:
    return {"id": m.id, "idempotency_key": m.idempotency_key, "event": m.event, "url": m.url, "state": m.state,
            "attempts": m.attempts, "next_attempt_at": utc(m.next_attempt_at).isoformat() if m.state == "pending" else None,
            "last_error": m.last_error, "created_at": utc(m.created_at).isoformat(),
            "delivered_at": utc(m.delivered_at).isoformat() if m.delivered_at else None}


@router.get("", response_model=OutboxOut)
def list_deliveries(session: Session = Depends(get_session), _: Principal = Depends(admin),
                    state: Literal["pending", "delivered", "dead"] | None = None,
                    event: str | None = Query(None, max_length=32),
                    limit: int = Query(100, ge=1, le=1000), offset: int = Query(0, ge=0, le=10**9)) -> dict:
    """Deliveries, newest first, with counts by state (a non-zero `dead` needs an operator)."""
    counts = {s: 0 for s in outbox.STATES}
    counts.update(session.execute(sa.select(OutboxMessage.state, sa.func.count()).group_by(OutboxMessage.state)).all())
    q = sa.select(OutboxMessage)
    if state:
        q = q.where(OutboxMessage.state == state)
    if event:
        q = q.where(OutboxMessage.event == event)
    rows = session.scalars(q.order_by(OutboxMessage.id.desc()).limit(limit).offset(offset))
    return {"counts": counts, "deliveries": [view(m) for m in rows]}


@router.post("/{message_id}/retry", response_model=DeliveryOut, responses=responses(404))
def retry(message_id: Id, session: Session = Depends(get_session), _: Principal = Depends(admin)) -> dict:
    """Give a dead delivery a fresh set of attempts, after fixing the receiver."""
    m = outbox.retry(session, message_id)
    if m is None:
        raise ApiError(404, "not_found", f"no outbox delivery with id {message_id}; see GET /v1/outbox")
    return view(m)
