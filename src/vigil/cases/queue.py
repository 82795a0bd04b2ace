"""Reading the queue and holding a case: listing in priority order, case detail, and exclusive claims."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from vigil.cases.clock import now, utc
from vigil.cases.policy import CasePolicy
from vigil.review.errors import ReviewError, not_found
from vigil.store.cases import Appeal, Case, CaseContent, Decision, Disclosure, Notice

STATES = ("open", "claimed", "decided", "appealed")
MAX_LIMIT = 500


def case_summary(case: Case, at: datetime) -> dict:
    deadline = utc(case.deadline)
    claimed = case.claimed_by is not None and utc(case.claim_expires_at) > at
    return {
        "id": case.id, "state": case.state, "queue": case.queue, "priority": case.priority, "source": case.source,
        "category": case.category, "language": case.language, "content_type": case.content_type,
        "deadline": deadline.isoformat(), "time_left": round((deadline - at).total_seconds(), 1),
        "overdue": deadline < at and case.state in ("open", "claimed"),
        "notice_count": case.notice_count, "views": case.views,
        "claimed_by": case.claimed_by if claimed else None,
        "claim_expires_at": utc(case.claim_expires_at).isoformat() if claimed else None,
        "created_at": utc(case.created_at).isoformat(),
        "decided_at": utc(case.decided_at).isoformat() if case.decided_at else None,
    }


def queue_order() -> tuple:
    """The queue's order, in SQL so that pages stay consistent.

    Authority orders come first and among them the soonest due, whatever their score: the one-hour deadline of a
    removal order is the law (Regulation (EU) 2021/784 Art. 3(3)). Every other case goes by priority (trusted
    flaggers above users, then score), the soonest deadline breaking ties.
    """
    is_order = Case.source == "authority_order"
    # The second key is NULL outside the orders' tier, where the first key has already decided.
    return (sa.case((is_order, 0), else_=1), sa.case((is_order, Case.deadline)), Case.priority.desc(), Case.deadline,
            Case.id)


def list_cases(session: Session, *, queue: str | None = None, state: str | None = None, source: str | None = None,
               category: str | None = None, language: str | None = None, limit: int = 100, offset: int = 0,
               at: datetime | None = None) -> list[dict]:
    """Cases in `queue_order`: authority orders by deadline, then the rest by priority. Default: the open ones."""
    at = at or now()
    q = sa.select(Case)
    q = q.where(Case.state == state) if state else q.where(Case.state.in_(("open", "claimed")))
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
        "received_at": utc(n.received_at).isoformat(),
    }


def decision_view(d: Decision) -> dict:
    return {
        "id": d.id, "case_id": d.case_id, "action": d.action, "territorial_scope": d.territorial_scope,
        "ground": {"type": d.ground_type, "reference": d.ground_reference}, "explanation": d.explanation,
        "reviewer_key_id": d.reviewer_key_id, "automated": d.automated, "content_ids": d.content_ids,
        "appeal_id": d.appeal_id, "decided_at": utc(d.decided_at).isoformat(),
    }


def content_view(c: CaseContent) -> dict:
    return {
        "id": c.id, "content_id": c.content_id, "url": c.content_url, "type": c.content_type, "text": c.content_text,
        "hashes": {k: v for k, v in (("md5", c.md5), ("sha256", c.sha256), ("pdq", c.pdq)) if v},
        "has_video_pdq": c.video_pdq is not None, "uploader_id": c.uploader_id,
        "first_seen_at": utc(c.first_seen_at).isoformat(),
        "retained_until": utc(c.retained_until).isoformat() if c.retained_until else None,
        "purged": c.purged_at is not None,
    }


def get_case(session: Session, case_id: int, *, notice_limit: int = 200, at: datetime | None = None) -> dict:
    """The case with its evidence, its copies (the first is the original, the rest near-duplicates), notices and decisions."""
    at = at or now()
    case = session.get(Case, case_id)
    if case is None:
        raise not_found("case", case_id)
    contents = list(session.scalars(sa.select(CaseContent).where(CaseContent.case_id == case_id).order_by(CaseContent.id)))
    notices = list(session.scalars(sa.select(Notice).where(Notice.case_id == case_id).order_by(Notice.id).limit(notice_limit)))
    decisions = list(session.scalars(sa.select(Decision).where(Decision.case_id == case_id).order_by(Decision.id)))
    appeals = list(session.scalars(sa.select(Appeal).where(Appeal.case_id == case_id).order_by(Appeal.id)))
    disclosures = list(session.scalars(sa.select(Disclosure).where(Disclosure.case_id == case_id).order_by(Disclosure.id)))
    from vigil.review.appeals import appeal_view
    from vigil.review.disclosures import disclosure_view

    return {
        **case_summary(case, at),
        "evidence": case.evidence,
        "contents": [content_view(c) for c in contents[:1]],
        "near_duplicates": [content_view(c) for c in contents[1:]],
        "notices": [notice_view(n) for n in notices],
        "decisions": [decision_view(d) for d in decisions],
        "appeals": [appeal_view(a) for a in appeals],
        "disclosures": [disclosure_view(d) for d in disclosures],
    }


def claim(session: Session, case_id: int, reviewer_key_id: int, *, policy: CasePolicy, at: datetime | None = None) -> dict:
    """Lock an open case to one reviewer for the policy's claim time; claiming again extends the lock."""
    at = at or now()
    until = at + policy.claim_time
    taken = session.execute(
        sa.update(Case).where(Case.id == case_id, Case.state.in_(("open", "claimed")),
                              sa.or_(Case.claimed_by.is_(None), Case.claimed_by == reviewer_key_id,
                                     Case.claim_expires_at < at))
        .values(state="claimed", claimed_by=reviewer_key_id, claim_expires_at=until, updated_at=at)
        .execution_options(synchronize_session=False)).rowcount
    case = session.get(Case, case_id)
    if case is None:
        raise not_found("case", case_id)
    session.refresh(case)
    if not taken:
        if case.state not in ("open", "claimed"):
            raise ReviewError(409, "not_open", f"case {case_id} is {case.state}; only open cases can be claimed")
        raise ReviewError(409, "claimed", f"case {case_id} is claimed by key {case.claimed_by} until "
                          f"{utc(case.claim_expires_at).isoformat()}; pick another case")
    return case_summary(case, at)


def release(session: Session, case_id: int, reviewer_key_id: int, at: datetime | None = None) -> dict:
    """Give a claimed case back to the queue."""
    at = at or now()
    session.execute(sa.update(Case).where(Case.id == case_id, Case.state == "claimed", Case.claimed_by == reviewer_key_id)
                    .values(state="open", claimed_by=None, claim_expires_at=None, updated_at=at)
                    .execution_options(synchronize_session=False))
    case = session.get(Case, case_id)
    if case is None:
        raise not_found("case", case_id)
    session.refresh(case)
    return case_summary(case, at)
