"""The reviewer console under /console: server-rendered pages over the same service functions as the API.

The console calls the functions the API routers call (vigil.cases, vigil.review, vigil.banks.service,
vigil.transparency) inside the request's database session, rather than calling the HTTP API over
loopback: one process, one transaction per page, the same rules and the same ledger entries, without
handing a reviewer's API key to the browser. Authorisation uses the same role table (vigil.roles).
"""

from __future__ import annotations

import base64
import json
import logging
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Callable
from urllib.parse import quote, urlsplit

from fastapi import APIRouter, Depends, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException as StarletteHTTPException

from vigil import signals
from vigil.api.deps import get_session
from vigil.banks import service
from vigil.cases import policy, queue
from vigil.cases.queue import decision_view
from vigil.console import charts, queries, signin
from vigil.console import format as fmt
from vigil.console.signin import CSRF_FIELD, SESSION_COOKIE, SIGNIN_CSRF_COOKIE, Reviewer
from vigil.ledger import checkpoint as ledger_checkpoint
from vigil.ledger import log
from vigil.review import appeals, decisions, disclosures
from vigil.review.appeals import appeal_view
from vigil.review.decisions import DecisionIn
from vigil.review.errors import ReviewError
from vigil.roles import Permission
from vigil.signals import InvalidSignal
from vigil.store.banks import Bank
from vigil.store.cases import Appeal, Decision
from vigil.store.ledger import LedgerCheckpoint
from vigil.transparency import report, sor

logger = logging.getLogger("vigil.console")
HERE = Path(__file__).parent
STATIC = HERE / "static"
STATIC_FILES = frozenset(p.name for p in STATIC.iterdir() if p.is_file())

# The console shows reported content: never cache it, never send it as a referrer, never frame it.
# Media comes from the operator's own content URLs, so images and video may load from http(s).
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data: http: https:; media-src 'self' http: https:; "
    "script-src 'self'; style-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'",
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
}


class SignInRequired(Exception):
    """No live session: the browser is sent to the sign-in page and comes back afterwards."""


class PageError(Exception):
    """An error shown as a page: the status, and a sentence saying what to do."""

    def __init__(self, status: int, message: str, back: str = "/console") -> None:
        super().__init__(message)
        self.status, self.message, self.back = status, message, back


HEADINGS = {400: "That did not work", 403: "Not allowed", 404: "Not found", 409: "Someone else got there first",
            422: "Please check the form", 500: "Something went wrong"}


class ConsoleRoute(APIRoute):
    """Turns console errors into pages (the API's error handlers answer JSON) and adds security headers."""

    def get_route_handler(self) -> Callable:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                response = await handler(request)
            except SignInRequired:
                target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                response = RedirectResponse(f"/console/login?next={quote(target, safe='')}", status_code=303)
            except PageError as e:
                response = error_page(request, e.status, e.message, e.back)
            except RequestValidationError as e:
                first = e.errors()[0] if e.errors() else {}
                field = ".".join(str(p) for p in first.get("loc", ())[1:]) or "the form"
                response = error_page(request, 422, f"{field}: {first.get('msg', 'invalid value')}.")
            except StarletteHTTPException as e:
                response = error_page(request, e.status_code, str(e.detail))
            except Exception:
                logger.exception("console page failed: %s", request.url.path)
                response = error_page(request, 500, "The console failed on this page and logged why; nothing was "
                                      "changed. Try again, and tell the operator if it keeps happening.")
            for name, value in SECURITY_HEADERS.items():
                response.headers.setdefault(name, value)
            return response

        return route


router = APIRouter(prefix="/console", include_in_schema=False, route_class=ConsoleRoute)
templates = Jinja2Templates(directory=str(HERE / "templates"))
templates.env.globals["static"] = lambda name: f"/console/static/{name}"
templates.env.filters["when"] = lambda moment: fmt.when(moment) if moment else ""
templates.env.globals["urgent_within"] = int(fmt.URGENT_WITHIN.total_seconds())


def error_page(request: Request, status: int, message: str, back: str = "/console") -> HTMLResponse:
    return templates.TemplateResponse(request, "error.html", {
        "reviewer": None, "status": status, "heading": HEADINGS.get(status, "Error"), "message": message, "back": back,
    }, status_code=status)


# The menu: each page and the permissions that open it (any one of them; none means every signed-in person).
# A person's home is the first page their role opens, in this order.
DASHBOARD = (Permission.REVIEW, Permission.AUDIT)
NAV = (
    ("Queue", "/console/queue", (Permission.REVIEW,)),
    ("Appeals", "/console/appeals", (Permission.REVIEW,)),
    ("File an appeal", "/console/appeals/new", (Permission.NOTIFY,)),
    ("Banks", "/console/banks", (Permission.ADMIN,)),
    ("Dashboard", "/console/dashboard", DASHBOARD),
    ("Settings", "/console/settings", ()),
)


def opens(reviewer: Reviewer, permissions: tuple[Permission, ...]) -> bool:
    return not permissions or any(reviewer.can(p) for p in permissions)


def nav_for(reviewer: Reviewer, path: str) -> list[dict]:
    hrefs = [href for _, href, _ in NAV]
    # The current item is the longest menu path the page is under (/console/appeals/new is not "Appeals").
    current = max((h for h in hrefs if path == h or path.startswith(h + "/")), key=len, default=None)
    return [{"label": label, "href": href, "current": href == current}
            for label, href, permissions in NAV if opens(reviewer, permissions)]


def home_for(reviewer: Reviewer) -> str:
    return next(href for _, href, permissions in NAV if opens(reviewer, permissions))


def render(request: Request, reviewer: Reviewer | None, template: str, status_code: int = 200, **context) -> HTMLResponse:
    context.setdefault("flash", request.query_params.get("flash"))
    nav = nav_for(reviewer, request.url.path) if reviewer else []
    return templates.TemplateResponse(request, template, {"reviewer": reviewer, "nav": nav, **context},
                                      status_code=status_code)


def secure_cookie(request: Request) -> bool:
    return request.url.scheme == "https"


def safe_next(target: str | None) -> str | None:
    """Only local console paths are followed after sign-in (no open redirect)."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith("/console") or target.startswith("//"):
        return None
    return target


# --- who is asking -------------------------------------------------------------------------------------------

def current_reviewer(request: Request, s: Session = Depends(get_session)) -> Reviewer:
    reviewer = signin.reviewer_for(s, request.cookies.get(SESSION_COOKIE))
    if reviewer is None:
        raise SignInRequired()
    return reviewer


def allowed(*permissions: Permission, any_of: bool = False) -> Callable:
    """A dependency admitting a signed-in reviewer whose role has the permissions (all, or any with any_of)."""
    def dependency(reviewer: Reviewer = Depends(current_reviewer)) -> Reviewer:
        test = any if any_of else all
        if not test(reviewer.can(p) for p in permissions):
            raise PageError(403, f"Your role ({reviewer.role}) may not open this page.", home_for(reviewer))
        return reviewer

    return dependency


async def check_csrf(request: Request, reviewer: Reviewer) -> None:
    form = await request.form()
    if not signin.tokens_match(reviewer.csrf_token, form.get(CSRF_FIELD)):
        raise PageError(403, "This form has expired or did not come from the console. Reload the page and try again.")


def posted(*permissions: Permission, any_of: bool = False) -> Callable:
    """Like `allowed`, for form posts: also checks the synchroniser token."""
    gate = allowed(*permissions, any_of=any_of)

    async def dependency(request: Request, reviewer: Reviewer = Depends(gate)) -> Reviewer:
        await check_csrf(request, reviewer)
        return reviewer

    return dependency


def see_other(url: str, flash: str | None = None) -> RedirectResponse:
    if flash:
        url += ("&" if "?" in url else "?") + "flash=" + quote(flash)
    return RedirectResponse(url, status_code=303)


# --- sign-in, sign-out, settings, static ------------------------------------------------------------------------

@router.get("/static/{name}")
def static(name: str) -> FileResponse:
    if name not in STATIC_FILES:
        raise PageError(404, "No such console file.")
    return FileResponse(STATIC / name, headers={"Cache-Control": "public, max-age=3600"})


@router.get("")
@router.get("/")
def index(request: Request, s: Session = Depends(get_session)) -> Response:
    reviewer = signin.reviewer_for(s, request.cookies.get(SESSION_COOKIE))
    return see_other(home_for(reviewer) if reviewer else "/console/login")


@router.get("/login")
def signin_form(request: Request, next: str | None = None) -> HTMLResponse:
    token = signin.new_token()
    response = render(request, None, "signin.html", csrf_token=token, next=safe_next(next) or "",
                      lifetime_hours=int(signin.SESSION_LIFETIME.total_seconds() // 3600))
    response.set_cookie(SIGNIN_CSRF_COOKIE, token, httponly=True, samesite="strict", secure=secure_cookie(request),
                        path="/console/login")
    return response


@router.post("/login")
async def signin_submit(request: Request, s: Session = Depends(get_session)) -> Response:
    form = await request.form()
    if not signin.tokens_match(request.cookies.get(SIGNIN_CSRF_COOKIE), form.get(CSRF_FIELD)):
        raise PageError(403, "The sign-in form expired or did not come from this console. Reload it and try again.",
                        "/console/login")
    api_key = form.get("api_key")
    token = signin.sign_in(s, api_key) if isinstance(api_key, str) and api_key.strip() else None
    if token is None:
        fresh = signin.new_token()
        response = render(request, None, "signin.html", status_code=401, csrf_token=fresh,
                          next=safe_next(str(form.get("next") or "")) or "",
                          error="That API key is unknown or revoked. Check it, or ask an admin for a key.",
                          lifetime_hours=int(signin.SESSION_LIFETIME.total_seconds() // 3600))
        response.set_cookie(SIGNIN_CSRF_COOKIE, fresh, httponly=True, samesite="strict",
                            secure=secure_cookie(request), path="/console/login")
        return response
    reviewer = signin.reviewer_for(s, token)
    target = safe_next(str(form.get("next") or "")) or home_for(reviewer)
    response = see_other(target)
    response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="strict", secure=secure_cookie(request),
                        path="/console", max_age=int(signin.SESSION_LIFETIME.total_seconds()))
    response.delete_cookie(SIGNIN_CSRF_COOKIE, path="/console/login")
    return response


@router.post("/logout")
async def signout(request: Request, reviewer: Reviewer = Depends(current_reviewer),
                  s: Session = Depends(get_session)) -> Response:
    await check_csrf(request, reviewer)
    signin.sign_out(s, request.cookies.get(SESSION_COOKIE))
    response = see_other("/console/login")
    response.delete_cookie(SESSION_COOKIE, path="/console", httponly=True, samesite="strict",
                           secure=secure_cookie(request))
    return response


@router.get("/settings")
def settings_form(request: Request, reviewer: Reviewer = Depends(current_reviewer)) -> HTMLResponse:
    return render(request, reviewer, "settings.html")


@router.post("/settings")
async def settings_submit(request: Request, reviewer: Reviewer = Depends(posted()),
                          s: Session = Depends(get_session)) -> Response:
    form = await request.form()
    signin.set_preferences(s, reviewer.key_id, blur_media=form.get("blur_media") == "on",
                           greyscale_media=form.get("greyscale_media") == "on")
    return see_other("/console/settings", "Settings saved.")


# --- banks (admins) -------------------------------------------------------------------------------------------

BANK_PAGE = 100
MAX_IMPORT_BYTES = 200 * 1024 * 1024  # a full shared list (GIFCT-scale CSV) fits; beyond that use `vigil bank import`


def bank_by_id(s: Session, bank_id: int):
    bank = s.get(Bank, bank_id)
    if bank is None:
        raise PageError(404, f"There is no bank with id {bank_id}.", "/console/banks")
    return bank


def bank_page(request: Request, reviewer: Reviewer, s: Session, bank, after: int = 0, status_code: int = 200,
              **extra) -> HTMLResponse:
    entries = service.list_entries(s, bank, limit=BANK_PAGE, after_id=after)
    next_after = entries[-1].id if len(entries) == BANK_PAGE else None
    return render(request, reviewer, "bank.html", status_code=status_code, bank=bank, entries=entries, after=after,
                  next_after=next_after, page_size=BANK_PAGE, signal_types=signals.names(), **extra)


@router.get("/banks")
def banks_list(request: Request, reviewer: Reviewer = Depends(allowed(Permission.ADMIN)),
               s: Session = Depends(get_session)) -> HTMLResponse:
    return render(request, reviewer, "banks.html", banks=service.list_banks(s), counts=service.entry_counts(s))


@router.get("/banks/{bank_id}")
def bank_view(request: Request, bank_id: int, after: int = 0, reviewer: Reviewer = Depends(allowed(Permission.ADMIN)),
              s: Session = Depends(get_session)) -> HTMLResponse:
    return bank_page(request, reviewer, s, bank_by_id(s, bank_id), after=max(0, after))


@router.post("/banks/{bank_id}/entries")
async def bank_add_entry(request: Request, bank_id: int, reviewer: Reviewer = Depends(posted(Permission.ADMIN)),
                         s: Session = Depends(get_session)) -> Response:
    form = await request.form()
    bank = bank_by_id(s, bank_id)
    labels = {k: str(form.get(f"label_{k}") or "") for k in service.GIFCT_LABELS}
    try:
        entry = service.add_entry(s, bank, str(form.get("signal_type") or ""), str(form.get("value") or ""),
                                  labels=labels, source=str(form.get("source") or ""), note=str(form.get("note") or ""))
    except (service.BankError, InvalidSignal) as e:
        return bank_page(request, reviewer, s, bank, status_code=422, error=f"The entry was not added: {e}")
    return see_other(f"/console/banks/{bank.id}", f"Entry {entry.id} saved.")


@router.post("/banks/{bank_id}/entries/{entry_id}/enabled")
async def bank_toggle_entry(request: Request, bank_id: int, entry_id: int,
                            reviewer: Reviewer = Depends(posted(Permission.ADMIN)),
                            s: Session = Depends(get_session)) -> Response:
    form = await request.form()
    bank = bank_by_id(s, bank_id)
    try:
        entry = service.get_entry(s, entry_id)
    except service.UnknownEntry as e:
        raise PageError(404, str(e), f"/console/banks/{bank.id}") from None
    if entry.bank_id != bank.id:
        raise PageError(404, f"Entry {entry_id} is not in bank {bank.name}.", f"/console/banks/{bank.id}")
    enabled = form.get("enabled") == "on"
    service.set_entry_enabled(s, entry_id, enabled)
    return see_other(f"/console/banks/{bank.id}", f"Entry {entry_id} {'enabled' if enabled else 'disabled'}.")


@router.post("/banks/{bank_id}/import")
async def bank_import(request: Request, bank_id: int, reviewer: Reviewer = Depends(posted(Permission.ADMIN)),
                      s: Session = Depends(get_session)) -> Response:
    form = await request.form()
    bank = bank_by_id(s, bank_id)
    upload = form.get("file")
    list_format = str(form.get("fmt") or "")
    if upload is None or isinstance(upload, str):
        return bank_page(request, reviewer, s, bank, status_code=422, error="Choose a file to import.")
    data = await upload.read(MAX_IMPORT_BYTES + 1)
    if len(data) > MAX_IMPORT_BYTES:
        return bank_page(request, reviewer, s, bank, status_code=413,
                         error=f"The file is over {MAX_IMPORT_BYTES // 2**20} MB; import it with `vigil bank import`.")
    try:
        imported = service.import_entries(s, bank, list_format, data)
    except ValueError as e:
        return bank_page(request, reviewer, s, bank, status_code=422, error=f"Nothing was imported: {e}")
    return bank_page(request, reviewer, s, bank, report=imported,
                     flash=f"Imported {upload.filename or 'the file'}: {imported.added} added, {imported.updated} updated.")


# --- queue, cases, decisions ------------------------------------------------------------------------------------

ACTION_LABELS = (("remove", "Remove"), ("disable", "Disable in territories"), ("restrict", "Restrict visibility"),
                 ("label", "Label"), ("no_action", "No action"))
DECISION_FIELDS = ("action", "territorial_scope", "ground_type", "ground_reference", "explanation")


def case_helpers(at: datetime) -> dict:
    """Template helpers that share one 'now', so every countdown on a page agrees."""
    return {
        "left": lambda deadline: fmt.time_left(fmt.parse(deadline), at),
        "urgent": lambda c: fmt.is_urgent(c["source"], fmt.parse(c["deadline"]), at),
    }


def review_error_page(e) -> PageError:
    """A refused review step as a page (raising it rolls the request's transaction back)."""
    return PageError(e.status if 400 <= e.status < 500 else 400, str(e), "/console/queue")


@router.get("/queue")
def queue_page(request: Request, reviewer: Reviewer = Depends(allowed(Permission.REVIEW)),
               s: Session = Depends(get_session)) -> HTMLResponse:
    at = fmt.now()
    f = queries.QueueFilter.from_query(request.query_params)
    cases = queue.list_cases(s, queue=f.queue, source=f.source, category=f.category, language=f.language, at=at)
    return render(request, reviewer, "queue.html", cases=cases, total=queries.count_open(s, f),
                  options=queries.filter_options(s), filters=f.__dict__, filter_query=f.as_query(),
                  names=queries.key_names(s, [c["claimed_by"] for c in cases]),
                  evidence=queries.evidence_of(s, [c["id"] for c in cases]), **case_helpers(at))


@router.get("/next")
def next_case(request: Request, skip: int | None = None, reviewer: Reviewer = Depends(allowed(Permission.REVIEW)),
              s: Session = Depends(get_session)) -> Response:
    f = queries.QueueFilter.from_query(request.query_params)
    case_id = queries.next_case_id(s, reviewer.key_id, fmt.now(), f, skip)
    if case_id is None:
        return see_other("/console/queue", "No other open case is waiting.")
    return see_other(f"/console/cases/{case_id}")


def load_case(s: Session, case_id: int) -> dict:
    try:
        return queue.get_case(s, case_id)
    except ReviewError as e:
        raise PageError(e.status, f"There is no case #{case_id}.", "/console/queue") from None


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
def case_view(request: Request, case_id: int, reviewer: Reviewer = Depends(allowed(Permission.REVIEW)),
              s: Session = Depends(get_session)) -> HTMLResponse:
    return case_page(request, reviewer, s, case_id)


@router.post("/cases/{case_id}/claim")
async def case_claim(request: Request, case_id: int, reviewer: Reviewer = Depends(posted(Permission.REVIEW)),
                     s: Session = Depends(get_session)) -> Response:
    try:
        queue.claim(s, case_id, reviewer.key_id, policy=policy.current())
    except ReviewError as e:
        s.rollback()
        return case_page(request, reviewer, s, case_id, status_code=e.status, error=str(e))
    return see_other(f"/console/cases/{case_id}", f"Case #{case_id} is yours for {policy.current().claim_minutes} minutes.")


@router.post("/cases/{case_id}/release")
async def case_release(request: Request, case_id: int, reviewer: Reviewer = Depends(posted(Permission.REVIEW)),
                       s: Session = Depends(get_session)) -> Response:
    try:
        queue.release(s, case_id, reviewer.key_id)
    except ReviewError as e:
        raise review_error_page(e) from None
    return see_other("/console/queue", f"Case #{case_id} is back in the queue.")


async def decision_form(request: Request) -> dict:
    form = await request.form()
    return {name: str(form.get(name) or "") for name in DECISION_FIELDS}


def decision_in(d: dict):
    scope = [part for part in (p.strip() for p in d["territorial_scope"].split(",")) if part]
    return DecisionIn(action=d["action"], ground_type=d["ground_type"], ground_reference=d["ground_reference"],
                      explanation=d["explanation"], territorial_scope=scope).validated()


def preview_statements(c: dict, copies: list[dict], d, at: datetime) -> tuple[list[tuple[str, str]], list[str]]:
    """The statements of reasons this decision will produce (as JSON text, one per copy), and any reason one
    would be refused.

    The facts come from decisions.facts_for, as when the decision is recorded; only the puid is a stand-in.
    """
    out, problems = [], []
    for m in copies:
        statement = sor.build_statement(decisions.facts_for(
            d, puid=f"pending-c{m['id']}", content_type=m["type"], first_seen_at=fmt.parse(m["first_seen_at"]),
            source=c["source"], language=c["language"], evidence=c.get("evidence"), automated=False, at=at))
        problems += [f"{m['content_id']}: {p}" for p in sor.validate_statement(statement)]
        out.append((m["content_id"], json.dumps(statement, indent=2, sort_keys=True, ensure_ascii=False)))
    return out, problems


@router.post("/cases/{case_id}/preview")
async def case_preview(request: Request, case_id: int, reviewer: Reviewer = Depends(posted(Permission.REVIEW)),
                       s: Session = Depends(get_session)) -> HTMLResponse:
    raw = await decision_form(request)
    try:
        d = decision_in(raw)
    except ReviewError as e:
        return case_page(request, reviewer, s, case_id, status_code=422, d=raw, error=f"{e} Nothing was decided yet.")
    at = fmt.now()
    c = load_case(s, case_id)
    context = case_context(s, reviewer, c, at)
    statements, problems = ([], []) if d.action == "no_action" else preview_statements(c, context["copies"], d, at)
    if problems:
        return case_page(request, reviewer, s, case_id, status_code=422, d=raw,
                         error="The statement of reasons would be refused: " + "; ".join(problems))
    return render(request, reviewer, "preview.html", d={**raw, "scope": d.territorial_scope},
                  action_label=dict(ACTION_LABELS)[d.action], statements=statements,
                  no_statement="A decision to take no action restricts nothing, so no statement of reasons is owed "
                  "(DSA Art. 17(1)); the notifiers are told the outcome.", **context)


@router.post("/cases/{case_id}/decision")
async def case_decide(request: Request, case_id: int, reviewer: Reviewer = Depends(posted(Permission.REVIEW)),
                      s: Session = Depends(get_session)) -> Response:
    raw = await decision_form(request)
    try:
        decision = decisions.decide(s, case_id, decision_in(raw), reviewer.key_id, policy=policy.current())
    except ReviewError as e:
        s.rollback()
        return case_page(request, reviewer, s, case_id, status_code=e.status, d=raw, error=str(e))
    return see_other("/console/queue", f"Case #{case_id} decided: {decision.action} (decision {decision.id}).")


@router.post("/cases/{case_id}/disclosures")
async def case_disclosure(request: Request, case_id: int, reviewer: Reviewer = Depends(posted(Permission.REVIEW)),
                          s: Session = Depends(get_session)) -> Response:
    form = await request.form()
    try:
        d = disclosures.request(s, case_id, str(form.get("authority") or ""), str(form.get("legal_basis") or ""),
                                str(form.get("reason") or ""), reviewer.key_id)
    except ReviewError as e:
        s.rollback()
        return case_page(request, reviewer, s, case_id, status_code=e.status, error=str(e))
    return see_other(f"/console/cases/{case_id}", f"Disclosure {d.id} is waiting for a second approver.")


@router.post("/disclosures/{disclosure_id}/approve")
async def disclosure_approve(request: Request, disclosure_id: int,
                             reviewer: Reviewer = Depends(posted(Permission.APPROVE_DISCLOSURE)),
                             s: Session = Depends(get_session)) -> Response:
    try:
        d = disclosures.decide(s, disclosure_id, reviewer.key_id, reviewer.role, True)
    except ReviewError as e:
        raise review_error_page(e) from None
    return see_other(f"/console/cases/{d.case_id}", f"Disclosure {d.id} approved and sent.")


# --- appeals --------------------------------------------------------------------------------------------------

@router.get("/appeals")
def appeals_list(request: Request, reviewer: Reviewer = Depends(allowed(Permission.REVIEW)),
                 s: Session = Depends(get_session)) -> HTMLResponse:
    return render(request, reviewer, "appeals.html",
                  appeals=appeals.list_appeals(s, state="open", decidable_by=reviewer.key_id, limit=500))


@router.get("/appeals/new")
def appeal_new(request: Request, decision: str = "", reviewer: Reviewer = Depends(allowed(Permission.NOTIFY))) -> HTMLResponse:
    return render(request, reviewer, "appeal_new.html", d={"decision_id": decision})


@router.post("/appeals")
async def appeal_file(request: Request, reviewer: Reviewer = Depends(posted(Permission.NOTIFY)),
                      s: Session = Depends(get_session)) -> Response:
    form = await request.form()
    d = {name: str(form.get(name) or "") for name in ("decision_id", "appellant", "explanation")}
    try:
        if not d["decision_id"].strip().isdigit():
            raise ReviewError(422, "invalid_decision", "the decision id is a whole number", "decision_id")
        appeal = appeals.lodge(s, int(d["decision_id"]), d["appellant"], d["explanation"])
    except ReviewError as e:
        s.rollback()
        return render(request, reviewer, "appeal_new.html", status_code=e.status, d=d, error=str(e))
    return see_other("/console/appeals/new", f"Appeal {appeal.id} filed against decision {appeal.decision_id}.")


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
def appeal_view_page(request: Request, appeal_id: int, reviewer: Reviewer = Depends(allowed(Permission.REVIEW)),
                     s: Session = Depends(get_session)) -> HTMLResponse:
    return appeal_page(request, reviewer, s, appeal_id)


@router.post("/appeals/{appeal_id}/decision")
async def appeal_decide(request: Request, appeal_id: int, reviewer: Reviewer = Depends(posted(Permission.REVIEW)),
                        s: Session = Depends(get_session)) -> Response:
    form = await request.form()
    d = {name: str(form.get(name) or "") for name in ("outcome", "outcome_explanation", *DECISION_FIELDS)}
    try:
        new = decision_in(d) if d["outcome"] == "reversed" and d["action"] else None
        appeal = appeals.decide_appeal(s, appeal_id, d["outcome"], d["outcome_explanation"], reviewer.key_id,
                                       policy=policy.current(), new_decision=new)
    except ReviewError as e:
        s.rollback()
        return appeal_page(request, reviewer, s, appeal_id, status_code=e.status, d=d, error=str(e))
    return see_other("/console/appeals", f"Appeal {appeal.id} {appeal.state}.")


# --- dashboard ------------------------------------------------------------------------------------------------

DASHBOARD_DAYS = (1, 7, 30, 90, 365)
FIGURES_TTL_SECONDS = 15.0


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "no data"
    minutes = seconds / 60
    return f"{minutes:.0f} min" if minutes < 120 else f"{minutes / 60:.1f} h"


@router.get("/dashboard")
def dashboard(request: Request, days: int = 30, reviewer: Reviewer = Depends(allowed(*DASHBOARD, any_of=True)),
              s: Session = Depends(get_session)) -> HTMLResponse:
    days = days if days in DASHBOARD_DAYS else 30
    at = fmt.now()
    head = log.size(s)
    latest = ledger_checkpoint.latest_checkpoint(s)
    # The report's figures cost O(notices in the period), so each process keeps them for FIGURES_TTL_SECONDS,
    # and recomputes at once when the ledger grew (a new decision shows on the next view).
    cache: dict = request.app.state.__dict__.setdefault("console_figures", {})
    hit = cache.get(days)
    if hit is not None and hit[1] == head and time.monotonic() - hit[0] < FIGURES_TTL_SECONDS:
        f = hit[2]
    else:
        # Live figures: everything in the ledger up to its head (an unsigned, unsaved stand-in for a checkpoint).
        f = report.compute(s, (at - timedelta(days=days - 1)).date(), at.date(),
                           checkpoint=LedgerCheckpoint(tree_size=head, root_hash=b""))
        cache[days] = (time.monotonic(), head, f)
    sources: dict[str, int] = {src: sum(cats.values()) for src, cats in f.notices.items()}
    categories: dict[str, int] = {}
    for cats in f.notices.values():
        for cat, n in cats.items():
            categories[cat] = categories.get(cat, 0) + n
    t = f.time_to_act
    tta_rows = [(label, seconds / 60) for label, seconds in (("all notices", t["median_seconds"]),
                ("authority orders", t["authority_orders_median_seconds"])) if seconds is not None]
    order_minutes = fmt.URGENT_WITHIN.total_seconds() / 60  # the removal-order deadline, drawn as a line
    scale = max([order_minutes * 1.25, *(v for _, v in tta_rows)])
    open_counts = queries.open_against_deadlines(s, at, fmt.URGENT_WITHIN)
    share = t["authority_orders_within_one_hour_share"]
    return render(
        request, reviewer, "dashboard.html", f=f, days=days, head=head, checkpoint=latest, duration=duration,
        ttl=FIGURES_TTL_SECONDS,
        checkpoint_root=base64.b64encode(latest.root_hash).decode() if latest else "",
        by_source=charts.bar_chart("Notices by source", sorted(sources.items(), key=lambda kv: -kv[1])),
        by_category=charts.bar_chart("Notices by category", sorted(categories.items(), key=lambda kv: -kv[1])),
        time_to_act=charts.bar_chart("Median time to act (minutes)", tta_rows, unit=" min", scale_to=scale,
                                     css={label: "late" for label, v in tta_rows if v > order_minutes}),
        deadline_x=round(charts.PLOT_WIDTH * order_minutes / scale, 1),
        within_hour="no authority orders" if share is None else
        f"{100 * share:.0f} % ({t['authority_orders_within_one_hour']} of {t['authority_orders']})",
        open_deadlines=charts.bar_chart("Open cases against their deadlines now", list(open_counts.items()),
                                        css={"overdue": "late"}),
        automation=charts.Share("Automated decisions", "automated", "human", f.decisions["automated"], f.decisions["total"]),
        reversal=charts.Share("Appeal reversal rate", "reversed", "upheld", f.appeals["reversed"], f.appeals["decided"]),
    )
