"""Statements of reasons, and their submission state: the outbox for the EU Transparency Database."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from vigil.store.db import Base

STATES = ("pending", "submitted", "failed")


class Statement(Base):
    """One statement of reasons. `puid` is unique forever, so a statement is never sent twice under two ids."""

    __tablename__ = "statements"
    __table_args__ = (sa.Index("ix_statements_due", "state", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    puid: Mapped[str] = mapped_column(sa.String(500), unique=True)
    body: Mapped[dict] = mapped_column(sa.JSON)
    source: Mapped[str] = mapped_column(sa.String(32))
    decision_date: Mapped[date] = mapped_column(sa.Date, index=True)
    state: Mapped[str] = mapped_column(sa.String(16))
    attempts: Mapped[int] = mapped_column(sa.Integer)
    next_attempt_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(sa.Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    submitted_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True), nullable=True)
