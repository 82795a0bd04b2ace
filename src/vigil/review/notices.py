"""Receiving notices: intake (vigil.cases.intake), then the decisions that cannot wait, in one transaction.

Intake groups and stores; it never decides. What it returns as follow-ups is acted on here:
notifiers of content already decided are told that decision (DSA Art. 16(5)); new copies of content
already acted on get the same action (re-upload prevention, TCO Art. 5); and evidence the verdict rule
allows acting on (vigil.policy.verdict: an exact match to a bank verified for it) is decided at once.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from vigil import outbox
from vigil.cases import checks
from vigil.cases.dedupe import NearIndex
from vigil.cases.intake import Followups, IntakeError, Receipt, ingest
from vigil.cases.notice import NoticeIn
from vigil.clock import now as utc_now
from vigil.policy.cases import CasePolicy
from vigil.policy.verdict import assess
from vigil.review import decisions


def receive(session: Session, notices: list[NoticeIn], *, policy: CasePolicy, near_index: NearIndex,
            matcher: checks.Matching, detector: checks.Detecting,
            now: datetime | None = None) -> list[Receipt | IntakeError]:
    """Take validated notices (media already hashed); one Receipt or IntakeError per notice, in order."""
    now = now or utc_now()
    intake = ingest(session, notices, policy=policy, near_index=near_index, matcher=matcher, detector=detector, now=now)
    act(session, intake.followups, policy=policy, at=now)
    return intake.receipts


def act(session: Session, followups: Followups, *, policy: CasePolicy, at: datetime) -> None:
    outbox.enqueue(session, [m for decision, notice_id, content_id in followups.answered
                             for m in decisions.notifier_messages(decision, [(notice_id, content_id)])], at)
    for case_id, (decided, content_ids, notice_ids) in followups.reuploads.items():
        decisions.apply_to_reuploads(session, case_id, decided, content_ids, notice_ids, policy=policy, at=at)
    for case_id, evidence in followups.evidence:
        match = assess(evidence, policy.auto_action_banks).act_on
        if match is not None:
            decisions.decide_automatically(session, case_id, match, policy=policy, at=at)
