"""Retention: removed content is kept for reinstatement for the policy's period (TCO Art. 6), then deleted.

Deleting means: Vigil clears its own copy of the text and URL, clears the notifiers' names and emails
on that case, and tells the platform (a 'purge' webhook) that its preserved copy may now go. Notifiers'
contact details on every other decided case are cleared after the same period.
"""

from __future__ import annotations

import logging
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from vigil import outbox
from vigil.clock import now
from vigil.policy.cases import CasePolicy
from vigil.store.cases import Appeal, Case, CaseContent, Notice
from vigil.store.db import Database
from vigil.vocabulary import AppealState, CaseState


INTERVAL_SECONDS = 3600.0  # the service's own sweep; `vigil retention purge` runs one at any time
log = logging.getLogger("vigil.retention")


def sweep(db: Database, policy: CasePolicy, *, at: datetime | None = None) -> tuple[int, int]:
    """One retention pass over the database: (copies purged, notices whose contact details were cleared).

    The service runs it at start and then every INTERVAL_SECONDS (vigil.runtime); `vigil retention purge`
    runs it once."""
    at = at or now()
    with db.session() as s:
        forgotten = forget_notifiers(s, policy.kept_since(at))
    total = 0
    while True:
        with db.session() as s:
            n = purge_expired(s, at=at)
        total += n
        if n == 0:
            if total or forgotten:
                log.info("retention: purged %d copies, cleared contact details on %d notices", total, forgotten)
            return total, forgotten


def forget_notifiers(session: Session, decided_before: datetime) -> int:
    """Clear notifiers' names and emails on cases decided before `decided_before`, whatever the action."""
    done = sa.select(Case.id).where(Case.state == CaseState.DECIDED, Case.decided_at < decided_before)
    return session.execute(
        sa.update(Notice).where(Notice.case_id.in_(done),
                                sa.or_(Notice.notifier_name.is_not(None), Notice.notifier_email.is_not(None)))
        .values(notifier_name=None, notifier_email=None).execution_options(synchronize_session=False)).rowcount


def purge_expired(session: Session, *, at: datetime | None = None, limit: int = 10_000) -> int:
    """Purge copies whose retention ended before `at` (unless an appeal is open). Returns how many."""
    at = at or now()
    rows = session.scalars(
        sa.select(CaseContent).join(Case, Case.id == CaseContent.case_id)
        .where(CaseContent.retained_until.is_not(None), CaseContent.retained_until < at,
               CaseContent.purged_at.is_(None),
               # Any appeal still open on the case keeps every copy: a reversal must be able to restore it.
               ~sa.exists().where(Appeal.case_id == CaseContent.case_id, Appeal.state.in_((AppealState.OPEN, AppealState.DECIDING))))
        .order_by(CaseContent.id).limit(limit)).all()
    if not rows:
        return 0
    messages = [outbox.Message(f"purge:{c.id}", "purge", {"case_id": c.case_id, "content_id": c.content_id,
                                                         "purged_at": at.isoformat()}) for c in rows]
    for c in rows:
        c.content_text, c.content_url, c.purged_at = None, None, at
    pairs = {(c.case_id, c.content_id) for c in rows}
    for case_id in sorted({p[0] for p in pairs}):
        ids = [p[1] for p in pairs if p[0] == case_id]
        session.execute(sa.update(Notice).where(Notice.case_id == case_id, Notice.content_id.in_(ids))
                        .values(content_text=None, content_url=None, notifier_name=None, notifier_email=None)
                        .execution_options(synchronize_session=False))
    outbox.enqueue(session, messages, at)
    return len(rows)
