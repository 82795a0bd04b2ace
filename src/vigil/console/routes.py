"""The reviewer console under /console: server-rendered pages over the same service functions as the API.

The console calls the functions the API routers call (vigil.cases, vigil.review, vigil.banks.service,
vigil.transparency) inside the request's database session, rather than calling the HTTP API over
loopback: one process, one transaction per page, the same rules and the same ledger entries, without
handing a reviewer's API key to the browser. Authorisation uses the same role table (vigil.roles).
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable
from urllib.parse import quote, urlsplit

from fastapi import APIRouter, Depends, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session

from vigil.api.deps import get_session
from vigil.console import signin
from vigil.console.signin import CSRF_FIELD, SESSION_COOKIE, SIGNIN_CSRF_COOKIE, Reviewer
from vigil.roles import Permission

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
            422: "Please check the form"}


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
                response = error_page(request, 422, f"{field}: {first.get('msg', 'invalid value')}.", "javascript:history.back()")
            for name, value in SECURITY_HEADERS.items():
                response.headers.setdefault(name, value)
            return response

        return route


router = APIRouter(prefix="/console", include_in_schema=False, route_class=ConsoleRoute)
templates = Jinja2Templates(directory=str(HERE / "templates"))
templates.env.globals["static"] = lambda name: f"/console/static/{name}"


def error_page(request: Request, status: int, message: str, back: str = "/console") -> HTMLResponse:
    return templates.TemplateResponse(request, "error.html", {
        "reviewer": None, "status": status, "heading": HEADINGS.get(status, "Error"), "message": message, "back": back,
    }, status_code=status)


NAV = (
    ("Queue", "/console/queue", Permission.REVIEW),
    ("Appeals", "/console/appeals", Permission.REVIEW),
    ("File an appeal", "/console/appeals/new", Permission.NOTIFY),
    ("Banks", "/console/banks", Permission.ADMIN),
    ("Dashboard", "/console/dashboard", None),
    ("Settings", "/console/settings", None),
)


def can_see_dashboard(reviewer: Reviewer) -> bool:
    return reviewer.can(Permission.REVIEW) or reviewer.can(Permission.AUDIT)


def nav_for(reviewer: Reviewer, path: str) -> list[dict]:
    items = []
    for label, href, permission in NAV:
        allowed = can_see_dashboard(reviewer) if href.endswith("/dashboard") else (
            permission is None or reviewer.can(permission))
        if allowed:
            items.append({"label": label, "href": href, "current": path == href or path.startswith(href + "/")
                          and href != "/console/appeals"})
    return items


def home_for(reviewer: Reviewer) -> str:
    for _, href, permission in NAV:
        if permission is not None and reviewer.can(permission):
            return href
    return "/console/dashboard" if can_see_dashboard(reviewer) else "/console/settings"


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
