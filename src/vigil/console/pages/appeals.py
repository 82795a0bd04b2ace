"""Appeals: the open ones a reviewer may decide, filing one for a user, and deciding one."""

from __future__ import annotations

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from vigil.cases.queue import decision_view
from vigil.console import queries
from vigil.console.pages.cases import ACTION_LABELS, DECISION_FIELDS, decision_in
from vigil.console.signin import Reviewer
from vigil.console.web import PageError, allowed, console_router, posted, render, see_other
from vigil.errors import InvalidInput, VigilError
from vigil.review import appeals
from vigil.review.appeals import appeal_view
from vigil.roles import Permission
from vigil.schema import Id
from vigil.store.cases import Appeal, Decision
from vigil.vocabulary import AppealState
from vigil.web.deps import CurrentRuntime, DbSession

router = console_router()


@router.get("/appeals")
def appeals_list(request: Request, s: DbSession, reviewer: Reviewer = Depends(allowed(Permission.REVIEW))) -> HTMLResponse:
    return render(request, reviewer, "appeals.html",
                  appeals=appeals.list_appeals(s, state=AppealState.OPEN, decidable_by=reviewer.key_id, limit=500))


@router.get("/appeals/new")
def appeal_new(request: Request, decision: str = "", reviewer: Reviewer = Depends(allowed(Permission.NOTIFY))) -> HTMLResponse:
    return render(request, reviewer, "appeal_new.html", d={"decision_id": decision})


@router.post("/appeals")
async def appeal_file(request: Request, s: DbSession, reviewer: Reviewer = Depends(posted(Permission.NOTIFY))) -> Response:
    form = await request.form()
    d = {name: str(form.get(name) or "") for name in ("decision_id", "appellant", "explanation")}
    try:
        if not d["decision_id"].strip().isdigit() or len(d["decision_id"].strip()) > 18:
            raise InvalidInput("the decision id is a whole number", code="invalid_decision", field="decision_id")
        appeal = appeals.lodge(s, int(d["decision_id"]), d["appellant"], d["explanation"])
    except VigilError as e:
        s.rollback()
        return render(request, reviewer, "appeal_new.html", status_code=e.status, d=d, error=str(e))
    return see_other("/console/appeals/new", s, reviewer, f"Appeal {appeal.id} filed against decision {appeal.decision_id}.")


def appeal_page(request: Request, reviewer: Reviewer, s: Session, appeal_id: int, status_code: int = 200,
                d: dict | None = None, error: str | None = None) -> HTMLResponse:
    row = s.get(Appeal, appeal_id)
    if row is None:
        raise PageError(404, f"There is no appeal {appeal_id}.", "/console/appeals")
    a = appeal_view(row)
    original = decision_view(s.get(Decision, row.decision_id))
    return render(request, reviewer, "appeal.html", status_code=status_code, a=a, original=original,
                  own_decision=original["reviewer_key_id"] == reviewer.key_id, d=d or {}, error=error,
                  actions=ACTION_LABELS, names=queries.key_names(s, [a["decided_by"], original["reviewer_key_id"]]))


@router.get("/appeals/{appeal_id}")
def appeal_view_page(request: Request, appeal_id: Id, s: DbSession,
                     reviewer: Reviewer = Depends(allowed(Permission.REVIEW))) -> HTMLResponse:
    return appeal_page(request, reviewer, s, appeal_id)


@router.post("/appeals/{appeal_id}/decision")
async def appeal_decide(request: Request, appeal_id: Id, s: DbSession, rt: CurrentRuntime,
                        reviewer: Reviewer = Depends(posted(Permission.REVIEW))) -> Response:
    form = await request.form()
    d = {name: str(form.get(name) or "") for name in ("outcome", "outcome_explanation", *DECISION_FIELDS)}
    try:
        new = decision_in(d) if d["outcome"] == AppealState.REVERSED and d["action"] else None
        appeal = appeals.decide_appeal(s, appeal_id, d["outcome"], d["outcome_explanation"], reviewer.key_id,
                                       policy=rt.policy, new_decision=new)
    except VigilError as e:
        s.rollback()
        return appeal_page(request, reviewer, s, appeal_id, status_code=e.status, d=d, error=str(e))
    return see_other("/console/appeals", s, reviewer, f"Appeal {appeal.id} {appeal.state}.")
