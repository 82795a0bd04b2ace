"""Liveness, readiness and Prometheus metrics.

/healthz says the process answers. /readyz says it can do its job: the database answers, its schema
is at the newest migration, and the match index is loaded. /metrics counts requests and their
latency per route and status, and reports index sizes. Metrics are per worker process: with
several workers each scrape sees one of them (label `pid` tells which).
"""

from __future__ import annotations

import os
import threading
import time
from bisect import bisect_left
from collections import defaultdict

import sqlalchemy as sa
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from vigil.api.auth import public
from vigil.store.db import engine_for

router = APIRouter(tags=["health"], dependencies=[Depends(public)])

BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    """Request counts and latency histograms keyed by (method, route template, status)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.counts: dict[tuple[str, str, str], list[int]] = defaultdict(lambda: [0] * (len(BUCKETS) + 1))
        self.sums: dict[tuple[str, str, str], float] = defaultdict(float)

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        key = (method, route, str(status))
        with self.lock:
            self.counts[key][bisect_left(BUCKETS, seconds)] += 1
            self.sums[key] += seconds

    def render(self, gauges: dict[str, int]) -> str:
        pid = os.getpid()
        out = [
            "# HELP vigil_http_requests_total Requests answered, by method, route and status.",
            "# TYPE vigil_http_requests_total counter",
        ]
        with self.lock:
            items = [(k, list(v), self.sums[k]) for k, v in sorted(self.counts.items())]
        for (method, route, status), counts, _ in items:
            out.append(f'vigil_http_requests_total{{method="{method}",route="{route}",status="{status}",pid="{pid}"}} {sum(counts)}')
        out += ["# HELP vigil_http_request_duration_seconds Time from request to response, by route and status.",
                "# TYPE vigil_http_request_duration_seconds histogram"]
        for (method, route, status), counts, total in items:
            labels = f'method="{method}",route="{route}",status="{status}",pid="{pid}"'
            running = 0
            for bound, n in zip(BUCKETS, counts):
                running += n
                out.append(f'vigil_http_request_duration_seconds_bucket{{{labels},le="{bound}"}} {running}')
            out.append(f'vigil_http_request_duration_seconds_bucket{{{labels},le="+Inf"}} {sum(counts)}')
            out.append(f"vigil_http_request_duration_seconds_sum{{{labels}}} {total:.6f}")
            out.append(f"vigil_http_request_duration_seconds_count{{{labels}}} {sum(counts)}")
        out += ["# HELP vigil_index_size Entries held by the in-memory match index, by part.",
                "# TYPE vigil_index_size gauge"]
        for name, value in sorted(gauges.items()):
            out.append(f'vigil_index_size{{name="{name}",pid="{pid}"}} {value}')
        return "\n".join(out) + "\n"


class MetricsMiddleware:
    """Pure ASGI (no per-request objects beyond a closure), so measuring costs microseconds."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app, self.metrics = app, metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def send_wrapped(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapped)
        finally:
            route = scope.get("route")
            path = getattr(route, "path", None) or "unmatched"
            self.metrics.observe(scope["method"], path, status, time.perf_counter() - start)


def install(app: FastAPI) -> None:
    app.state.metrics = Metrics()
    app.add_middleware(MetricsMiddleware, metrics=app.state.metrics)


class Health(BaseModel):
    status: str


class Readiness(BaseModel):
    status: str
    checks: dict[str, str]


@router.get("/healthz", response_model=Health, summary="The process is up")
async def healthz() -> Health:
    return Health(status="ok")


def _database_checks(db_url: str) -> dict[str, str]:
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    from vigil.store.db import alembic_config

    checks: dict[str, str] = {}
    try:
        with engine_for(db_url).connect() as conn:
            conn.execute(sa.text("SELECT 1"))
            current = set(MigrationContext.configure(conn).get_current_heads())
        checks["database"] = "ok"
    except sa.exc.SQLAlchemyError as exc:
        checks["database"] = f"unreachable: {type(exc).__name__}"
        checks["migrations"] = "unknown"
        return checks
    heads = set(ScriptDirectory.from_config(alembic_config(db_url)).get_heads())
    checks["migrations"] = "ok" if current == heads else f"not at head (at {sorted(current) or 'none'}; run `vigil serve`, which migrates)"
    return checks


@router.get("/readyz", response_model=Readiness, summary="The database answers, migrations are at head, indexes are loaded",
            responses={503: {"model": Readiness, "description": "Not ready; `checks` says why"}})
async def readyz(request: Request):
    from vigil.api.check import matcher_state

    checks = await run_in_threadpool(_database_checks, request.app.state.db_url)
    checks["index"] = matcher_state(request.app)
    ready = all(v == "ok" for v in checks.values())
    body = Readiness(status="ready" if ready else "not_ready", checks=checks)
    return JSONResponse(body.model_dump(), status_code=200 if ready else 503)


@router.get("/metrics", response_class=PlainTextResponse, summary="Prometheus metrics for this worker process",
            responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}})
async def metrics(request: Request) -> PlainTextResponse:
    from vigil.api.check import index_stats

    text = request.app.state.metrics.render(index_stats(request.app))
    return PlainTextResponse(text, media_type="text/plain; version=0.0.4")
