"""A whole case as reviewers and auditors see it: summary, evidence, copies, notices, decisions, appeals, disclosures."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from vigil.cases.queue import case_summary, content_view, decision_view, notice_view
from vigil.clock import now
from vigil.errors import not_found
from vigil.review.appeals import appeal_view
from vigil.review.disclosures import disclosure_view
from vigil.store.cases import Appeal, Case, CaseContent, Decision, Disclosure, Notice


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
    return {
        **case_summary(case, at),
        "evidence": case.evidence.model_dump(mode="json"),
        "contents": [content_view(c) for c in contents[:1]],
        "near_duplicates": [content_view(c) for c in contents[1:]],
        "notices": [notice_view(n) for n in notices],
        "decisions": [decision_view(d) for d in decisions],
        "appeals": [appeal_view(a) for a in appeals],
        "disclosures": [disclosure_view(d) for d in disclosures],
    }
