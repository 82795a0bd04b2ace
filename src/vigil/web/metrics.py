"""Prometheus metrics: request counts and latency per route and status, and the match index's sizes.

Declared once, in `Metrics`, through prometheus-client. Each app gets its own registry (tests build many apps
in one process). Under `vigil serve --workers N`, prometheus-client's multiprocess mode is on
(PROMETHEUS_MULTIPROC_DIR, set by vigil.server in each worker before anything imports the client): every
worker writes its samples to files there, and a scrape of any worker, or of the metrics address, reads them
all, so N workers report one set of series.
"""

from __future__ import annotations

import os
import time
from typing import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest, multiprocess
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from starlette.types import ASGIApp, Message, Receive, Scope, Send

BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
CONTENT_TYPE = CONTENT_TYPE_LATEST
MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"


def multiprocess_dir() -> str | None:
    return os.environ.get(MULTIPROCESS_ENV)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("vigil_http_requests", "Requests answered, by method, route and status.",
                                ["method", "route", "status"], registry=self.registry)
        self.latency = Histogram("vigil_http_request_duration_seconds", "Time from request to response, by route and status.",
                                 ["method", "route", "status"], buckets=BUCKETS, registry=self.registry)
        self.index_size = Gauge("vigil_index_size", "Entries held by the in-memory match index, by part.", ["name"],
                                multiprocess_mode="livemax", registry=self.registry)

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(method, route, str(status)).observe(seconds)

    def render(self, index_sizes: dict[str, int]) -> bytes:
        for name, value in index_sizes.items():
            self.index_size.labels(name).set(value)
        return exposition(self.registry)


def exposition(registry: CollectorRegistry | None = None) -> bytes:
    """The text of a scrape: every worker's samples in multiprocess mode, else this registry's."""
    folder = multiprocess_dir()
    if folder:
        merged = CollectorRegistry()
        multiprocess.MultiProcessCollector(merged, path=folder)
        return generate_latest(merged)
    assert registry is not None, "without multiprocess mode, render a registry"
    return generate_latest(registry)


class MetricsMiddleware:
    """Pure ASGI (no per-request objects beyond a closure), so measuring costs microseconds."""

    def __init__(self, app: ASGIApp, observe: Callable[[str, str, int, float], None]) -> None:
        self.app, self.observe = app, observe

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
            self.observe(scope["method"], path, status, time.perf_counter() - start)
