"""The FastAPI application: one router per resource, mounted here and nowhere else."""

from __future__ import annotations

from fastapi import FastAPI

from vigil import __version__


def create_app(db_url: str) -> FastAPI:
    from vigil.api import appeals, banks, cases, check, health, ledger, notices, outbox
    from vigil.console import routes as console

    app = FastAPI(title="Vigil", version=__version__)
    app.state.db_url = db_url
    for module in (health, check, banks, notices, cases, appeals, outbox, ledger):
        app.include_router(module.router)
    app.include_router(console.router)
    return app
