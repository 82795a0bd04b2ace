"""Tables for hash banks: banks, their entries, and the change log that in-memory indexes follow."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from vigil.clock import now
from vigil.store.db import Base

# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL gets a 64-bit sequence.
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


class Bank(Base):
    """A named list of known signals, shared or local; a negative bank lists known false positives."""

    __tablename__ = "banks"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200), unique=True)
    # The server default is PDQ's match threshold (vigil.signals.pdq.PDQ_THRESHOLD); banks.service always sets it.
    threshold: Mapped[int] = mapped_column(sa.Integer, server_default="31")
    negative: Mapped[bool] = mapped_column(sa.Boolean, default=False, server_default=sa.false())
    dihedral: Mapped[bool] = mapped_column(sa.Boolean, default=True, server_default=sa.true())
    description: Mapped[str] = mapped_column(sa.Text, default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=now)
    updated_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=now, onupdate=now)


class BankEntry(Base):
    """One known signal in a bank, with GIFCT-style labels (entity, behaviour, content_type).

    `value_key` is the SHA-256 of the normalised value: video hashes run to tens of kilobytes,
    beyond what a PostgreSQL btree can index, so uniqueness is enforced on the digest.
    """

    __tablename__ = "bank_entries"
    __table_args__ = (sa.UniqueConstraint("bank_id", "signal_type", "value_key", name="uq_bank_entries_bank_signal_value"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    bank_id: Mapped[int] = mapped_column(sa.ForeignKey("banks.id", ondelete="CASCADE"), index=True)
    signal_type: Mapped[str] = mapped_column(sa.String(32))
    value: Mapped[str] = mapped_column(sa.Text)
    value_key: Mapped[str] = mapped_column(sa.String(64))
    labels: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    source: Mapped[str] = mapped_column(sa.String(200), default="", server_default="")
    note: Mapped[str] = mapped_column(sa.Text, default="", server_default="")
    meta: Mapped[dict] = mapped_column("metadata", sa.JSON, default=dict)
    enabled: Mapped[bool] = mapped_column(sa.Boolean, default=True, server_default=sa.true())
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=now)
    updated_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=now, onupdate=now)


class BankChange(Base):
    """One change to a bank, in commit order: indexes in every process replay rows past the last id they saw.

    Writers hold a lock from their first change row to commit (see vigil.banks.service), so ids
    become visible in increasing order and a reader never skips a late-committing lower id.
    """

    __tablename__ = "bank_changes"
    __ledger_fields__ = ("id", "bank_id", "bank_name", "entry_id", "signal_type", "value", "kind")

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    bank_id: Mapped[int] = mapped_column(sa.Integer, index=True)
    bank_name: Mapped[str] = mapped_column(sa.String(200))
    entry_id: Mapped[int | None] = mapped_column(sa.BigInteger, nullable=True)
    signal_type: Mapped[str | None] = mapped_column(sa.String(32), nullable=True)
    value: Mapped[str | None] = mapped_column(sa.Text, nullable=True)
    kind: Mapped[str] = mapped_column(sa.String(16))
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=now)

