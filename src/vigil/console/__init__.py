"""The reviewer console under /console: server-rendered pages over the same service functions as the API."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI

from vigil.console.pages import account, appeals, banks, cases, dashboard


def install(app: FastAPI) -> None:
    """Mount the console's pages on `app`, with the state they keep (the dashboard's figures cache)."""
    app.state.dashboard_figures = dashboard.FiguresCache()
    router = APIRouter()
    for page in (account, cases, appeals, banks, dashboard):
        router.include_router(page.router)
    app.include_router(router)
