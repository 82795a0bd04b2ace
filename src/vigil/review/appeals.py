"""Appeals (DSA Art. 20): open six months after a decision, decided by a person other than the decider.

Upholding changes nothing. Reversing a restriction restores every copy through the same webhook channel
that removed it, re-uploads removed because of it included, and takes back the strikes and the notifiers'
accuracy counts. Reversing a decision to take
no action needs the new decision, which then runs like any other.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from vigil import outbox
from vigil.clock import add_months, now
from vigil.errors import Conflict, Forbidden, InvalidInput, not_found
from vigil.ledger.log import append_row
from vigil.policy.cases import CasePolicy
from vigil.review import decisions
from vigil.store.cases import Appeal, Case, CaseContent, Decision, Notice
from vigil.vocabulary import VIOLATIONS, Action, AppealState, Appellant, CaseState

APPEAL_WINDOW_MONTHS = 6  # DSA Art. 20(1): complaints can be lodged for at least six months after the decision
OUTCOMES = (AppealState.UPHELD, AppealState.REVERSED)
UNDECIDED = (AppealState.OPEN, AppealState.DECIDING)


def appeal_view(a: Appeal) -> dict:
    return {
        "id": a.id, "decision_id": a.decision_id, "case_id": a.case_id, "appellant": a.appellant,
        "explanation": a.explanation, "state": a.state, "submitted_at": a.submitted_at.isoformat(),
        "decided_at": a.decided_at.isoformat() if a.decided_at else None, "decided_by": a.decided_by,
        "outcome_explanation": a.outcome_explanation, "new_decision_id": a.new_decision_id,
    }


def lodge(session: Session, decision_id: int, appellant: str, explanation: str, *, at: datetime | None = None) -> Appeal:
    at = at or now()
    if appellant not in set(Appellant):
        raise InvalidInput("appellant is 'uploader' or 'notifier'", code="invalid_appellant", field="appellant")
    explanation = (explanation or "").strip()
    if not explanation or len(explanation) > 10_000:
        raise InvalidInput("explanation says why the decision is wrong (1-10000 characters)", code="invalid_explanation", field="explanation")
    decision = session.get(Decision, decision_id)
    if decision is None:
        raise not_found("decision", decision_id)
    closes = add_months(decision.decided_at, APPEAL_WINDOW_MONTHS)
    if at > closes:
        raise Conflict(f"the six-month appeal window for decision {decision_id} closed "
                          f"on {closes.date().isoformat()} (DSA Art. 20(1))", code="appeal_window_closed")
    if appellant == Appellant.UPLOADER and decision.action == Action.NO_ACTION:
        raise Conflict(f"decision {decision_id} took no action against the content, "
                          "so the uploader has nothing to appeal", code="nothing_to_appeal")
    pending = session.scalar(sa.select(Appeal.id).where(Appeal.decision_id == decision_id, Appeal.appellant == appellant,
                                                       Appeal.state == AppealState.OPEN))
    if pending is not None:
        raise Conflict(f"appeal {pending} by the {appellant} against decision {decision_id} "
                          "is still open", code="appeal_pending")
    appeal = Appeal(decision_id=decision_id, case_id=decision.case_id, appellant=appellant, explanation=explanation,
                    state=AppealState.OPEN, submitted_at=at)
    session.add(appeal)
    session.execute(sa.update(Case).where(Case.id == decision.case_id).values(state=CaseState.APPEALED, updated_at=at)
                    .execution_options(synchronize_session=False))
    session.flush()
    return appeal


def list_appeals(session: Session, *, state: str | None = "open", decidable_by: int | None = None,
                 limit: int = 100, offset: int = 0) -> list[dict]:
    """Appeals oldest first; `decidable_by` leaves out those the given reviewer decided in the first place."""
    q = sa.select(Appeal, Decision.reviewer_key_id).join(Decision, Decision.id == Appeal.decision_id)
    if state:
        q = q.where(Appeal.state == state)
    if decidable_by is not None:
        q = q.where(sa.or_(Decision.reviewer_key_id.is_(None), Decision.reviewer_key_id != decidable_by))
    q = q.order_by(Appeal.submitted_at, Appeal.id).limit(min(limit, 500)).offset(offset)
    return [{**appeal_view(a), "decider_key_id": rid} for a, rid in session.execute(q)]


def decide_appeal(session: Session, appeal_id: int, outcome: str, explanation: str, reviewer_key_id: int, *,
                  policy: CasePolicy, new_decision: decisions.DecisionIn | None = None,
                  at: datetime | None = None) -> Appeal:
    at = at or now()
    if outcome not in OUTCOMES:
        raise InvalidInput("outcome is 'upheld' or 'reversed'", code="invalid_outcome", field="outcome")
    if not isinstance(reviewer_key_id, int):
        raise Forbidden("an appeal is decided by a person, never by automation alone (DSA Art. 20(6))", code="human_required")
    explanation = (explanation or "").strip()
    if not explanation or len(explanation) > decisions.MAX_EXPLANATION:
        raise InvalidInput("explanation gives the reasons for the outcome", code="invalid_explanation", field="explanation")
    # Lock the appeal row by changing it first; a concurrent second decision then changes nothing.
    taken = session.execute(sa.update(Appeal).where(Appeal.id == appeal_id, Appeal.state == AppealState.OPEN)
                            .values(state=AppealState.DECIDING).execution_options(synchronize_session=False)).rowcount
    appeal = session.get(Appeal, appeal_id)
    if appeal is None:
        raise not_found("appeal", appeal_id)
    session.refresh(appeal)
    if not taken:
        raise Conflict(f"appeal {appeal_id} was already decided ({appeal.state})", code="appeal_decided")
    original = session.get(Decision, appeal.decision_id)
    root, copies = decisions.lineage(session, original)
    if reviewer_key_id in (original.reviewer_key_id, root.reviewer_key_id):
        raise Forbidden(f"you decided decision {root.id}; a different reviewer must decide "
                          "appeals against it and against the re-upload decisions that copy it (DSA Art. 20(6))", code="same_reviewer")
    case = session.get(Case, appeal.case_id)
    if outcome == AppealState.REVERSED:
        if original.action == Action.NO_ACTION:
            if new_decision is None:
                raise InvalidInput("reversing a decision to take no action needs the new "
                                  "decision: action, ground and explanation", code="decision_required", field="decision")
            contents = list(session.scalars(sa.select(CaseContent).where(CaseContent.case_id == case.id)))
            notices = list(session.scalars(sa.select(Notice).where(Notice.case_id == case.id)))
            decisions.record_accuracy(session, [n.notifier_id for n in notices if n.notifier_id], False, undo=True)
            new = decisions.record(session, case, new_decision.validated(), contents, notices,
                                   reviewer_key_id=reviewer_key_id, automated=False, policy=policy, at=at,
                                   appeal_id=appeal.id)
            appeal.new_decision_id = new.id
        else:
            for d in [original, *copies]:  # re-uploads removed because of this decision come back with it
                restore(session, case, d, at)
    appeal.state, appeal.decided_at, appeal.decided_by, appeal.outcome_explanation = outcome, at, reviewer_key_id, explanation
    others = session.scalar(sa.select(sa.func.count()).select_from(Appeal).where(
        Appeal.case_id == case.id, Appeal.id != appeal.id, Appeal.state.in_(UNDECIDED)))
    case.state, case.updated_at = (CaseState.APPEALED if others else CaseState.DECIDED), at
    session.flush()
    append_row(session, "appeal_decision", appeal)
    outbox.enqueue(session, [outbox.Message(f"appeal:{appeal.id}", "appeal_outcome", {
        "appeal_id": appeal.id, "decision_id": original.id, "case_id": case.id, "appellant": appeal.appellant,
        "outcome": outcome, "explanation": explanation, "new_decision_id": appeal.new_decision_id,
        "decided_at": at.isoformat()})], at)
    return appeal


def restore(session: Session, case: Case, original: Decision, at: datetime) -> None:
    """Undo a restriction: a 'restore' webhook for every copy it covered, strikes and accuracy counts taken back."""
    contents = list(session.scalars(sa.select(CaseContent).where(CaseContent.case_id == case.id,
                                                                 CaseContent.content_id.in_(original.content_ids))))
    outbox.enqueue(session, [outbox.Message(f"restore:{original.id}", "restore", {
        "decision_id": original.id, "case_id": case.id, "action_reversed": original.action,
        "territorial_scope": original.territorial_scope,
        "contents": [{"content_id": c.content_id, "url": c.content_url} for c in contents],
        "restored_at": at.isoformat()})], at)
    if original.action in VIOLATIONS:
        decisions.add_strikes(session, [c.uploader_id for c in contents if c.uploader_id], -1, at)
    notices = list(session.scalars(sa.select(Notice).where(Notice.case_id == case.id, Notice.content_id.in_(original.content_ids))))
    ids = [n.notifier_id for n in notices if n.notifier_id]
    decisions.record_accuracy(session, ids, True, undo=True)
    decisions.record_accuracy(session, ids, False)
    for c in contents:
        c.retained_until = None
