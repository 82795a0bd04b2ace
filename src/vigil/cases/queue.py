"""Reading the queue and holding a case: listing in priority order, views of a case's parts, and exclusive claims.

The whole case (with its appeals and disclosures) is assembled in vigil.review.views.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from vigil.clock import now
from vigil.errors import Conflict, not_found
from vigil.policy.cases import CasePolicy
from vigil.store.cases import Case, CaseContent, Decision, Notice
from vigil.vocabulary import OPEN_STATES, CaseState, NoticeSource

MAX_LIMIT = 500


def case_summary(case: Case, at: datetime) -> dict:
    deadline = case.deadline
    claimed = case.claimed_by is not None and case.claim_expires_at > at
    return {
        "id": case.id, "state": case.state, "queue": case.queue, "priority": case.priority, "source": case.source,
        "category": case.category, "language": case.language, "content_type": case.content_type,
        "deadline": deadline.isoformat(), "time_left": round((deadline - at).total_seconds(), 1),
        "overdue": deadline < at and case.state in OPEN_STATES,
        "notice_count": case.notice_count, "views": case.views,
        "claimed_by": case.claimed_by if claimed else None,
        "claim_expires_at": case.claim_expires_at.isoformat() if claimed else None,
        "created_at": case.created_at.isoformat(),
        "decided_at": case.decided_at.isoformat() if case.decided_at else None,
    }


def queue_order() -> tuple:
    """The queue's order, in SQL so that pages stay consistent.

    Authority orders come first and among them the soonest due, whatever their score: the one-hour deadline of a
    removal order is the law (Regulation (EU) 2021/784 Art. 3(3)). Every other case goes by priority (trusted
    flaggers above users, then score), the soonest deadline breaking ties.
    """
    is_order = Case.source == NoticeSource.AUTHORITY_ORDER
    # The second key is NULL outside the orders' tier, where the first key has already decided.
    return (sa.case((is_order, 0), else_=1), sa.case((is_order, Case.deadline)), Case.priority.desc(), Case.deadline,
            Case.id)


def list_cases(session: Session, *, queue: str | None = None, state: str | None = None, source: str | None = None,
               category: str | None = None, language: str | None = None, limit: int = 100, offset: int = 0,
               at: datetime | None = None) -> list[dict]:
    """Cases in `queue_order`: authority orders by deadline, then the rest by priority. Default: the open ones."""
    at = at or now()
    q = sa.select(Case)
    q = q.where(Case.state == state) if state else q.where(Case.state.in_(OPEN_STATES))
    for col, value in ((Case.queue, queue), (Case.source, source), (Case.category, category), (Case.language, language)):
        if value is not None:
            q = q.where(col == value)
    q = q.order_by(*queue_order()).limit(min(limit, MAX_LIMIT)).offset(offset)
    return [case_summary(c, at) for c in session.scalars(q)]


def notice_view(n: Notice) -> dict:
    """A notice as a reviewer sees it: the notifier appears only as named or anonymous, never by contact details."""
    return {
        "id": n.id, "source": n.source, "authority": n.authority, "order_reference": n.order_reference,
        "content_id": n.content_id, "content_url": n.content_url, "explanation": n.explanation,
        "category": n.category, "language": n.language, "good_faith": n.good_faith,
        "notifier": "anonymous" if not (n.notifier_id or n.notifier_name or n.notifier_email) else "identified",
        "received_at": n.received_at.isoformat(),
    }


def decision_view(d: Decision) -> dict:
    return {
        "id": d.id, "case_id": d.case_id, "action": d.action, "territorial_scope": d.territorial_scope,
        "ground": {"type": d.ground_type, "reference": d.ground_reference}, "explanation": d.explanation,
        "reviewer_key_id": d.reviewer_key_id, "automated": d.automated, "content_ids": d.content_ids,
        "appeal_id": d.appeal_id, "decided_at": d.decided_at.isoformat(),
    }


def content_view(c: CaseContent) -> dict:
    return {
        "id": c.id, "content_id": c.content_id, "url": c.content_url, "type": c.content_type, "text": c.content_text,
        "hashes": {k: v for k, v in (("md5", c.md5), ("sha256", c.sha256), ("pdq", c.pdq)) if v},
        "has_vpdq": c.vpdq is not None, "uploader_id": c.uploader_id,
        "first_seen_at": c.first_seen_at.isoformat(),
        "posted_at": c.posted_at.isoformat() if c.posted_at else None,
        "retained_until": c.retained_until.isoformat() if c.retained_until else None,
        "purged": c.purged_at is not None,
    }


def claim(session: Session, case_id: int, reviewer_key_id: int, *, policy: CasePolicy, at: datetime | None = None) -> dict:
    """Lock an open case to one reviewer for the policy's claim time; claiming again extends the lock."""
    at = at or now()
    until = at + policy.claim_time
    taken = session.execute(
        sa.update(Case).where(Case.id == case_id, Case.state.in_(OPEN_STATES),
                              sa.or_(Case.claimed_by.is_(None), Case.claimed_by == reviewer_key_id,
                                     Case.claim_expires_at < at))
        .values(state=CaseState.CLAIMED, claimed_by=reviewer_key_id, claim_expires_at=until, updated_at=at)
        .execution_options(synchronize_session=False)).rowcount
    case = session.get(Case, case_id)
    if case is None:
        raise not_found("case", case_id)
    session.refresh(case)
    if not taken:
        if case.state not in OPEN_STATES:
            raise Conflict(f"case {case_id} is {case.state}; only open cases can be claimed", code="not_open")
        raise Conflict(f"case {case_id} is claimed by key {case.claimed_by} until "
                          f"{case.claim_expires_at.isoformat()}; pick another case", code="claimed")
    return case_summary(case, at)


def release(session: Session, case_id: int, reviewer_key_id: int, at: datetime | None = None) -> dict:
    """Give a claimed case back to the queue."""
    at = at or now()
    session.execute(sa.update(Case).where(Case.id == case_id, Case.state == CaseState.CLAIMED, Case.claimed_by == reviewer_key_id)
                    .values(state=CaseState.OPEN, claimed_by=None, claim_expires_at=None, updated_at=at)
                    .execution_options(synchronize_session=False))
    case = session.get(Case, case_id)
    if case is None:
        raise not_found("case", case_id)
    session.refresh(case)
    return case_summary(case, at)
