"""Notice intake: store a batch of notices, group them into cases, and open, check and prioritise new cases.

Set-based, because peaks after an attack run to thousands of notices a second: one idempotency query,
one dedupe-key query (and one for keys committed since), in-memory near-duplicate searches, then bulk
inserts and one bulk update per batch.

Grouping and writing are serialised per database (`vigil.store.locks.INTAKE`), so two batches never open
two cases for the same content; the lock is held until the caller commits. Everything that does not
depend on other batches (`prepare`) runs before the lock. Under it, `ingest` runs named steps over one
`Batch`: answer repeats, find candidates, eligible cases, group, open cases, write notices, add copies,
update existing cases, and list the follow-ups.

Intake never decides. What cannot wait (re-uploads of content already acted on, verified exact matches,
answers to notices on decided content) is returned as `Followups`, which the caller hands to
vigil.review (`vigil.review.notices.receive` does both).
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Iterator

import sqlalchemy as sa
from sqlalchemy.orm import Session

from vigil.cases import checks
from vigil.cases.dedupe import ContentKeys, Groups, Near, NearIndex, batch_pdq_pairs, content_keys, same_video
from vigil.cases.notice import NoticeIn
from vigil.cases.standing import standing
from vigil.clock import now as utc_now
from vigil.errors import Conflict
from vigil.evidence import Evidence, merged
from vigil.policy import priority
from vigil.policy.cases import CasePolicy
from vigil.policy.routing import route
from vigil.store import locks
from vigil.store.bulk import chunks, insert_rows, one_of, update_rows
from vigil.store.cases import Appeal, Case, CaseContent, CaseKey, Decision, Notice, NotifierRecord
from vigil.store.db import is_postgres
from vigil.vocabulary import DECIDED_STATES, OPEN_STATES, Action, AppealState, CaseState, NoticeSource

CHUNK = 2000  # keys per IN (...) query, well under SQLite's and PostgreSQL's parameter limits
UNKNOWN_NOTIFIER = 0.5  # the weight of a notifier with no record (priority.notifier_weight of 0 and 0)


class IntakeError(Conflict):
    """A notice that cannot be taken as sent (a reused idempotency key); the message says why."""

    code = "idempotency_conflict"


@dataclass(frozen=True)
class Receipt:
    notice_id: int
    case_id: int
    received_at: datetime
    digest: str
    duplicate: bool

    def to_dict(self) -> dict:
        return {"notice_id": self.notice_id, "case_id": self.case_id,
                "receipt": {"received_at": self.received_at.isoformat(), "digest": self.digest},
                "duplicate": self.duplicate}


@dataclass
class Followups:
    """What intake found that cannot wait for a reviewer; vigil.review acts on it in the same transaction."""

    reuploads: dict[int, tuple[Decision, list[str], list[int]]] = field(default_factory=dict)
    """Case id -> (the standing decision that acted, new copies' content ids, their notice ids)."""
    answered: list[tuple[Decision, int, str]] = field(default_factory=list)
    """(decision, notice id, content id): notices on content already decided, to be told that decision."""
    evidence: list[tuple[int, Evidence]] = field(default_factory=list)
    """(case id, evidence) for new cases and open cases whose evidence grew: the verdict rule may act on them."""


@dataclass
class Intake:
    receipts: list[Receipt | IntakeError]
    followups: Followups


# --- before the lock -------------------------------------------------------------------------------------

@dataclass
class Prepared:
    """What a batch needs that other batches cannot change, worked out before the intake lock.

    Only the grouping and the writes wait for the lock; parsing, keys, the text detector and bank
    matches for content no case holds yet run beside another batch's turn.
    """

    digests: list[str]
    keys: list[ContentKeys]
    known: dict[str, set[int]]  # exact key -> cases holding it, as committed up to case key `seen`
    seen: int
    near: Near  # cases holding near copies of the batch's PDQs and videos
    pairs: list[tuple[str, str]]  # PDQs of this batch within the threshold of each other
    weights: dict[str, float]  # notifier id -> accuracy weight
    evidence: dict[int, Evidence]  # notice position -> evidence, for content no case held
    rows: list[dict]  # notice rows, but for their case and id
    notice_ids: list[int] | None  # reserved ahead where the database allows it (PostgreSQL sequences)


@contextmanager
def _reader(session: Session) -> Iterator[Session | sa.Connection]:
    """Where to read before the lock: the session itself on PostgreSQL (READ COMMITTED); on SQLite a
    separate connection, because a read in the session would pin a snapshot that its write lock then refuses."""
    bind = session.get_bind()
    if is_postgres(session) or not isinstance(bind, sa.Engine):
        yield session
    else:
        with bind.connect() as conn:
            yield conn


def prepare(session: Session, notices: list[NoticeIn], *, now: datetime, near_index: NearIndex,
            matcher: checks.Matching, detector: checks.Detecting) -> Prepared:
    digests = [n.digest() for n in notices]
    keys = [content_keys(n.content) for n in notices]
    wanted = sorted({k for ck in keys for _kind, k in ck.exact})
    pdqs = sorted({ck.pdq for ck in keys if ck.pdq})
    notifier_ids = sorted({n.notifier.id for n in notices if n.notifier and n.notifier.id})
    known: dict[str, set[int]] = {}
    weights: dict[str, float] = {}
    with _reader(session) as db:
        # Case keys are only written under the intake lock, so every key not yet committed has an id above `seen`.
        seen = db.scalar(sa.select(sa.func.max(CaseKey.id))) or 0
        for chunk in chunks(wanted, CHUNK):
            for k, cid in db.execute(sa.select(CaseKey.key, CaseKey.case_id).where(one_of(session, CaseKey.key, chunk))):
                known.setdefault(k, set()).add(cid)
        for chunk in chunks(notifier_ids, CHUNK):
            for r in db.execute(sa.select(NotifierRecord.notifier_id, NotifierRecord.accurate, NotifierRecord.inaccurate)
                                .where(one_of(session, NotifierRecord.notifier_id, chunk))):
                weights[r[0]] = priority.notifier_weight(r[1], r[2])
        near = near_index.search(db, pdqs, sorted({ck.video for ck in keys if ck.video}))
    notice_ids = locks.allocate_ids(session, Notice.__table__, len(notices)) if is_postgres(session) else None
    # Evidence for new copies (their content id is new) with a hash or text no case holds yet: they open a
    # case or add to one. A copy whose hashes and text are all held already adds nothing where it joins a
    # case holding them; the rare rest are checked under the lock (`Batch.evidence_at`).
    unheld = [p for p, ck in enumerate(keys)
              if ck.exact[0][1] not in known and not (ck.exact[1:] and all(k in known for _kind, k in ck.exact[1:]))]
    rows = [_notice_row(n, digest, now) for n, digest in zip(notices, digests)]
    return Prepared(digests, keys, known, seen, near, [(pdqs[i], pdqs[j]) for i, j in batch_pdq_pairs(pdqs)],
                    weights, check_once(notices, unheld, matcher, detector), rows, notice_ids)


def check_once(notices: list[NoticeIn], positions: list[int], matcher: checks.Matching,
               detector: checks.Detecting) -> dict[int, Evidence]:
    """Evidence for the notices at `positions`; identical content (text, hashes, category) is checked once."""
    share: dict[int, int] = {}
    first: dict[tuple, int] = {}
    for p in positions:
        n = notices[p]
        share[p] = first.setdefault((n.content.text, tuple(sorted(n.content.hashes.items())), n.category), p)
    leads = sorted(first.values())
    found = dict(zip(leads, checks.check([notices[p].content for p in leads], [notices[p].category for p in leads],
                                         matcher, detector))) if leads else {}
    return {p: found[lead] for p, lead in share.items()}


def _notice_row(n: NoticeIn, digest: str, now: datetime) -> dict:
    c, nf = n.content, n.notifier
    return {
        "source": n.source, "authority": n.authority, "order_reference": n.order_reference,
        "content_id": c.id, "content_url": c.url, "content_type": c.inferred_type(), "content_text": c.text,
        "content_hashes": c.hashes, "uploader_id": c.uploader_id, "explanation": n.explanation,
        "notifier_id": nf.id if nf else None, "notifier_name": nf.name if nf else None,
        "notifier_email": nf.email if nf else None, "good_faith": n.good_faith, "category": n.category,
        "language": n.language, "views": c.views, "received_at": now, "idempotency_key": n.idempotency_key,
        "digest": digest,
    }


# --- under the lock ----------------------------------------------------------------------------------------

def ingest(session: Session, notices: list[NoticeIn], *, policy: CasePolicy, near_index: NearIndex,
           matcher: checks.Matching, detector: checks.Detecting, now: datetime | None = None) -> Intake:
    """Take `notices` (validated, media already hashed); one Receipt or IntakeError per notice, in order."""
    now = now or utc_now()
    pre = prepare(session, notices, now=now, near_index=near_index, matcher=matcher, detector=detector)
    serialise(session)
    results: list[Receipt | IntakeError | None] = [None] * len(notices)
    new, later = answer_repeats(session, notices, pre.digests, results)
    followups = Followups()
    if new:
        batch = Batch([notices[i] for i in new], new, [pre.keys[i] for i in new], pre, now,
                      matcher=matcher, detector=detector)
        find_candidates(session, batch)
        eligible_cases(session, batch)
        group(batch)
        open_cases(session, batch, policy)
        write_notices(session, batch, results)
        add_copies(session, batch)
        update_existing(session, batch, policy)
        followups = followups_of(batch)
    for i, j in later:
        first = results[j]
        if isinstance(first, Receipt) and first.digest == pre.digests[i]:
            results[i] = Receipt(first.notice_id, first.case_id, first.received_at, first.digest, True)
        else:
            results[i] = IntakeError(f"idempotency key {notices[i].idempotency_key!r} is used twice in this batch for "
                                     "different notices", field="idempotency_key")
    return Intake(results, followups)  # type: ignore[arg-type]


def serialise(session: Session) -> None:
    """Take the intake lock for the rest of this transaction (vigil.store.locks): everything read after it is current."""
    locks.hold_writer(session, locks.INTAKE, Case.__table__)


def answer_repeats(session: Session, notices: list[NoticeIn], digests: list[str],
                   results: list) -> tuple[list[int], list[tuple[int, int]]]:
    """Idempotency: a key seen before returns the first notice's receipt (or a conflict, if the notice differs).

    Returns the positions of new notices, and (position, first position) pairs for keys repeated in this batch.
    """
    keys = [n.idempotency_key for n in notices if n.idempotency_key]
    stored: dict[str, tuple] = {}
    for chunk in chunks(keys, CHUNK):
        for r in session.execute(sa.select(Notice.idempotency_key, Notice.id, Notice.case_id, Notice.received_at,
                                           Notice.digest).where(one_of(session, Notice.idempotency_key, chunk))):
            stored[r[0]] = tuple(r[1:])
    new: list[int] = []
    later: list[tuple[int, int]] = []
    first_in_batch: dict[str, int] = {}
    for i, n in enumerate(notices):
        k = n.idempotency_key
        if k and k in stored:
            nid, cid, at, digest = stored[k]
            results[i] = (Receipt(nid, cid, at, digest, True) if digest == digests[i] else
                          IntakeError(f"idempotency key {k!r} was already used for a different notice; use a new key "
                                      "for a new notice", field="idempotency_key"))
        elif k and k in first_in_batch:
            later.append((i, first_in_batch[k]))
        else:
            if k:
                first_in_batch[k] = i
            new.append(i)
    return new, later


# Read with each candidate case: its state, and the priority inputs an extra notice may change. The inputs
# inside the evidence are read in SQL: decoding whole evidence documents costs more.
CASE_COLUMNS = (Case.id, Case.state, Case.source, Case.category, Case.language, Case.queue, Case.deadline,
                Case.created_at, Case.notice_count, Case.notifier_confidence, Case.views,
                Case.evidence["crisis"].as_boolean().label("crisis"),
                Case.evidence[("matches", 0, "bank")].as_string().is_not(None).label("bank_match"),
                Case.evidence[("text", "score")].as_float().label("detector_score"))


@dataclass
class Batch:
    """The new notices of one intake call (those not answered by idempotency), and what the steps learn.

    Positions (`pos`) index `items`; `new[pos]` is the position in the caller's list.
    """

    items: list[NoticeIn]
    new: list[int]
    keys: list[ContentKeys]
    pre: Prepared
    now: datetime
    matcher: checks.Matching
    detector: checks.Detecting
    key_cases: dict[str, set[int]] = field(default_factory=dict)  # exact key -> cases holding it
    candidates: list[set[int]] = field(default_factory=list)  # per item: cases it may join
    cases: dict[int, sa.Row] = field(default_factory=dict)  # candidate id -> row of CASE_COLUMNS
    acted: dict[int, Decision] = field(default_factory=dict)  # decided case -> its latest standing decision
    history: dict[int, list[Decision]] = field(default_factory=dict)  # decided case -> its standing decisions
    eligible: set[int] = field(default_factory=set)  # candidates that can take more notices
    target: dict[int, int] = field(default_factory=dict)  # item -> its case
    fresh: list[list[int]] = field(default_factory=list)  # items of each new case
    fresh_evidence: list[Evidence] = field(default_factory=list)
    notice_ids: list[int] = field(default_factory=list)
    new_copies: list[int] = field(default_factory=list)  # items that are copies their case did not hold
    grown: dict[int, Evidence] = field(default_factory=dict)  # open cases whose evidence new copies added to
    under_lock: dict[int, Evidence] = field(default_factory=dict)  # evidence checked under the lock

    def state(self, case_id: int) -> str:
        return self.cases[case_id].state

    def weight(self, n: NoticeIn) -> float:
        return self.pre.weights.get(n.notifier.id, UNKNOWN_NOTIFIER) if n.notifier and n.notifier.id else UNKNOWN_NOTIFIER

    def evidence_at(self, positions: list[int]) -> list[Evidence]:
        """Each item's evidence: as checked before the lock, or now for those `prepare` passed over."""
        missing = [p for p in positions if self.new[p] not in self.pre.evidence and p not in self.under_lock]
        self.under_lock.update(check_once(self.items, missing, self.matcher, self.detector))
        return [self.pre.evidence.get(self.new[p]) or self.under_lock[p] for p in positions]

    def decision_on(self, case_id: int, content_id: str) -> Decision:
        """The standing decision that covers `content_id` in a decided case (else its latest)."""
        return next((d for d in reversed(self.history[case_id]) if content_id in d.content_ids), self.acted[case_id])


def find_candidates(session: Session, batch: Batch) -> None:
    """Step 2: cases each item may join, by exact keys and near copies as found before the lock, plus any
    committed since (only the lock's holder writes keys, so they all have ids above `pre.seen`)."""
    wanted = {k for ck in batch.keys for _kind, k in ck.exact}
    batch.key_cases = {k: set(cids) for k, cids in batch.pre.known.items()}
    new_pdqs = []
    for k, cid in session.execute(sa.select(CaseKey.key, CaseKey.case_id).where(CaseKey.id > batch.pre.seen)):
        if k in wanted:
            batch.key_cases.setdefault(k, set()).add(cid)
        if k.startswith("pdq:"):
            new_pdqs.append((k[4:], cid))
    near = batch.pre.near
    near.since(session, new_pdqs)
    for ck in batch.keys:
        found: set[int] = set()
        for _kind, k in ck.exact:
            found |= batch.key_cases.get(k, set())
        if ck.pdq:
            found |= near.pdq[ck.pdq]
        if ck.video:
            found |= near.video[ck.video]
        batch.candidates.append(found)


def eligible_cases(session: Session, batch: Batch) -> None:
    """Step 3: which candidates can take more notices: open cases, and decided ones whose standing decision
    acted (a decision reversed on appeal no longer stands)."""
    all_cands = sorted(set().union(*batch.candidates))
    for chunk in chunks(all_cands, CHUNK):
        batch.cases.update((r.id, r) for r in session.execute(sa.select(*CASE_COLUMNS).where(one_of(session, Case.id, chunk))))
    decided = [c for c in all_cands if c in batch.cases and batch.state(c) in DECIDED_STATES]
    for chunk in chunks(decided, CHUNK):
        reversed_ = set(session.scalars(sa.select(Appeal.decision_id).where(Appeal.state == AppealState.REVERSED,
                                                                           one_of(session, Appeal.case_id, chunk))))
        rows: dict[int, list[Decision]] = {}
        for d in session.scalars(sa.select(Decision).where(one_of(session, Decision.case_id, chunk)).order_by(Decision.id)):
            rows.setdefault(d.case_id, []).append(d)
        for cid in chunk:
            still = standing(rows.get(cid, []), reversed_)
            if still:
                batch.history[cid] = still
    batch.acted = {cid: ds[-1] for cid, ds in batch.history.items()}  # the latest decision on the case stands
    batch.eligible = {c for c in all_cands if c in batch.cases and batch.state(c) in OPEN_STATES
                      or (c in batch.acted and batch.acted[c].action != Action.NO_ACTION)}


def group(batch: Batch) -> None:
    """Step 4: items with each other (shared keys, near PDQs, the same video) and with eligible cases.

    Fills `target` for items joining an existing case (an open one before a decided one), and `fresh` with
    the items of each new case.
    """
    g = Groups()
    owner: dict[str, int] = {}
    for pos, ck in enumerate(batch.keys):
        g.find(("i", pos))
        for _kind, k in ck.exact:
            if k in owner:
                g.union(("i", owner[k]), ("i", pos))
            else:
                owner[k] = pos
        for c in batch.candidates[pos] & batch.eligible:
            g.union(("c", c), ("i", pos))
    for a, b in batch.pre.pairs:
        if "pdq:" + a in owner and "pdq:" + b in owner:  # both among the notices not answered by idempotency
            g.union(("i", owner["pdq:" + a]), ("i", owner["pdq:" + b]))
    video_reps: list[tuple[str, int]] = []
    for pos, ck in enumerate(batch.keys):
        if ck.video and not batch.candidates[pos] & batch.eligible:
            match = next((p for v, p in video_reps if same_video(ck.video, v)), None)
            if match is None:
                video_reps.append((ck.video, pos))
            else:
                g.union(("i", match), ("i", pos))
    for members in g.components([("i", p) for p in range(len(batch.items))]).values():
        positions = [m[1] for m in members]
        linked = sorted({c for p in positions for c in batch.candidates[p] & batch.eligible},
                        key=lambda c: (batch.state(c) not in OPEN_STATES, c))
        if linked:
            for p in positions:
                batch.target[p] = linked[0]
        else:
            batch.fresh.append(sorted(positions))


def open_cases(session: Session, batch: Batch, policy: CasePolicy) -> None:
    """Step 5: new cases, checked once (mostly before the lock), routed and prioritised; the evidence is
    every copy's."""
    batch.evidence_at([p for ps in batch.fresh for p in ps])  # one check for whatever prepare() passed over
    batch.fresh_evidence = [merged(batch.evidence_at(ps)) for ps in batch.fresh]
    rows = [_new_case_row(batch, [batch.items[p] for p in ps], ev, policy)
            for ps, ev in zip(batch.fresh, batch.fresh_evidence)]
    if not rows:
        return
    ids = locks.allocate_ids(session, Case.__table__, len(rows))
    for row, cid in zip(rows, ids):
        row["id"] = cid
    insert_rows(session, Case.__table__, rows)
    for ps, cid in zip(batch.fresh, ids):
        for p in ps:
            batch.target[p] = cid


def _new_case_row(batch: Batch, members: list[NoticeIn], ev: Evidence, policy: CasePolicy) -> dict:
    lead, now = members[0], batch.now
    source = lead.source
    for n in members:
        source = priority.stronger_source(source, n.source)
    category = next((n.category for n in members if n.category), None) or (ev.text.category if ev.text else None)
    language = next((n.language for n in members if n.language), None)
    inputs = priority.PriorityInputs(
        source=source, category=category, crisis=ev.crisis, bank_match=ev.bank_match,
        detector_score=ev.detector_score, notice_count=len(members),
        notifier_confidence=max(batch.weight(n) for n in members),
        views=max((n.content.views or 0) for n in members))
    orders = [now for n in members if n.source == NoticeSource.AUTHORITY_ORDER]
    return {
        "state": CaseState.OPEN,
        "queue": route(policy.queue_rules, policy.default_queue, category=category, language=language, source=source),
        "priority": priority.priority(inputs), "source": source, "category": category, "language": language,
        "content_type": lead.content.inferred_type(),
        "deadline": priority.deadline(inputs, now, policy.service_levels_hours, orders[0] if orders else None),
        "evidence": ev.model_dump(mode="json"), "notice_count": len(members),
        "notifier_confidence": inputs.notifier_confidence, "views": inputs.views,
        "created_at": now, "updated_at": now,
    }


def write_notices(session: Session, batch: Batch, results: list) -> None:
    """Step 6: the notices themselves, each with its receipt."""
    pre, new = batch.pre, batch.new
    batch.notice_ids = [pre.notice_ids[i] for i in new] if pre.notice_ids else locks.allocate_ids(
        session, Notice.__table__, len(new))
    rows = [pre.rows[i] for i in new]
    for pos, (row, nid) in enumerate(zip(rows, batch.notice_ids)):
        row["case_id"], row["id"] = batch.target[pos], nid
    insert_rows(session, Notice.__table__, rows)
    for pos, nid in enumerate(batch.notice_ids):
        results[new[pos]] = Receipt(nid, batch.target[pos], batch.now, pre.digests[new[pos]], False)


def add_copies(session: Session, batch: Batch) -> None:
    """Step 7: copies and keys the cases did not hold yet. A case holds a copy exactly when it holds the copy's
    content key (both are written here, together), so the keys read in step 2 tell which copies are new."""
    content_rows, key_rows = [], []
    have_keys = {(cid, k) for k, cids in batch.key_cases.items() for cid in cids}
    for pos, (n, ck) in enumerate(zip(batch.items, batch.keys)):
        cid, c = batch.target[pos], n.content
        if (cid, ck.exact[0][1]) not in have_keys:  # exact[0] is the content key
            content_rows.append({
                "case_id": cid, "content_id": c.id, "content_url": c.url, "content_type": c.inferred_type(),
                "content_text": c.text, "uploader_id": c.uploader_id, "md5": c.hashes.get("md5"),
                "sha256": c.hashes.get("sha256"), "pdq": ck.pdq, "vpdq": ck.video, "text_key": ck.text_key,
                "first_seen_at": batch.now, "posted_at": c.posted_at,
            })
            batch.new_copies.append(pos)
        for kind, k in ck.exact:
            if (cid, k) not in have_keys:
                have_keys.add((cid, k))
                key_rows.append({"case_id": cid, "kind": kind, "key": k})
    insert_rows(session, CaseContent.__table__, content_rows)
    insert_rows(session, CaseKey.__table__, key_rows)


def update_existing(session: Session, batch: Batch, policy: CasePolicy) -> None:
    """Step 8: cases that already existed get more notices, maybe a stronger source and a nearer deadline, and
    the evidence of copies joining them while open (unless the case already holds all their hashes and text)."""
    fresh_ids = {batch.target[ps[0]] for ps in batch.fresh}
    old = sorted(set(batch.target.values()) - fresh_ids)
    old_ids = set(old)
    bringing = [pos for pos in batch.new_copies if batch.target[pos] in old_ids
                and batch.state(batch.target[pos]) in OPEN_STATES
                and (batch.new[pos] in batch.pre.evidence
                     or any(batch.target[pos] not in batch.key_cases.get(k, ()) for _kind, k in batch.keys[pos].exact[1:]))]
    gained: dict[int, list[Evidence]] = {}
    for pos, ev in zip(bringing, batch.evidence_at(bringing)):
        if ev.matches or ev.text:
            gained.setdefault(batch.target[pos], []).append(ev)
    batch.grown = _add_evidence(session, gained)
    _update_priorities(session, batch, [batch.cases[c] for c in old], policy)


def _add_evidence(session: Session, gained: dict[int, list[Evidence]]) -> dict[int, Evidence]:
    """Merge what new copies brought into their open cases' evidence; the cases whose evidence grew, and how."""
    grown = {}
    for chunk in chunks(sorted(gained), CHUNK):
        for cid, stored in session.execute(sa.select(Case.id, Case.evidence).where(one_of(session, Case.id, chunk))):
            before = stored or Evidence()
            after = merged([before, *gained[cid]])
            if after != before:
                grown[cid] = after
    update_rows(session, Case.__table__, [{"id": cid, "evidence": ev.model_dump(mode="json")}
                                          for cid, ev in sorted(grown.items())])
    return grown


def _update_priorities(session: Session, batch: Batch, cases: list[sa.Row], policy: CasePolicy) -> None:
    """`cases` are rows of CASE_COLUMNS, read under the lock in step 3."""
    if not cases:
        return
    by_case: dict[int, list[NoticeIn]] = {}
    for pos, n in enumerate(batch.items):
        by_case.setdefault(batch.target[pos], []).append(n)
    rows = []
    for case in cases:
        members = by_case[case.id]
        source = case.source
        for n in members:
            source = priority.stronger_source(source, n.source)
        ev = batch.grown.get(case.id)
        inputs = priority.PriorityInputs(
            source=source, category=case.category, crisis=ev.crisis if ev else bool(case.crisis),
            bank_match=ev.bank_match if ev else bool(case.bank_match),
            detector_score=ev.detector_score if ev else float(case.detector_score or 0.0),
            notice_count=case.notice_count + len(members),
            notifier_confidence=max([case.notifier_confidence] + [batch.weight(n) for n in members]),
            views=max([case.views] + [(n.content.views or 0) for n in members]))
        order = batch.now if any(n.source == NoticeSource.AUTHORITY_ORDER for n in members) else None
        deadline = min(case.deadline, priority.deadline(inputs, case.created_at, policy.service_levels_hours, order))
        queue = case.queue
        if source != case.source and case.state in OPEN_STATES:
            queue = route(policy.queue_rules, policy.default_queue, category=case.category,
                          language=case.language, source=source)
        rows.append({"id": case.id, "source": source, "queue": queue, "priority": priority.priority(inputs),
                     "deadline": deadline, "notice_count": inputs.notice_count,
                     "notifier_confidence": inputs.notifier_confidence, "views": inputs.views,
                     "updated_at": batch.now})
    update_rows(session, Case.__table__, rows)


def followups_of(batch: Batch) -> Followups:
    """Step 9: what cannot wait: re-uploads of acted-on content (new copies joining a decided case), notices
    on content already decided (answered with that decision), and the evidence of new and grown cases."""
    out = Followups()
    fresh_ids = {batch.target[ps[0]] for ps in batch.fresh}
    copies = set(batch.new_copies)
    for pos in batch.new_copies:
        cid = batch.target[pos]
        if cid in batch.acted and cid not in fresh_ids:
            decision, content_ids, notice_ids = out.reuploads.setdefault(cid, (batch.acted[cid], [], []))
            content_ids.append(batch.items[pos].content.id)
            notice_ids.append(batch.notice_ids[pos])
    for pos in range(len(batch.items)):
        cid = batch.target[pos]
        if cid in batch.acted and pos not in copies:
            content_id = batch.items[pos].content.id
            out.answered.append((batch.decision_on(cid, content_id), batch.notice_ids[pos], content_id))
    out.evidence = [(batch.target[ps[0]], ev) for ps, ev in zip(batch.fresh, batch.fresh_evidence)]
    out.evidence += sorted(batch.grown.items())
    return out
