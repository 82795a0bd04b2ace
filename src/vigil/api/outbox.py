"""The outbox over HTTP (admin): every webhook delivery and its state, dead letters included, and a retry."""

from __future__ import annotations

from typing import Literal

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from vigil import outbox
from vigil.api.auth import Principal, require
from vigil.api.errors import responses
from vigil.schema import Id
from vigil.errors import NotFound
from vigil.roles import Permission
from vigil.store.cases import OutboxMessage
from vigil.web.deps import DbSession

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
            "attempts": m.attempts, "next_attempt_at": m.next_attempt_at.isoformat() if m.state == "pending" else None,
            "last_error": m.last_error, "created_at": m.created_at.isoformat(),
            "delivered_at": m.delivered_at.isoformat() if m.delivered_at else None}


@router.get("", response_model=OutboxOut)
def list_deliveries(session: DbSession, _: Principal = Depends(admin),
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
def retry(message_id: Id, session: DbSession, _: Principal = Depends(admin)) -> dict:
    """Give a dead delivery a fresh set of attempts, after fixing the receiver."""
    m = outbox.retry(session, message_id)
    if m is None:
        raise NotFound(f"no outbox delivery with id {message_id}; see GET /v1/outbox")
    return view(m)
