"""Signing in and out, personal settings, and the console's static files."""

from __future__ import annotations

from fastapi import Depends, Request
from fastapi.responses import FileResponse, HTMLResponse, Response

from vigil.console import signin
from vigil.console.signin import CSRF_FIELD, SESSION_COOKIE, SIGNIN_CSRF_COOKIE, Reviewer
from vigil.console.web import (STATIC, STATIC_FILES, PageError, check_csrf, console_router, current_reviewer,
                               home_for, posted, render, safe_next, secure_cookie, see_other)
from vigil.web.deps import DbSession

router = console_router()
MAX_SIGNIN_FORM_BYTES = 4096
"""The sign-in form holds a key, a token and a path: anything larger is refused before it is parsed."""


@router.get("/static/{name}")
def static(name: str) -> FileResponse:
    if name not in STATIC_FILES:
        raise PageError(404, "No such console file.")
    return FileResponse(STATIC / name, headers={"Cache-Control": "public, max-age=3600"})


@router.get("")
@router.get("/")
def index(request: Request, s: DbSession) -> Response:
    reviewer = signin.reviewer_for(s, request.cookies.get(SESSION_COOKIE))
    return see_other(home_for(reviewer) if reviewer else "/console/login")


def _signin_page(request: Request, status_code: int = 200, error: str | None = None, next_path: str = "") -> HTMLResponse:
    token = signin.new_token()
    response = render(request, None, "signin.html", status_code=status_code, csrf_token=token, next=next_path,
                      error=error, lifetime_hours=int(signin.SESSION_LIFETIME.total_seconds() // 3600))
    response.set_cookie(SIGNIN_CSRF_COOKIE, token, httponly=True, samesite="strict", secure=secure_cookie(request),
                        path="/console/login")
    return response


@router.get("/login")
def signin_form(request: Request, next: str | None = None) -> HTMLResponse:
    return _signin_page(request, next_path=safe_next(next) or "")


@router.post("/login")
async def signin_submit(request: Request, s: DbSession) -> Response:
    form = await request.form(max_files=0, max_fields=10, max_part_size=MAX_SIGNIN_FORM_BYTES)
    if not signin.tokens_match(request.cookies.get(SIGNIN_CSRF_COOKIE), form.get(CSRF_FIELD)):
        raise PageError(403, "The sign-in form expired or did not come from this console. Reload it and try again.",
                        "/console/login")
    api_key = form.get("api_key")
    token = signin.sign_in(s, api_key) if isinstance(api_key, str) and api_key.strip() else None
    if token is None:
        return _signin_page(request, 401, "That API key is unknown or revoked. Check it, or ask an admin for a key.",
                            safe_next(str(form.get("next") or "")) or "")
    reviewer = signin.reviewer_for(s, token)
    assert reviewer is not None
    response = see_other(safe_next(str(form.get("next") or "")) or home_for(reviewer))
    response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="strict", secure=secure_cookie(request),
                        path="/console", max_age=int(signin.SESSION_LIFETIME.total_seconds()))
    response.delete_cookie(SIGNIN_CSRF_COOKIE, path="/console/login")
    return response


@router.post("/logout")
async def signout(request: Request, s: DbSession, reviewer: Reviewer = Depends(current_reviewer)) -> Response:
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
async def settings_submit(request: Request, s: DbSession, reviewer: Reviewer = Depends(posted())) -> Response:
    form = await request.form()
    signin.set_preferences(s, reviewer.key_id, blur_media=form.get("blur_media") == "on",
                           greyscale_media=form.get("greyscale_media") == "on")
    return see_other("/console/settings", s, reviewer, "Settings saved.")
