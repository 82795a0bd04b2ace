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
from vigil.cases.clock import now, utc
from vigil.cases.policy import CasePolicy
from vigil.ledger.log import append_row
from vigil.review.errors import ReviewError, not_found
from vigil.store.cases import Case, CaseContent, Decision, Notice, NotifierRecord, Strike
from vigil.transparency.sor import DecisionFacts, StatementError, record_statement

ACTIONS = ("remove", "disable", "restrict", "label", "no_action")
VIOLATIONS = frozenset({"remove", "disable", "restrict"})  # confirmed violations: these count as strikes
WITHHELD = frozenset({"remove", "disable"})  # content taken out of reach: kept for reinstatement (TCO Art. 6)
GROUNDS = ("legal", "contractual")
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
        if self.action not in ACTIONS:
            raise ReviewError(422, "invalid_action", f"action {self.action!r} is not one of {', '.join(ACTIONS)}", "action")
        if self.ground_type not in GROUNDS:
            raise ReviewError(422, "invalid_ground", "ground.type must be 'legal' (with the law's reference) or "
                              "'contractual' (with the terms-of-service clause)", "ground.type")
        ref = (self.ground_reference or "").strip()
        if not ref or len(ref) > 500:
            raise ReviewError(422, "invalid_ground", "ground.reference names the law or the terms clause (1-500 characters)",
                              "ground.reference")
        text = (self.explanation or "").strip()
        if not text or len(text) > MAX_EXPLANATION:
            raise ReviewError(422, "invalid_explanation", f"explanation states the facts (1-{MAX_EXPLANATION} characters)",
                              "explanation")
        scope = [c.strip().upper() for c in self.territorial_scope]
        bad = [c for c in scope if not COUNTRY.match(c)]
        if bad:
            raise ReviewError(422, "invalid_territory", f"territorial_scope takes ISO 3166-1 alpha-2 codes; not {bad}",
                              "territorial_scope")
        if self.action == "disable" and not scope:
            raise ReviewError(422, "invalid_territory", "'disable' withholds content in named territories; list them in "
                              "territorial_scope (or use 'remove')", "territorial_scope")
        return DecisionIn(self.action, self.ground_type, ref, text, sorted(set(scope)))


def decide(session: Session, case_id: int, d: DecisionIn, reviewer_key_id: int, *, policy: CasePolicy,
           at: datetime | None = None) -> Decision:
    """A reviewer's decision on an open case they hold (or that nobody holds)."""
    d = d.validated()
    at = at or now()
    # The state change comes first: it takes the row lock, and a second decision finds nothing to change.
    taken = session.execute(
        sa.update(Case).where(Case.id == case_id, Case.state.in_(("open", "claimed")),
                              sa.or_(Case.claimed_by.is_(None), Case.claimed_by == reviewer_key_id,
                                     Case.claim_expires_at < at))
        .values(state="decided", decided_at=at, claimed_by=None, claim_expires_at=None, updated_at=at)
        .execution_options(synchronize_session=False)).rowcount
    if not taken:
        case = session.get(Case, case_id)
        if case is None:
            raise not_found("case", case_id)
        if case.state not in ("open", "claimed"):
            raise ReviewError(409, "already_decided", f"case {case_id} is {case.state}; an appeal is the way to change it")
        raise ReviewError(409, "claimed", f"case {case_id} is claimed by key {case.claimed_by} until "
                          f"{utc(case.claim_expires_at).isoformat()}; pick another case")
    case = session.get(Case, case_id)
    session.refresh(case)
    contents = list(session.scalars(sa.select(CaseContent).where(CaseContent.case_id == case_id).order_by(CaseContent.id)))
    notices = list(session.scalars(sa.select(Notice).where(Notice.case_id == case_id).order_by(Notice.id)))
    return record(session, case, d, contents, notices, reviewer_key_id=reviewer_key_id, automated=False,
                  policy=policy, at=at)


def decide_automatically(session: Session, case_id: int, match: dict, *, policy: CasePolicy,
                         at: datetime | None = None) -> Decision:
    """Act at once on a case that cannot wait: an exact match to a bank entry the operator verified."""
    at = at or now()
    case = session.get(Case, case_id)
    case.state, case.decided_at, case.updated_at = "decided", at, at
    d = DecisionIn(action=policy.auto_action, ground_type="legal", ground_reference=policy.auto_ground_reference,
                   explanation=f"Exact {match['signal_type']} match to entry {match['entry_id']} of the verified bank "
                   f"'{match['bank']}'.").validated()
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


def standing(case_decisions: list[Decision], reversed_ids: set[int]) -> list[Decision]:
    """The decisions on one case that still stand: not reversed on appeal, and not copied from one that was."""
    by_id = {d.id: d for d in case_decisions}

    def stands(d: Decision) -> bool:
        while d is not None:
            if d.id in reversed_ids:
                return False
            d = by_id.get(d.derived_from) if d.derived_from is not None else None
        return True

    return [d for d in case_decisions if stands(d)]


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
            raise ReviewError(422, "invalid_statement", "the statement of reasons would be refused: "
                              f"{'; '.join(e.errors)}; reword the explanation or ground", "explanation") from None
        if row is not None:
            statements[c.id] = row.body

    summary = summary_of(decision)
    messages = []
    if d.action != "no_action":
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
    record_accuracy(session, [n.notifier_id for n in notices if n.notifier_id], d.action != "no_action")
    if d.action in WITHHELD:
        for c in contents:
            c.retained_until = policy.kept_until(at)
    return decision


def facts_for(d: DecisionIn, *, puid: str, content_type: str, first_seen_at: datetime, source: str,
              language: str | None, evidence: dict | None, automated: bool, at: datetime) -> DecisionFacts:
    """The facts one copy's statement of reasons is built from.

    The console's preview builds its statements from these too, so a reviewer sees the statement that
    deciding will record.
    """
    evidence = evidence or {}
    detected = bool(evidence.get("matches")) or (evidence.get("text") or {}).get("verdict") in ("violating", "review")
    return DecisionFacts(
        puid=puid, action=d.action, territorial_scope=d.territorial_scope,
        ground_type=d.ground_type, ground_reference=d.ground_reference, explanation=d.explanation,
        content_type=[content_type], content_date=min(utc(first_seen_at).date(), at.date()),
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
            "automated": decision.automated, "decided_at": utc(decision.decided_at).isoformat()}


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
