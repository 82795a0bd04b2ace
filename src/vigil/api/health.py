"""Liveness, readiness and Prometheus metrics.

/healthz says the process answers. /readyz says it can do its job: the database answers, its schema
is at the newest migration, and the match index is loaded (or why it is not). /metrics counts
requests and their latency per route and status, and reports index sizes (vigil.web.metrics); it
needs an auditor or admin key, because bank names and traffic are the operator's business, unless
the operator scrapes a separate metrics address (`metrics_address`, served by `vigil serve`).
"""

from __future__ import annotations

import sqlalchemy as sa
from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from vigil.api.auth import public, require
from vigil.roles import Permission
from vigil.runtime import Runtime
from vigil.store.db import Database, alembic_config
from vigil.web.deps import CurrentRuntime, app_metrics
from vigil.web.metrics import CONTENT_TYPE, Metrics

router = APIRouter(tags=["health"])


class Health(BaseModel):
    status: str


class Readiness(BaseModel):
    status: str
    checks: dict[str, str]


@router.get("/healthz", response_model=Health, summary="The process is up", dependencies=[Depends(public)])
async def healthz() -> Health:
    return Health(status="ok")


def _database_checks(db: Database) -> dict[str, str]:
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    checks: dict[str, str] = {}
    try:
        with db.engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
            current = set(MigrationContext.configure(conn).get_current_heads())
        checks["database"] = "ok"
    except sa.exc.SQLAlchemyError as exc:
        checks["database"] = f"unreachable: {type(exc).__name__}"
        checks["migrations"] = "unknown"
        return checks
    heads = set(ScriptDirectory.from_config(alembic_config(db.url)).get_heads())
    checks["migrations"] = "ok" if current == heads else f"not at head (at {sorted(current) or 'none'}; run `vigil serve`, which migrates)"
    return checks


@router.get("/readyz", response_model=Readiness, summary="The database answers, migrations are at head, indexes are loaded",
            responses={503: {"model": Readiness, "description": "Not ready; `checks` says why"}},
            dependencies=[Depends(public)])
async def readyz(rt: CurrentRuntime):
    checks = await run_in_threadpool(_database_checks, rt.db)
    checks["index"] = rt.index.state
    ready = all(v == "ok" for v in checks.values())
    body = Readiness(status="ready" if ready else "not_ready", checks=checks)
    return JSONResponse(body.model_dump(), status_code=200 if ready else 503)


def index_sizes(rt: Runtime) -> dict[str, int]:
    matcher = rt.matcher_if_ready()
    return dict(matcher.stats()) if matcher is not None else {}


@router.get("/metrics", summary="Prometheus metrics (every worker's, in one set of series)",
            responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}},
            dependencies=[Depends(require(Permission.AUDIT))])
async def metrics(rt: CurrentRuntime, m: Metrics = Depends(app_metrics)) -> Response:
    text = await run_in_threadpool(m.render, index_sizes(rt))
    return Response(text, media_type=CONTENT_TYPE)
