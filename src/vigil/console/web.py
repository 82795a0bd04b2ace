"""What every console page shares: the route class (errors as pages, security headers), templates, the menu,
who is signed in, CSRF checks, and redirects that carry a status message in the server-side session.

The console calls the functions the API routers call (vigil.cases, vigil.review, vigil.banks.service,
vigil.transparency) inside the request's database session, rather than calling the HTTP API over
loopback: one process, one transaction per page, the same rules and the same ledger entries, without
handing a reviewer's API key to the browser. Authorisation uses the same role table (vigil.roles).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Callable
from urllib.parse import quote, urlsplit

from fastapi import APIRouter, Depends, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException as StarletteHTTPException

from vigil.console import format as fmt
from vigil.console import signin
from vigil.console.signin import CSRF_FIELD, SESSION_COOKIE, Reviewer
from vigil.errors import VigilError
from vigil.roles import Permission
from vigil.templates import environment
from vigil.web.deps import DbSession

logger = logging.getLogger("vigil.console")
HERE = Path(__file__).parent
STATIC = HERE / "static"
STATIC_FILES = frozenset(p.name for p in STATIC.iterdir() if p.is_file())

# The console shows reported content: never cache it, never send it as a referrer, never frame it. Media is
# never loaded from a notice's URL (a notifier chose it: it would reveal each reviewer's address to them), so
# images and video may come from this origin only.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; media-src 'self'; "
    "script-src 'self'; style-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'",
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
}


class SignInRequired(Exception):
    """No live session: the browser is sent to the sign-in page and comes back afterwards."""


class PageError(VigilError):
    """An error shown as a page, with where to go back to."""

    def __init__(self, status: int, message: str, back: str = "/console") -> None:
        super().__init__(message, status=status)
        self.back = back


HEADINGS = {400: "That did not work", 403: "Not allowed", 404: "Not found", 409: "Someone else got there first",
            413: "Too large", 422: "Please check the form", 500: "Something went wrong", 503: "Not ready"}


class ConsoleRoute(APIRoute):
    """Turns errors into pages (the API's handlers answer JSON) and adds the security headers: the console's
    one error handler, for VigilError and everything else."""

    def get_route_handler(self) -> Callable:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                response = await handler(request)
            except SignInRequired:
                target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                response = RedirectResponse(f"/console/login?next={quote(target, safe='')}", status_code=303)
            except VigilError as e:
                back = e.back if isinstance(e, PageError) else "/console"
                response = error_page(request, e.status if 400 <= e.status < 600 else 400, e.message, back)
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


def console_router() -> APIRouter:
    return APIRouter(prefix="/console", include_in_schema=False, route_class=ConsoleRoute)


templates = environment(HERE / "templates")
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
    """A page. Its status message comes from the session (set by `see_other`), never from the URL."""
    context.setdefault("flash", reviewer.flash if reviewer else None)
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

def current_reviewer(request: Request, s: DbSession) -> Reviewer:
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


def see_other(url: str, s: Session | None = None, reviewer: Reviewer | None = None,
              flash: str | None = None) -> RedirectResponse:
    """Redirect after a post; `flash` is kept in the reviewer's session and shown by the next page."""
    if flash and s is not None and reviewer is not None:
        signin.set_flash(s, reviewer, flash)
    return RedirectResponse(url, status_code=303)
