"""Notice intake: store a batch of notices, group them into cases, and open, check and prioritise new cases.

Set-based, because peaks after an attack run to thousands of notices a second: one idempotency query,
one dedupe-key query (and one for keys committed since), in-memory near-duplicate searches, then bulk
inserts and one bulk update per batch.
Grouping and writing are serialised per database (an advisory lock on PostgreSQL, SQLite's single
writer), so two batches never open two cases for the same content; the lock is held until the caller
commits. Everything that does not depend on other batches (`prepare`) runs before the lock.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from vigil import outbox
from vigil.cases import checks, priority
from vigil.cases.bulk import chunks, insert_rows, is_postgres, one_of, update_rows
from vigil.cases.clock import now as utc_now, utc
from vigil.cases.dedupe import ContentKeys, Groups, Near, batch_pdq_pairs, content_keys, near_index, same_video
from vigil.cases.notice import NoticeIn
from vigil.cases.policy import CasePolicy
from vigil.cases.routing import route
from vigil.review import decisions
from vigil.store.cases import Appeal, Case, CaseContent, CaseKey, Decision, Notice, NotifierRecord

INTAKE_LOCK = 0x5649_4749_4C01  # pg_advisory_xact_lock key for notice intake ("VIGIL" + 1)
OPEN_STATES = ("open", "claimed")
DECIDED_STATES = ("decided", "appealed")
CHUNK = 2000  # keys per IN (...) query, well under SQLite's and PostgreSQL's parameter limits


class IntakeError(ValueError):
    """A notice that cannot be taken as sent (for example a reused idempotency key); the message says why."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


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


def serialise(session: Session) -> None:
    """Take the intake lock for the rest of this transaction."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": INTAKE_LOCK})
    else:
        # A write as the first statement takes SQLite's write lock now (waiting on busy_timeout), so
        # everything read below is current until commit.
        session.execute(sa.update(Case).where(Case.id == -1).values(id=Case.id))


def allocate_ids(session: Session, table: sa.Table, n: int) -> list[int]:
    """Ids for `n` new rows in one round trip, so bulk inserts need no RETURNING (which would go row by row)."""
    if n == 0:
        return []
    if session.get_bind().dialect.name == "postgresql":
        return list(session.scalars(sa.text(f"SELECT nextval(pg_get_serial_sequence('{table.name}', 'id')) "
                                            "FROM generate_series(1, :n)"), {"n": n}))
    # SQLite: the intake lock is the database's write lock, held since serialise(), so max(id) cannot move.
    top = session.scalar(sa.select(sa.func.max(table.c.id))) or 0
    return list(range(top + 1, top + n + 1))


def db_url_of(session: Session) -> str:
    return session.get_bind().url.render_as_string(hide_password=False)


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
    evidence: dict[int, checks.Evidence]  # notice position -> evidence, for content no case held
    rows: list[dict]  # notice rows, but for their case and id
    notice_ids: list[int] | None  # reserved ahead where the database allows it (PostgreSQL sequences)


@contextmanager
def _reader(session: Session):
    """Where to read before the lock: the session itself on PostgreSQL (READ COMMITTED); on SQLite a
    separate connection, because a read in the session would pin a snapshot that its write lock then refuses."""
    bind = session.get_bind()
    if bind.dialect.name == "postgresql" or not isinstance(bind, sa.Engine):
        yield session
    else:
        with bind.connect() as conn:
            yield conn


def prepare(session: Session, notices: list[NoticeIn], *, now: datetime, db_url: str,
            checkers: checks.Checkers) -> Prepared:
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
        near = near_index(db_url).search(db, pdqs, sorted({ck.video for ck in keys if ck.video}))
    notice_ids = allocate_ids(session, Notice.__table__, len(notices)) if is_postgres(session) else None
    # Evidence for new copies (their content id is new) with a hash or text no case holds yet: they open a
    # case or add to one. A copy whose hashes and text are all held already adds nothing where it joins a
    # case holding them; the rare rest are checked under the lock (`_ingest_new`).
    unheld = [p for p, ck in enumerate(keys)
              if ck.exact[0][1] not in known and not (ck.exact[1:] and all(k in known for _kind, k in ck.exact[1:]))]
    rows = [_notice_row(n, digest, now) for n, digest in zip(notices, digests)]
    return Prepared(digests, keys, known, seen, near, [(pdqs[i], pdqs[j]) for i, j in batch_pdq_pairs(pdqs)],
                    weights, check_once(db_url, notices, unheld, checkers), rows, notice_ids)


def check_once(db_url: str, notices: list[NoticeIn], positions: list[int],
               checkers: checks.Checkers) -> dict[int, checks.Evidence]:
    """Evidence for the notices at `positions`; identical content (text, hashes, category) is checked once."""
    share: dict[int, int] = {}
    first: dict[tuple, int] = {}
    for p in positions:
        n = notices[p]
        share[p] = first.setdefault((n.content.text, tuple(sorted(n.content.hashes.items())), n.category), p)
    leads = sorted(first.values())
    found = dict(zip(leads, checks.check(db_url, [notices[p].content for p in leads],
                                         [notices[p].category for p in leads], checkers))) if leads else {}
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


def ingest(session: Session, notices: list[NoticeIn], *, policy: CasePolicy, now: datetime | None = None,
           db_url: str | None = None, checkers: checks.Checkers = checks.Checkers()) -> list[Receipt | IntakeError]:
    """Take `notices` (already validated); one Receipt or IntakeError per notice, in order."""
    now = now or utc_now()
    db_url = db_url or db_url_of(session)
    pre = prepare(session, notices, now=now, db_url=db_url, checkers=checkers)
    serialise(session)
    results: list[Receipt | IntakeError | None] = [None] * len(notices)
    digests = pre.digests

    # 1. Idempotency: a key seen before (or earlier in this batch) returns the first notice's receipt.
    new: list[int] = []
    first_in_batch: dict[str, int] = {}
    keys = [n.idempotency_key for n in notices if n.idempotency_key]
    stored: dict[str, tuple] = {}
    for chunk in chunks(keys, CHUNK):
        for r in session.execute(sa.select(Notice.idempotency_key, Notice.id, Notice.case_id, Notice.received_at,
                                           Notice.digest).where(one_of(session, Notice.idempotency_key, chunk))):
            stored[r[0]] = tuple(r[1:])
    later: list[tuple[int, int]] = []
    for i, n in enumerate(notices):
        k = n.idempotency_key
        if k and k in stored:
            nid, cid, at, digest = stored[k]
            results[i] = (Receipt(nid, cid, utc(at), digest, True) if digest == digests[i] else
                          IntakeError("idempotency_conflict", f"idempotency key {k!r} was already used for a different "
                                      "notice; use a new key for a new notice"))
        elif k and k in first_in_batch:
            later.append((i, first_in_batch[k]))
        else:
            if k:
                first_in_batch[k] = i
            new.append(i)
    if new:
        _ingest_new(session, notices, pre, new, results, policy=policy, now=now, db_url=db_url, checkers=checkers)
    for i, j in later:
        first = results[j]
        if isinstance(first, Receipt) and first.digest == digests[i]:
            results[i] = Receipt(first.notice_id, first.case_id, first.received_at, first.digest, True)
        else:
            results[i] = IntakeError("idempotency_conflict", f"idempotency key {notices[i].idempotency_key!r} is used "
                                     "twice in this batch for different notices")
    return results  # type: ignore[return-value]


# Read with each candidate case: its state, and the priority inputs an extra notice may change. The inputs
# inside the evidence are read in SQL: decoding whole evidence documents costs more.
CASE_COLUMNS = (Case.id, Case.state, Case.source, Case.category, Case.language, Case.queue, Case.deadline,
                Case.created_at, Case.notice_count, Case.notifier_confidence, Case.views,
                Case.evidence["crisis"].as_boolean().label("crisis"),
                Case.evidence[("matches", 0, "bank")].as_string().is_not(None).label("bank_match"),
                Case.evidence[("text", "score")].as_float().label("detector_score"))


def _ingest_new(session: Session, notices: list[NoticeIn], pre: Prepared, new: list[int], results: list, *,
                policy: CasePolicy, now: datetime, db_url: str, checkers: checks.Checkers) -> None:
    items = [notices[i] for i in new]
    keys: list[ContentKeys] = [pre.keys[i] for i in new]

    # 2. Candidate cases: exact keys and near copies as found before the lock, plus any committed since.
    wanted = {k for ck in keys for _kind, k in ck.exact}
    key_cases = {k: set(cids) for k, cids in pre.known.items()}
    new_pdqs = []
    for k, cid in session.execute(sa.select(CaseKey.key, CaseKey.case_id).where(CaseKey.id > pre.seen)):
        if k in wanted:
            key_cases.setdefault(k, set()).add(cid)
        if k.startswith("pdq:"):
            new_pdqs.append((k[4:], cid))
    near = pre.near
    near.since(session, new_pdqs)
    candidates: list[set[int]] = []
    for ck in keys:
        found: set[int] = set()
        for _kind, k in ck.exact:
            found |= key_cases.get(k, set())
        if ck.pdq:
            found |= near.pdq[ck.pdq]
        if ck.video:
            found |= near.video[ck.video]
        candidates.append(found)

    # 3. Which candidates can take more notices: open cases, and decided ones whose standing decision acted
    #    (a decision reversed on appeal no longer stands).
    all_cands = sorted(set().union(*candidates))
    cases: dict[int, sa.Row] = {}
    for chunk in chunks(all_cands, CHUNK):
        cases.update((r.id, r) for r in session.execute(sa.select(*CASE_COLUMNS).where(one_of(session, Case.id, chunk))))
    states = {cid: r.state for cid, r in cases.items()}
    decided = [c for c in all_cands if states.get(c) in DECIDED_STATES]
    history: dict[int, list[Decision]] = {}
    for chunk in chunks(decided, CHUNK):
        reversed_ = set(session.scalars(sa.select(Appeal.decision_id).where(Appeal.state == "reversed",
                                                                           one_of(session, Appeal.case_id, chunk))))
        for d in session.scalars(sa.select(Decision).where(one_of(session, Decision.case_id, chunk)).order_by(Decision.id)):
            history.setdefault(d.case_id, []).append(d)
        for cid in chunk:
            history[cid] = decisions.standing(history.get(cid, []), reversed_)
            if not history[cid]:
                del history[cid]
    acted = {cid: ds[-1] for cid, ds in history.items()}  # the latest decision on the case stands

    def decision_on(case_id: int, content_id: str) -> Decision:
        return next((d for d in reversed(history[case_id]) if content_id in d.content_ids), acted[case_id])

    eligible = {c for c in all_cands if states.get(c) in OPEN_STATES
                or (c in acted and acted[c].action != "no_action")}

    # 4. Group: items with each other (shared keys, near PDQs, same video) and with eligible cases.
    g = Groups()
    owner: dict[str, int] = {}
    for pos, ck in enumerate(keys):
        g.find(("i", pos))
        for _kind, k in ck.exact:
            if k in owner:
                g.union(("i", owner[k]), ("i", pos))
            else:
                owner[k] = pos
        for c in candidates[pos] & eligible:
            g.union(("c", c), ("i", pos))
    for a, b in pre.pairs:
        if "pdq:" + a in owner and "pdq:" + b in owner:  # both among the notices not answered by idempotency
            g.union(("i", owner["pdq:" + a]), ("i", owner["pdq:" + b]))
    video_reps: list[tuple[str, int]] = []
    for pos, ck in enumerate(keys):
        if ck.video and not candidates[pos] & eligible:
            match = next((p for v, p in video_reps if same_video(ck.video, v)), None)
            if match is None:
                video_reps.append((ck.video, pos))
            else:
                g.union(("i", match), ("i", pos))

    components = g.components([("i", p) for p in range(len(items))])
    target: dict[int, int] = {}  # item position -> case id
    fresh: list[list[int]] = []  # item positions of each new case
    for members in components.values():
        positions = [m[1] for m in members]
        linked = sorted({c for p in positions for c in candidates[p] & eligible},
                        key=lambda c: (states[c] not in OPEN_STATES, c))
        if linked:
            for p in positions:
                target[p] = linked[0]
        else:
            fresh.append(sorted(positions))

    def weight(n: NoticeIn) -> float:
        return pre.weights.get(n.notifier.id, 0.5) if n.notifier and n.notifier.id else 0.5

    under_lock: dict[int, checks.Evidence] = {}  # item position -> evidence checked under the lock

    def evidence_at(positions: list[int]) -> list[checks.Evidence]:
        missing = [p for p in positions if new[p] not in pre.evidence and p not in under_lock]
        under_lock.update(check_once(db_url, items, missing, checkers))
        return [pre.evidence.get(new[p]) or under_lock[p] for p in positions]

    # 5. New cases: checked once (mostly before the lock), routed, prioritised. The evidence is every copy's.
    leads = [items[ps[0]] for ps in fresh]
    evidence_at([p for ps in fresh for p in ps])  # one check for whatever prepare() passed over
    evidence = [checks.merged(evidence_at(ps)) for ps in fresh]
    case_rows = []
    for ps, lead, ev in zip(fresh, leads, evidence):
        members = [items[p] for p in ps]
        source = lead.source
        for n in members:
            source = priority.stronger_source(source, n.source)
        category = next((n.category for n in members if n.category), None) or (ev.text or {}).get("category")
        language = next((n.language for n in members if n.language), None)
        inputs = priority.PriorityInputs(
            source=source, category=category, crisis=ev.crisis, bank_match=ev.bank_match,
            detector_score=ev.detector_score, notice_count=len(members),
            notifier_confidence=max(weight(n) for n in members),
            views=max((n.content.views or 0) for n in members))
        orders = [now for n in members if n.source == "authority_order"]
        case_rows.append({
            "state": "open",
            "queue": route(policy.queue_rules, policy.default_queue, category=category, language=language, source=source),
            "priority": priority.priority(inputs), "source": source, "category": category, "language": language,
            "content_type": lead.content.inferred_type(),
            "deadline": priority.deadline(inputs, now, policy.service_levels_hours, orders[0] if orders else None),
            "evidence": ev.to_dict(), "notice_count": len(members),
            "notifier_confidence": inputs.notifier_confidence, "views": inputs.views,
            "created_at": now, "updated_at": now,
        })
    if case_rows:
        ids = allocate_ids(session, Case.__table__, len(case_rows))
        for row, cid in zip(case_rows, ids):
            row["id"] = cid
        insert_rows(session, Case.__table__, case_rows)
        for ps, cid in zip(fresh, ids):
            for p in ps:
                target[p] = cid

    # 6. The notices themselves.
    notice_ids = [pre.notice_ids[i] for i in new] if pre.notice_ids else allocate_ids(session, Notice.__table__, len(new))
    notice_rows = [pre.rows[i] for i in new]
    for pos, (row, nid) in enumerate(zip(notice_rows, notice_ids)):
        row["case_id"], row["id"] = target[pos], nid
    insert_rows(session, Notice.__table__, notice_rows)
    for pos, nid in enumerate(notice_ids):
        results[new[pos]] = Receipt(nid, target[pos], now, pre.digests[new[pos]], False)

    # 7. Copies and keys the cases did not hold yet. A case holds a copy exactly when it holds the copy's content
    #    key (both are written here, together), so the keys read in step 2 tell which copies are new.
    touched = sorted(set(target.values()))
    content_rows, new_copies = [], []
    key_rows, have_keys = [], {(cid, k) for k, cids in key_cases.items() for cid in cids}
    for pos, (n, ck) in enumerate(zip(items, keys)):
        cid, c = target[pos], n.content
        if (cid, ck.exact[0][1]) not in have_keys:  # exact[0] is the content key
            content_rows.append({
                "case_id": cid, "content_id": c.id, "content_url": c.url, "content_type": c.inferred_type(),
                "content_text": c.text, "uploader_id": c.uploader_id, "md5": c.hashes.get("md5"),
                "sha256": c.hashes.get("sha256"), "pdq": ck.pdq, "video_pdq": ck.video, "text_key": ck.text_key,
                "first_seen_at": now,
            })
            new_copies.append(pos)
        for kind, k in ck.exact:
            if (cid, k) not in have_keys:
                have_keys.add((cid, k))
                key_rows.append({"case_id": cid, "kind": kind, "key": k})
    insert_rows(session, CaseContent.__table__, content_rows)
    insert_rows(session, CaseKey.__table__, key_rows)

    # 8. Cases that already existed: more notices, maybe a stronger source, a nearer deadline.
    fresh_ids = set(target[ps[0]] for ps in fresh)
    old = sorted(set(touched) - fresh_ids)
    # Copies joining an open case bring their evidence, unless the case already holds all their hashes and text.
    old_ids = set(old)
    bringing = [pos for pos in new_copies if target[pos] in old_ids and states[target[pos]] in OPEN_STATES
                and (new[pos] in pre.evidence
                     or any(target[pos] not in key_cases.get(k, ()) for _kind, k in keys[pos].exact[1:]))]
    gained: dict[int, list[checks.Evidence]] = {}
    for pos, ev in zip(bringing, evidence_at(bringing)):
        if ev.matches or ev.text:
            gained.setdefault(target[pos], []).append(ev)
    grown = _add_evidence(session, gained)
    _update_existing(session, [cases[c] for c in old], items, target, weight, policy, now, grown)

    # 9. Decisions that cannot wait: re-uploads of acted-on content, and verified exact matches. Notices on
    #    content already acted on are answered with that decision.
    reuploads: dict[int, list[int]] = {}
    for pos in new_copies:
        if target[pos] in acted and target[pos] not in fresh_ids:
            reuploads.setdefault(target[pos], []).append(pos)
    copies = set(new_copies)
    late = [pos for pos in range(len(items)) if target[pos] in acted and pos not in copies]
    outbox.enqueue(session, [m for pos in late for m in decisions.notifier_messages(
        decision_on(target[pos], items[pos].content.id), [(notice_ids[pos], items[pos].content.id)])], now)
    for cid, ps in reuploads.items():
        decisions.apply_to_reuploads(session, cid, acted[cid], [items[p].content.id for p in ps],
                                     [notice_ids[p] for p in ps], policy=policy, at=now)
    for cid, ev in [(target[ps[0]], ev) for ps, ev in zip(fresh, evidence)] + sorted(grown.items()):
        match = checks.verified_exact_match(ev.to_dict(), policy.auto_action_banks)
        if match is not None:
            decisions.decide_automatically(session, cid, match, policy=policy, at=now)


def _add_evidence(session: Session, gained: dict[int, list[checks.Evidence]]) -> dict[int, checks.Evidence]:
    """Merge what new copies brought into their open cases' evidence; the cases whose evidence grew, and how."""
    grown = {}
    for chunk in chunks(sorted(gained), CHUNK):
        for cid, stored in session.execute(sa.select(Case.id, Case.evidence).where(one_of(session, Case.id, chunk))):
            stored = stored or {}
            before = checks.Evidence(matches=stored.get("matches") or [], text=stored.get("text"),
                                     crisis=bool(stored.get("crisis")))
            after = checks.merged([before, *gained[cid]])
            if after != before:
                grown[cid] = after
    update_rows(session, Case.__table__, [{"id": cid, "evidence": ev.to_dict()} for cid, ev in sorted(grown.items())])
    return grown


def _update_existing(session: Session, cases: list[sa.Row], items: list[NoticeIn], target: dict[int, int],
                     weight, policy: CasePolicy, now: datetime, grown: dict[int, checks.Evidence]) -> None:
    """`cases` are rows of CASE_COLUMNS, read under the lock in step 3; `grown`, evidence new copies added."""
    if not cases:
        return
    by_case: dict[int, list[NoticeIn]] = {}
    for pos, n in enumerate(items):
        by_case.setdefault(target[pos], []).append(n)
    rows = []
    for case in cases:
        members = by_case[case.id]
        source = case.source
        for n in members:
            source = priority.stronger_source(source, n.source)
        ev = grown.get(case.id)
        inputs = priority.PriorityInputs(
            source=source, category=case.category, crisis=ev.crisis if ev else bool(case.crisis),
            bank_match=ev.bank_match if ev else bool(case.bank_match),
            detector_score=ev.detector_score if ev else float(case.detector_score or 0.0),
            notice_count=case.notice_count + len(members),
            notifier_confidence=max([case.notifier_confidence] + [weight(n) for n in members]),
            views=max([case.views] + [(n.content.views or 0) for n in members]))
        order = now if any(n.source == "authority_order" for n in members) else None
        deadline = min(utc(case.deadline), priority.deadline(inputs, utc(case.created_at), policy.service_levels_hours, order))
        queue = case.queue
        if source != case.source and case.state in OPEN_STATES:
            queue = route(policy.queue_rules, policy.default_queue, category=case.category,
                          language=case.language, source=source)
        rows.append({"id": case.id, "source": source, "queue": queue, "priority": priority.priority(inputs),
                     "deadline": deadline, "notice_count": inputs.notice_count,
                     "notifier_confidence": inputs.notifier_confidence, "views": inputs.views, "updated_at": now})
    update_rows(session, Case.__table__, rows)
