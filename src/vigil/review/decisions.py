"""Decisions: one decision covers every copy in a case, and carries its consequences in the same transaction.

Those consequences are: the ledger leaf, a statement of reasons per copy, the action webhook, the
notices to the uploaders and the notifiers, strikes, the notifiers' accuracy record, and the retention
of removed content for reinstatement.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from vigil import outbox
from vigil.clock import now
from vigil.errors import Conflict, InvalidInput, not_found
from vigil.evidence import Evidence, MatchEvidence
from vigil.ledger.log import append_row
from vigil.policy.cases import CasePolicy
from vigil.store.cases import Case, CaseContent, Decision, Notice, NotifierRecord, Strike
from vigil.transparency.sor import DecisionFacts, StatementError, record_statement
from vigil.vocabulary import OPEN_STATES, VIOLATIONS, WITHHELD, Action, CaseState, GroundType

MAX_EXPLANATION = 5000  # the Transparency Database's limit on decision_facts
COUNTRY = re.compile(r"^[A-Z]{2}$")
ISO_639_1 = re.compile(r"^[A-Za-z]{2}$")
REDRESS = ("You may appeal this decision free of charge within six months (DSA Art. 20), "
           "use out-of-court dispute settlement (Art. 21), or go to court.")


@dataclass(frozen=True)
class DecisionIn:
    action: str
    ground_type: str
    ground_reference: str
    explanation: str
    territorial_scope: list[str] = field(default_factory=list)

    def validated(self) -> DecisionIn:
        if self.action not in Action.__members__.values():
            raise InvalidInput(f"action {self.action!r} is not one of {', '.join(Action)}", code="invalid_action",
                               field="action")
        if self.ground_type not in GroundType.__members__.values():
            raise InvalidInput("ground.type must be 'legal' (with the law's reference) or 'contractual' (with the "
                               "terms-of-service clause)", code="invalid_ground", field="ground.type")
        ref = (self.ground_reference or "").strip()
        if not ref or len(ref) > 500:
            raise InvalidInput("ground.reference names the law or the terms clause (1-500 characters)",
                               code="invalid_ground", field="ground.reference")
        text = (self.explanation or "").strip()
        if not text or len(text) > MAX_EXPLANATION:
            raise InvalidInput(f"explanation states the facts (1-{MAX_EXPLANATION} characters)",
                               code="invalid_explanation", field="explanation")
        scope = [c.strip().upper() for c in self.territorial_scope]
        bad = [c for c in scope if not COUNTRY.match(c)]
        if bad:
            raise InvalidInput(f"territorial_scope takes ISO 3166-1 alpha-2 codes; not {bad}", code="invalid_territory",
                               field="territorial_scope")
        if self.action == Action.DISABLE and not scope:
            raise InvalidInput("'disable' withholds content in named territories; list them in territorial_scope (or "
                               "use 'remove')", code="invalid_territory", field="territorial_scope")
        return DecisionIn(Action(self.action), GroundType(self.ground_type), ref, text, sorted(set(scope)))


def decide(session: Session, case_id: int, d: DecisionIn, reviewer_key_id: int, *, policy: CasePolicy,
           at: datetime | None = None) -> Decision:
    """A reviewer's decision on an open case they hold (or that nobody holds)."""
    d = d.validated()
    at = at or now()
    # The state change comes first: it takes the row lock, and a second decision finds nothing to change.
    taken = session.execute(
        sa.update(Case).where(Case.id == case_id, Case.state.in_(OPEN_STATES),
                              sa.or_(Case.claimed_by.is_(None), Case.claimed_by == reviewer_key_id,
                                     Case.claim_expires_at < at))
        .values(state=CaseState.DECIDED, decided_at=at, claimed_by=None, claim_expires_at=None, updated_at=at)
        .execution_options(synchronize_session=False)).rowcount
    if not taken:
        case = session.get(Case, case_id)
        if case is None:
            raise not_found("case", case_id)
        if case.state not in OPEN_STATES:
            raise Conflict(f"case {case_id} is {case.state}; an appeal is the way to change it", code="already_decided")
        raise Conflict(f"case {case_id} is claimed by key {case.claimed_by} until {case.claim_expires_at.isoformat()}; "
                       "pick another case", code="claimed")
    case = session.get(Case, case_id)
    session.refresh(case)
    contents = list(session.scalars(sa.select(CaseContent).where(CaseContent.case_id == case_id).order_by(CaseContent.id)))
    notices = list(session.scalars(sa.select(Notice).where(Notice.case_id == case_id).order_by(Notice.id)))
    return record(session, case, d, contents, notices, reviewer_key_id=reviewer_key_id, automated=False,
                  policy=policy, at=at)


def decide_automatically(session: Session, case_id: int, match: MatchEvidence, *, policy: CasePolicy,
                         at: datetime | None = None) -> Decision:
    """Act at once on a case that cannot wait: an exact match to a bank entry the operator verified."""
    at = at or now()
    case = session.get(Case, case_id)
    case.state, case.decided_at, case.updated_at = CaseState.DECIDED, at, at
    d = DecisionIn(action=policy.auto_action, ground_type=GroundType.LEGAL, ground_reference=policy.auto_ground_reference,
                   explanation=f"Exact {match.signal_type} match to entry {match.entry_id} of the verified bank "
                   f"'{match.bank}'.").validated()
    contents = list(session.scalars(sa.select(CaseContent).where(CaseContent.case_id == case_id).order_by(CaseContent.id)))
    notices = list(session.scalars(sa.select(Notice).where(Notice.case_id == case_id).order_by(Notice.id)))
    return record(session, case, d, contents, notices, reviewer_key_id=None, automated=True, policy=policy, at=at)


def apply_to_reuploads(session: Session, case_id: int, decided: Decision, content_ids: list[str],
                       notice_ids: list[int], *, policy: CasePolicy, at: datetime | None = None) -> Decision:
    """New copies of content already acted on get the same action at once (re-upload prevention, TCO Art. 5)."""
    at = at or now()
    case = session.get(Case, case_id)
    d = DecisionIn(action=decided.action, ground_type=decided.ground_type, ground_reference=decided.ground_reference,
                   explanation=f"A copy of content already decided in decision {decided.id}: {decided.explanation}"[:MAX_EXPLANATION],
                   territorial_scope=list(decided.territorial_scope)).validated()
    contents = list(session.scalars(sa.select(CaseContent).where(CaseContent.case_id == case_id,
                                                                 CaseContent.content_id.in_(content_ids))))
    notices = list(session.scalars(sa.select(Notice).where(Notice.id.in_(notice_ids))))
    return record(session, case, d, contents, notices, reviewer_key_id=None, automated=True, policy=policy, at=at,
                  derived_from=decided.id)


def lineage(session: Session, decision: Decision) -> tuple[Decision, list[Decision]]:
    """The human (or first automated) decision `decision` was copied from, and every decision copied from
    `decision` since (re-uploads, transitively)."""
    case_decisions = {d.id: d for d in session.scalars(sa.select(Decision).where(Decision.case_id == decision.case_id))}
    root = decision
    while root.derived_from is not None and root.derived_from in case_decisions:
        root = case_decisions[root.derived_from]
    copies, frontier = [], {decision.id}
    for d in sorted(case_decisions.values(), key=lambda d: d.id):
        if d.derived_from in frontier:
            copies.append(d)
            frontier.add(d.id)
    return root, copies


def record(session: Session, case: Case, d: DecisionIn, contents: list[CaseContent], notices: list[Notice], *,
           reviewer_key_id: int | None, automated: bool, policy: CasePolicy, at: datetime,
           appeal_id: int | None = None, derived_from: int | None = None) -> Decision:
    """Store a decision about `contents` and everything that follows from it."""
    decision = Decision(case_id=case.id, action=d.action, territorial_scope=d.territorial_scope,
                        ground_type=d.ground_type, ground_reference=d.ground_reference, explanation=d.explanation,
                        reviewer_key_id=reviewer_key_id, automated=automated,
                        content_ids=[c.content_id for c in contents], appeal_id=appeal_id,
                        derived_from=derived_from, decided_at=at)
    session.add(decision)
    session.flush()
    append_row(session, "automated_action" if automated else "decision", decision)

    statements: dict[int, dict] = {}
    for c in contents:
        try:
            row = record_statement(session, facts_for(
                d, puid=f"vigil-d{decision.id}-c{c.id}", content_type=c.content_type, first_seen_at=c.first_seen_at,
                source=case.source, language=case.language, evidence=case.evidence, automated=automated, at=at))
        except StatementError as e:
            raise InvalidInput(f"the statement of reasons would be refused: {'; '.join(e.errors)}; reword the "
                               "explanation or ground", code="invalid_statement", field="explanation") from None
        if row is not None:
            statements[c.id] = row.body

    summary = summary_of(decision)
    messages = []
    if d.action != Action.NO_ACTION:
        messages.append(outbox.Message(f"action:{decision.id}", "action", {
            **summary, "contents": [{"content_id": c.content_id, "url": c.content_url} for c in contents]}))
        for c in contents:
            messages.append(outbox.Message(f"uploader:{decision.id}:{c.id}", "uploader_notification", {
                **summary, "content_id": c.content_id, "uploader_id": c.uploader_id,
                "statement_of_reasons": statements.get(c.id), "explanation": d.explanation, "redress": REDRESS}))
    messages += notifier_messages(decision, [(n.id, n.content_id) for n in notices])
    outbox.enqueue(session, messages, at)

    if d.action in VIOLATIONS:
        add_strikes(session, [c.uploader_id for c in contents if c.uploader_id], +1, at)
    record_accuracy(session, [n.notifier_id for n in notices if n.notifier_id], d.action != Action.NO_ACTION)
    if d.action in WITHHELD:
        for c in contents:
            c.retained_until = policy.kept_until(at)
    return decision


def facts_for(d: DecisionIn, *, puid: str, content_type: str, first_seen_at: datetime, source: str,
              language: str | None, evidence: Evidence | None, automated: bool, at: datetime) -> DecisionFacts:
    """The facts one copy's statement of reasons is built from.

    The console's preview builds its statements from these too, so a reviewer sees the statement that
    deciding will record.
    """
    detected = evidence is not None and evidence.detected
    return DecisionFacts(
        puid=puid, action=d.action, territorial_scope=d.territorial_scope,
        ground_type=d.ground_type, ground_reference=d.ground_reference, explanation=d.explanation,
        content_type=[content_type], content_date=min(first_seen_at.date(), at.date()),
        decision_date=at.date(), source=source, automated_detection=automated or detected,
        automated_decision="fully" if automated else "not", category=None,
        language=_iso_639_1(language))


def _iso_639_1(language: str | None) -> str | None:
    """The statement's two-letter language, from a BCP 47 tag: "zh-Hant" gives ZH; "fil" has no ISO 639-1
    code, so the statement leaves the language out rather than name another one (FI is Finnish)."""
    primary = (language or "").split("-")[0]
    return primary.upper() if ISO_639_1.match(primary) else None


def summary_of(decision: Decision) -> dict:
    return {"decision_id": decision.id, "case_id": decision.case_id, "action": decision.action,
            "territorial_scope": decision.territorial_scope,
            "ground": {"type": decision.ground_type, "reference": decision.ground_reference},
            "automated": decision.automated, "decided_at": decision.decided_at.isoformat()}


def notifier_messages(decision: Decision, notices: list[tuple[int, str]]) -> list[outbox.Message]:
    """Tell each notifier (notice id, content id) the decision on what they reported (DSA Art. 16(5)).

    The platform that forwarded the notice knows how to reach its notifier: no contact details leave Vigil.
    """
    return [outbox.Message(f"notifier:{decision.id}:{nid}", "notifier_notification", {
        **summary_of(decision), "notice_id": nid, "content_id": cid, "explanation": decision.explanation,
        "redress": REDRESS}) for nid, cid in notices]


def add_strikes(session: Session, uploader_ids: list[str], delta: int, at: datetime) -> None:
    """Count confirmed violations per uploader account (one per decision, however many copies)."""
    for uid in sorted(set(uploader_ids)):
        row = session.get(Strike, uid)
        if row is None:
            if delta > 0:
                session.add(Strike(uploader_id=uid, count=delta, updated_at=at))
        else:
            row.count, row.updated_at = max(0, row.count + delta), at


def record_accuracy(session: Session, notifier_ids: list[str], upheld: bool, *, undo: bool = False) -> None:
    """Count a notifier's report as accurate (action taken) or not; `undo` takes back an earlier count."""
    step = -1 if undo else 1
    for nid in sorted(set(notifier_ids)):
        row = session.get(NotifierRecord, nid)
        if row is None:
            row = NotifierRecord(notifier_id=nid, accurate=0, inaccurate=0)
            session.add(row)
        if upheld:
            row.accurate = max(0, row.accurate + step)
        else:
            row.inaccurate = max(0, row.inaccurate + step)
