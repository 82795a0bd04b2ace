"""Tables for notice and action: notices, cases and their copies, decisions, appeals, disclosures, strikes, the outbox.

Personal data (a notifier's name and email) lives only in `notices`, is purged with the case's retention
period, and is never a ledger field. Accounts appear only as the operator's own uploader ids, for strike counts.
"""

from __future__ import annotations

from datetime import date, datetime

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from vigil.evidence import Evidence
from vigil.store.db import Base

UTCDateTime = sa.DateTime(timezone=True)
class EvidenceJSON(sa.types.TypeDecorator):
    """A case's evidence, stored as JSON and read back as vigil.evidence.Evidence. Bulk writers may pass the dict
    (`Evidence.model_dump(mode="json")`) directly."""

    impl = sa.JSON
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> Any:
        return value.model_dump(mode="json") if isinstance(value, Evidence) else value

    def process_result_value(self, value: Any, dialect: Any) -> Evidence | None:
        return None if value is None else Evidence.model_validate(value)

    @property
    def comparator_factory(self):  # type: ignore[override]
        return sa.JSON.Comparator  # JSON paths (evidence["text", "score"]) work as on a plain JSON column


# Notices run to hundreds of millions a year: 64-bit ids (SQLite integers are already 64-bit).
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


class Case(Base):
    """The notices on one piece of content and its near-duplicates: decided once for every copy."""

    __tablename__ = "cases"
    __table_args__ = (sa.Index("ix_cases_state_priority", "state", "priority"),)

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    state: Mapped[str] = mapped_column(sa.String(16), default="open")
    queue: Mapped[str] = mapped_column(sa.String(64), index=True)
    priority: Mapped[float] = mapped_column(sa.Float)
    source: Mapped[str] = mapped_column(sa.String(32))
    category: Mapped[str | None] = mapped_column(sa.String(64))
    language: Mapped[str | None] = mapped_column(sa.String(16))
    content_type: Mapped[str] = mapped_column(sa.String(16))
    deadline: Mapped[datetime] = mapped_column(UTCDateTime)
    claimed_by: Mapped[int | None] = mapped_column(sa.Integer)
    claim_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    evidence: Mapped[Evidence] = mapped_column(EvidenceJSON)
    notice_count: Mapped[int] = mapped_column(sa.Integer)
    notifier_confidence: Mapped[float] = mapped_column(sa.Float, default=0.0)
    views: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Notice(Base):
    """A DSA Art. 16 notice or a TCO removal order, as received."""

    __tablename__ = "notices"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id"), index=True)
    source: Mapped[str] = mapped_column(sa.String(32))
    authority: Mapped[str | None] = mapped_column(sa.String(200))
    order_reference: Mapped[str | None] = mapped_column(sa.String(200))
    content_id: Mapped[str] = mapped_column(sa.String(512))
    content_url: Mapped[str | None] = mapped_column(sa.Text)
    content_type: Mapped[str] = mapped_column(sa.String(16))
    content_text: Mapped[str | None] = mapped_column(sa.Text)
    content_hashes: Mapped[dict] = mapped_column(sa.JSON)
    uploader_id: Mapped[str | None] = mapped_column(sa.String(200))
    explanation: Mapped[str] = mapped_column(sa.Text)
    notifier_id: Mapped[str | None] = mapped_column(sa.String(200))
    notifier_name: Mapped[str | None] = mapped_column(sa.String(200))
    notifier_email: Mapped[str | None] = mapped_column(sa.String(320))
    good_faith: Mapped[bool] = mapped_column(sa.Boolean)
    category: Mapped[str | None] = mapped_column(sa.String(64))
    language: Mapped[str | None] = mapped_column(sa.String(16))
    views: Mapped[int | None] = mapped_column(sa.BigInteger)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    idempotency_key: Mapped[str | None] = mapped_column(sa.String(200), unique=True)
    digest: Mapped[str] = mapped_column(sa.String(64))


class CaseContent(Base):
    """One copy of the content in a case (the original or a near-duplicate re-upload)."""

    __tablename__ = "case_contents"
    __table_args__ = (
        sa.UniqueConstraint("case_id", "content_id", name="uq_case_contents_case_id_content_id"),
        # Intake tops up its in-memory video index from here; most copies are not videos.
        sa.Index("ix_case_contents_video", "id", postgresql_where=sa.text("vpdq IS NOT NULL"),
                 sqlite_where=sa.text("vpdq IS NOT NULL")),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id"), index=True)
    content_id: Mapped[str] = mapped_column(sa.String(512))
    content_url: Mapped[str | None] = mapped_column(sa.Text)
    content_type: Mapped[str] = mapped_column(sa.String(16))
    content_text: Mapped[str | None] = mapped_column(sa.Text)
    uploader_id: Mapped[str | None] = mapped_column(sa.String(200))
    md5: Mapped[str | None] = mapped_column(sa.String(32))
    sha256: Mapped[str | None] = mapped_column(sa.String(64))
    pdq: Mapped[str | None] = mapped_column(sa.String(64))
    vpdq: Mapped[str | None] = mapped_column(sa.Text)
    text_key: Mapped[str | None] = mapped_column(sa.String(128))
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    posted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # when the uploader posted it, if the notice said
    retained_until: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    purged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class CaseKey(Base):
    """A dedupe key (content id, exact hash, PDQ, text key) pointing at the case that holds it."""

    __tablename__ = "case_keys"
    __table_args__ = (sa.Index("ix_case_keys_kind_id", "kind", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(16))
    key: Mapped[str] = mapped_column(sa.String(600), index=True)


class Decision(Base):
    """A decision on a whole case. Its explanation is free text, so the ledger holds only its SHA-256."""

    __tablename__ = "decisions"
    __ledger_fields__ = (
        "id", "case_id", "action", "territorial_scope", "ground_type", "ground_reference",
        "automated", "content_ids", "appeal_id", "decided_at",
    )
    __ledger_digests__ = ("explanation",)

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id"), index=True)
    action: Mapped[str] = mapped_column(sa.String(16))
    territorial_scope: Mapped[list] = mapped_column(sa.JSON)
    ground_type: Mapped[str] = mapped_column(sa.String(16))
    ground_reference: Mapped[str] = mapped_column(sa.String(500))
    explanation: Mapped[str] = mapped_column(sa.Text)
    reviewer_key_id: Mapped[int | None] = mapped_column(sa.Integer)
    automated: Mapped[bool] = mapped_column(sa.Boolean)
    content_ids: Mapped[list] = mapped_column(sa.JSON)
    appeal_id: Mapped[int | None] = mapped_column(sa.Integer)
    # A re-upload decision copies this earlier decision on the case; reversing that one reverses it too.
    derived_from: Mapped[int | None] = mapped_column(sa.Integer)
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # What the statement of reasons also carries (the Transparency Database's optional fields Vigil knows).
    ground_reference_url: Mapped[str | None] = mapped_column(sa.String(500))
    incompatible_content_illegal: Mapped[bool | None] = mapped_column(sa.Boolean)
    ends_on: Mapped[date | None] = mapped_column(sa.Date)


class Appeal(Base):
    """A complaint against a decision (DSA Art. 20), decided by a human other than the decider."""

    __tablename__ = "appeals"
    __ledger_fields__ = ("id", "decision_id", "case_id", "appellant", "state", "submitted_at", "decided_at", "new_decision_id")
    # An appeal is ledgered when it is decided; until then its row has no leaf, and verification knows why.
    __ledger_pending__ = {"state": ("open", "deciding")}
    __ledger_digests__ = ("explanation", "outcome_explanation")

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    decision_id: Mapped[int] = mapped_column(sa.ForeignKey("decisions.id"), index=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id"), index=True)
    appellant: Mapped[str] = mapped_column(sa.String(16))
    explanation: Mapped[str] = mapped_column(sa.Text)
    state: Mapped[str] = mapped_column(sa.String(16), default="open", index=True)
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by: Mapped[int | None] = mapped_column(sa.Integer)
    outcome_explanation: Mapped[str | None] = mapped_column(sa.Text)
    new_decision_id: Mapped[int | None] = mapped_column(sa.Integer)


class Disclosure(Base):
    """A disclosure to an authority: a legal basis and two people (requester and a senior approver), both recorded."""

    __tablename__ = "disclosures"
    __ledger_fields__ = ("id", "case_id", "authority", "legal_basis", "state", "requested_by", "approved_by", "requested_at", "approved_at")
    # Only an approved disclosure reaches an authority, so only approval is ledgered.
    __ledger_pending__ = {"state": ("requested", "rejected")}

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id"), index=True)
    authority: Mapped[str] = mapped_column(sa.String(200))
    legal_basis: Mapped[str] = mapped_column(sa.String(500))
    reason: Mapped[str] = mapped_column(sa.Text)
    state: Mapped[str] = mapped_column(sa.String(16), default="requested")
    requested_by: Mapped[int] = mapped_column(sa.Integer)
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime)
    approved_by: Mapped[int | None] = mapped_column(sa.Integer)
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Strike(Base):
    """Confirmed violations per uploader account on the operator's own service: a count, nothing more."""

    __tablename__ = "strikes"

    uploader_id: Mapped[str] = mapped_column(sa.String(200), primary_key=True)
    count: Mapped[int] = mapped_column(sa.Integer)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class NotifierRecord(Base):
    """How often a notifier's reports were upheld, keyed by the notifier id only, to weight confidence."""

    __tablename__ = "notifier_records"

    notifier_id: Mapped[str] = mapped_column(sa.String(200), primary_key=True)
    accurate: Mapped[int] = mapped_column(sa.Integer)
    inaccurate: Mapped[int] = mapped_column(sa.Integer)


class OutboxMessage(Base):
    """A webhook to deliver at least once: signed body, idempotency key, retries, then dead-letter."""

    __tablename__ = "outbox"
    __table_args__ = (sa.Index("ix_outbox_state_next_attempt_at", "state", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(sa.String(200), unique=True)
    event: Mapped[str] = mapped_column(sa.String(32))
    url: Mapped[str] = mapped_column(sa.Text)
    body: Mapped[str] = mapped_column(sa.Text)
    signature: Mapped[str] = mapped_column(sa.String(100))
    state: Mapped[str] = mapped_column(sa.String(16), default="pending")
    attempts: Mapped[int] = mapped_column(sa.Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
