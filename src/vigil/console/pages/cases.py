"""The queue and its cases: listing, the next case, one case with its evidence, claiming, previewing and making a
decision, and disclosures to authorities (asked by a reviewer, approved by a second, senior one)."""

from __future__ import annotations

import json
from datetime import datetime

import sqlalchemy as sa
from fastapi import Depends, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from vigil.cases import queue
from vigil.console import format as fmt
from vigil.console import queries
from vigil.console.signin import Reviewer
from vigil.console.web import PageError, allowed, console_router, posted, render, see_other
from vigil.errors import NotFound, VigilError
from vigil.evidence import Evidence
from vigil.review import decisions, disclosures, views
from vigil.review.decisions import DecisionIn
from vigil.roles import Permission
from vigil.schema import MAX_ID, Id
from vigil.store.cases import Notice
from vigil.transparency import sor
from vigil.vocabulary import Action
from vigil.web.deps import CurrentRuntime, DbSession

router = console_router()

ACTION_LABELS = ((Action.REMOVE, "Remove"), (Action.DISABLE, "Disable in territories"),
                 (Action.RESTRICT, "Restrict visibility"), (Action.LABEL, "Label"), (Action.NO_ACTION, "No action"))
DECISION_FIELDS = ("action", "territorial_scope", "ground_type", "ground_reference", "explanation")


def case_helpers(at: datetime) -> dict:
    """Template helpers that share one 'now', so every countdown on a page agrees."""
    return {
        "left": lambda deadline: fmt.time_left(fmt.parse(deadline), at),
        "urgent": lambda c: fmt.is_urgent(c["source"], fmt.parse(c["deadline"]), at),
    }


@router.get("/queue")
def queue_page(request: Request, s: DbSession, reviewer: Reviewer = Depends(allowed(Permission.REVIEW))) -> HTMLResponse:
    at = fmt.now()
    f = queries.QueueFilter.from_query(request.query_params)
    cases = queue.list_cases(s, queue=f.queue, source=f.source, category=f.category, language=f.language, at=at)
    return render(request, reviewer, "queue.html", cases=cases, total=queries.count_open(s, f),
                  options=queries.filter_options(s), filters=f.__dict__, filter_query=f.as_query(),
                  names=queries.key_names(s, [c["claimed_by"] for c in cases]),
                  evidence=queries.evidence_of(s, [c["id"] for c in cases]), **case_helpers(at))


@router.get("/next")
def next_case(request: Request, s: DbSession, skip: int | None = Query(None, ge=1, le=MAX_ID),
              reviewer: Reviewer = Depends(allowed(Permission.REVIEW))) -> Response:
    f = queries.QueueFilter.from_query(request.query_params)
    case_id = queries.next_case_id(s, reviewer.key_id, fmt.now(), f, skip)
    if case_id is None:
        return see_other("/console/queue", s, reviewer, "No other open case is waiting.")
    return see_other(f"/console/cases/{case_id}")


def load_case(s: Session, case_id: int) -> dict:
    try:
        return views.get_case(s, case_id)
    except NotFound:
        raise PageError(404, f"There is no case #{case_id}.", "/console/queue") from None


def case_context(s: Session, reviewer: Reviewer, c: dict, at: datetime) -> dict:
    copies = [*c["contents"], *c["near_duplicates"]]
    primary_text = next((m["text"] for m in copies if m["text"]), None)
    verdict = (c.get("evidence") or {}).get("text") or {}
    names = queries.key_names(s, [c["claimed_by"], *(d["reviewer_key_id"] for d in c["decisions"]),
                                  *(a["decided_by"] for a in c["appeals"]),
                                  *(x["requested_by"] for x in c["disclosures"]),
                                  *(x["approved_by"] for x in c["disclosures"])])
    return {
        "c": c, "copies": copies, "primary_text": primary_text, "names": names,
        "spans": fmt.highlight(primary_text, list(verdict.get("hits") or [])) if primary_text else [],
        "hit_text": lambda h: fmt.hit_text(primary_text or "", h),
        "sources": queries.entry_sources(s, (c.get("evidence") or {}).get("matches") or []),
        "mine": c["claimed_by"] == reviewer.key_id,
        "claimed_by_other": c["claimed_by"] is not None and c["claimed_by"] != reviewer.key_id,
        "can_approve": reviewer.can(Permission.APPROVE_DISCLOSURE),
        "actions": ACTION_LABELS, **case_helpers(at),
    }


def case_page(request: Request, reviewer: Reviewer, s: Session, case_id: int, status_code: int = 200,
              d: dict | None = None, error: str | None = None) -> HTMLResponse:
    at = fmt.now()
    c = load_case(s, case_id)
    return render(request, reviewer, "case.html", status_code=status_code, error=error,
                  d=d or {}, **case_context(s, reviewer, c, at))


@router.get("/cases/{case_id}")
def case_view(request: Request, case_id: Id, s: DbSession,
              reviewer: Reviewer = Depends(allowed(Permission.REVIEW))) -> HTMLResponse:
    return case_page(request, reviewer, s, case_id)


@router.post("/cases/{case_id}/claim")
async def case_claim(request: Request, case_id: Id, s: DbSession, rt: CurrentRuntime,
                     reviewer: Reviewer = Depends(posted(Permission.REVIEW))) -> Response:
    try:
        queue.claim(s, case_id, reviewer.key_id, policy=rt.policy)
    except VigilError as e:
        s.rollback()
        return case_page(request, reviewer, s, case_id, status_code=e.status, error=str(e))
    return see_other(f"/console/cases/{case_id}", s, reviewer,
                     f"Case #{case_id} is yours for {rt.policy.claim_minutes} minutes.")


@router.post("/cases/{case_id}/release")
async def case_release(request: Request, case_id: Id, s: DbSession,
                       reviewer: Reviewer = Depends(posted(Permission.REVIEW))) -> Response:
    queue.release(s, case_id, reviewer.key_id)
    return see_other("/console/queue", s, reviewer, f"Case #{case_id} is back in the queue.")


async def decision_form(request: Request) -> dict:
    form = await request.form()
    return {name: str(form.get(name) or "") for name in DECISION_FIELDS}


def decision_in(d: dict) -> DecisionIn:
    scope = [part for part in (p.strip() for p in d["territorial_scope"].split(",")) if part]
    return DecisionIn(action=d["action"], ground_type=d["ground_type"], ground_reference=d["ground_reference"],
                      explanation=d["explanation"], territorial_scope=scope).validated()


def preview_statements(s: Session, c: dict, copies: list[dict], d: DecisionIn,
                       at: datetime) -> tuple[list[tuple[str, str]], list[str]]:
    """The statements of reasons this decision will produce (as JSON text, one per copy), and any reason one
    would be refused.

    The facts come from decisions.facts_for, as when the decision is recorded; only the puid is a stand-in.
    """
    out, problems = [], []
    evidence = Evidence.model_validate(c.get("evidence") or {})
    notices = list(s.scalars(sa.select(Notice).where(Notice.case_id == c["id"])))
    identity = decisions.source_identity(c["source"], notices)
    for m in copies:
        statement = sor.build_statement(decisions.facts_for(
            d, puid=f"pending-c{m['id']}", content_type=m["type"], first_seen_at=fmt.parse(m["first_seen_at"]),
            posted_at=fmt.parse(m["posted_at"]) if m.get("posted_at") else None, source=c["source"],
            source_identity=identity, language=c["language"], evidence=evidence, automated=False, at=at))
        problems += [f"{m['content_id']}: {p}" for p in sor.validate_statement(statement)]
        out.append((m["content_id"], json.dumps(statement, indent=2, sort_keys=True, ensure_ascii=False)))
    return out, problems


@router.post("/cases/{case_id}/preview")
async def case_preview(request: Request, case_id: Id, s: DbSession,
                       reviewer: Reviewer = Depends(posted(Permission.REVIEW))) -> HTMLResponse:
    raw = await decision_form(request)
    try:
        d = decision_in(raw)
    except VigilError as e:
        return case_page(request, reviewer, s, case_id, status_code=422, d=raw, error=f"{e} Nothing was decided yet.")
    at = fmt.now()
    c = load_case(s, case_id)
    context = case_context(s, reviewer, c, at)
    statements, problems = ([], []) if d.action == Action.NO_ACTION else preview_statements(s, c, context["copies"], d, at)
    if problems:
        return case_page(request, reviewer, s, case_id, status_code=422, d=raw,
                         error="The statement of reasons would be refused: " + "; ".join(problems))
    return render(request, reviewer, "preview.html", d={**raw, "scope": d.territorial_scope},
                  action_label=dict(ACTION_LABELS)[d.action], statements=statements,
                  no_statement="A decision to take no action restricts nothing, so no statement of reasons is owed "
                  "(DSA Art. 17(1)); the notifiers are told the outcome.", **context)


@router.post("/cases/{case_id}/decision")
async def case_decide(request: Request, case_id: Id, s: DbSession, rt: CurrentRuntime,
                      reviewer: Reviewer = Depends(posted(Permission.REVIEW))) -> Response:
    raw = await decision_form(request)
    try:
        decision = decisions.decide(s, case_id, decision_in(raw), reviewer.key_id, policy=rt.policy)
    except VigilError as e:
        s.rollback()
        return case_page(request, reviewer, s, case_id, status_code=e.status, d=raw, error=str(e))
    return see_other("/console/queue", s, reviewer, f"Case #{case_id} decided: {decision.action} (decision {decision.id}).")


@router.post("/cases/{case_id}/disclosures")
async def case_disclosure(request: Request, case_id: Id, s: DbSession,
                          reviewer: Reviewer = Depends(posted(Permission.REVIEW))) -> Response:
    form = await request.form()
    try:
        d = disclosures.request(s, case_id, str(form.get("authority") or ""), str(form.get("legal_basis") or ""),
                                str(form.get("reason") or ""), reviewer.key_id)
    except VigilError as e:
        s.rollback()
        return case_page(request, reviewer, s, case_id, status_code=e.status, error=str(e))
    return see_other(f"/console/cases/{case_id}", s, reviewer, f"Disclosure {d.id} is waiting for a second approver.")


@router.post("/disclosures/{disclosure_id}/approve")
async def disclosure_approve(request: Request, disclosure_id: Id, s: DbSession,
                             reviewer: Reviewer = Depends(posted(Permission.APPROVE_DISCLOSURE))) -> Response:
    try:
        d = disclosures.decide(s, disclosure_id, reviewer.key_id, reviewer.role, True)
    except VigilError as e:
        raise PageError(e.status, str(e), "/console/queue") from None
    return see_other(f"/console/cases/{d.case_id}", s, reviewer, f"Disclosure {d.id} approved and sent.")
