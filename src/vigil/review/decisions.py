"""Decisions: one decision covers every copy in a case, and carries its consequences in the same transaction.

Those consequences are: the ledger leaf, a statement of reasons per copy, the action webhook, the
notices to the uploaders and the notifiers, strikes, the notifiers' accuracy record, and the retention
of removed content for reinstatement.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from vigil import outbox
from vigil.clock import now
from vigil.errors import Conflict, InvalidInput, not_found
from vigil.evidence import Evidence, MatchEvidence
from vigil.ledger.log import append_row
from vigil.policy.cases import CasePolicy
from vigil.store.cases import Case, CaseContent, Decision, Notice, NotifierRecord, Strike
from vigil.transparency import sor, tdb
from vigil.transparency.sor import DecisionFacts, StatementError, record_statement
from vigil.vocabulary import OPEN_STATES, VIOLATIONS, WITHHELD, Action, CaseState, GroundType, NoticeSource

MAX_EXPLANATION = sor.MAX_EXPLANATION
"""2,000 characters: the Transparency Database's cap on the explanation of the ground, which the statement repeats."""
REDRESS = ("You may appeal this decision free of charge within six months (DSA Art. 20), "
           "use out-of-court dispute settlement (Art. 21), or go to court.")


@dataclass(frozen=True)
class DecisionIn:
    action: str
    ground_type: str
    ground_reference: str
    explanation: str
    territorial_scope: list[str] = field(default_factory=list)
    ground_reference_url: str | None = None
    incompatible_content_illegal: bool | None = None
    ends_on: date | None = None
    """The last day of a time-limited restriction; none for a permanent one."""

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
        scope = [tdb.territory(c) for c in self.territorial_scope]
        if self.action == Action.DISABLE and not scope:
            raise InvalidInput("'disable' withholds content in named territories; list them in territorial_scope (or "
                               "use 'remove')", code="invalid_territory", field="territorial_scope")
        url = (self.ground_reference_url or "").strip() or None
        if url is not None and (len(url) > sor.MAX_SHORT or not sor.URL_RE.match(url)):
            raise InvalidInput(f"ground.url is an http(s) address of the law or terms clause (at most {sor.MAX_SHORT} "
                               "characters)", code="invalid_ground", field="ground.url")
        if self.ends_on is not None and self.action in (Action.NO_ACTION, Action.REMOVE):
            raise InvalidInput("ends_on limits a restriction in time; a removal or no action has no end",
                               code="invalid_end", field="ends_on")
        if self.incompatible_content_illegal is not None and self.ground_type != GroundType.CONTRACTUAL:
            raise InvalidInput("incompatible_content_illegal is for decisions on contractual grounds",
                               code="invalid_ground", field="incompatible_content_illegal")
        return DecisionIn(Action(self.action), GroundType(self.ground_type), ref, text, sorted(set(scope)), url,
                          self.incompatible_content_illegal, self.ends_on)


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
                   f"'{match.bank}'.", ground_reference_url=policy.auto_ground_reference_url).validated()
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
                   territorial_scope=list(decided.territorial_scope), ground_reference_url=decided.ground_reference_url,
                   incompatible_content_illegal=decided.incompatible_content_illegal, ends_on=decided.ends_on).validated()
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
                        derived_from=derived_from, decided_at=at, ground_reference_url=d.ground_reference_url,
                        incompatible_content_illegal=d.incompatible_content_illegal, ends_on=d.ends_on)
    session.add(decision)
    session.flush()
    append_row(session, "automated_action" if automated else "decision", decision)

    statements: dict[int, dict] = {}
    identity = source_identity(case.source, notices)
    for c in contents:
        try:
            row = record_statement(session, facts_for(
                d, puid=f"vigil-d{decision.id}-c{c.id}", content_type=c.content_type, first_seen_at=c.first_seen_at,
                posted_at=c.posted_at, source=case.source, source_identity=identity, language=case.language,
                evidence=case.evidence, automated=automated, at=at))
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
              language: str | None, evidence: Evidence | None, automated: bool, at: datetime,
              posted_at: datetime | None = None, source_identity: str | None = None) -> DecisionFacts:
    """The facts one copy's statement of reasons is built from.

    The console's preview builds its statements from these too, so a reviewer sees the statement that
    deciding will record. The content's date is when it was posted, if the notice said, else when Vigil first
    saw it. The language is the statement's ISO 639-1 code ("zh-Hant" gives ZH; "fil" has none, so the
    statement names no language rather than another one: FI is Finnish).
    """
    detected = evidence is not None and evidence.detected
    return DecisionFacts(
        puid=puid, action=d.action, territorial_scope=d.territorial_scope,
        ground_type=d.ground_type, ground_reference=d.ground_reference, explanation=d.explanation,
        content_type=[content_type], content_date=min((posted_at or first_seen_at).date(), at.date()),
        decision_date=at.date(), source=source, automated_detection=automated or detected,
        automated_decision="fully" if automated else "not", category=None, language=language,
        source_identity=source_identity, ground_reference_url=d.ground_reference_url,
        incompatible_content_illegal=d.incompatible_content_illegal, ends_on=d.ends_on)


def source_identity(source: str, notices: list[Notice]) -> str | None:
    """Who notified, as the statement may name them: the authority of a removal order, or a trusted flagger (an
    organisation recognised under DSA Art. 22). Never a private notifier: statements carry no personal data."""
    if source == NoticeSource.AUTHORITY_ORDER:
        return next((n.authority for n in notices if n.authority), None)
    if source == NoticeSource.TRUSTED_FLAGGER:
        return next((n.notifier_name for n in notices if n.source == NoticeSource.TRUSTED_FLAGGER and n.notifier_name),
                    None)
    return None


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
