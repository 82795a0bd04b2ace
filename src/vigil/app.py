"""The HTTP service: the API's routers and the reviewer console, on one runtime.

`create_app(runtime)` builds the ASGI app; its lifespan starts the runtime's background loops and stops
them on shutdown. `vigil serve` builds one runtime per worker process (vigil.server).
"""

from __future__ import annotations

from contextlib import asynccontextmanager
from http.cookies import SimpleCookie
from typing import AsyncIterator

from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from starlette.concurrency import run_in_threadpool

from vigil import __version__, console
from vigil.api import appeals, banks, cases, check, errors, health, ledger, notices, outbox
from vigil.api.auth import SECURITY_SCHEME, route_permissions
from vigil.api.schemas import openapi_components
from vigil.api.check import TEXT_BODY_ALLOWANCE
from vigil.cases.notice import MAX_MEDIA_BASE64
from vigil.console import signin
from vigil.console.pages.banks import MAX_IMPORT_BYTES as CONSOLE_IMPORT_BYTES
from vigil.runtime import Runtime
from vigil.web.limits import BodyCap, BodyLimitMiddleware
from vigil.web.metrics import Metrics, MetricsMiddleware
from vigil.web.requests import RequestIdMiddleware

MB = 1024 * 1024
FORM_BYTES = 1 * MB
"""The default cap: decisions, appeals, disclosures, bank entries and console forms are a few KB."""
NOTICE_BYTES = MAX_MEDIA_BASE64 + MB
NOTICE_BATCH_BYTES = 64 * MB
"""A batch is 1,000 notices of hashes and text: media belongs in single notices (or is hashed by the sender)."""
BANK_IMPORT_BYTES = 256 * MB

ROUTERS = (health, check, banks, notices, cases, appeals, outbox, ledger)
TAGS = [
    {"name": "check", "description": "Hash, match and read content in one call: the platform's upload-time check."},
    {"name": "banks", "description": "Hash banks (admin): entries with GIFCT labels, import and export in shared formats."},
    {"name": "notices", "description": "Notices (DSA Art. 16) and removal orders (TCO), stored before they are answered."},
    {"name": "cases", "description": "The review queue: cases, claims, decisions, disclosures to authorities."},
    {"name": "appeals", "description": "Appeals (DSA Art. 20), decided by a person other than the decider."},
    {"name": "outbox", "description": "Webhooks to the platform (admin): deliveries, dead letters, retries."},
    {"name": "ledger", "description": "The verifiable decision log: signed checkpoints, proofs, leaves."},
    {"name": "health", "description": "Liveness, readiness and metrics."},
]


def create_app(runtime: Runtime, *, start: bool = True, worker: int | None = None) -> FastAPI:
    """The service over `runtime`. With `start`, the app's lifespan runs the runtime's background loops.

    `worker` is the worker's number under `vigil serve`, returned in every answer's X-Vigil-Worker header.
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if start:
            runtime.start()
        try:
            yield
        finally:
            if start:
                runtime.stop()

    app = FastAPI(
        title="Vigil",
        version=__version__,
        lifespan=lifespan,
        openapi_tags=TAGS,
        generate_unique_id_function=lambda route: f"{route.tags[0]}_{route.name}" if route.tags else route.name,
        description="Check content against hash banks and text detection, curate banks, handle notices, cases and "
        "appeals, and read the decision ledger. Authenticate with `Authorization: Bearer <key>` "
        "(keys from `vigil keys create`). Every error is `{\"error\": {\"code\", \"message\", \"field\"}}`; the "
        "`X-Request-ID` header of every answer names the server's log lines for the request.",
    )
    app.state.runtime = runtime
    app.state.metrics = Metrics()
    errors.install(app)
    app.add_middleware(BodyLimitMiddleware, caps=body_caps(runtime), default=FORM_BYTES, known=known_caller(runtime))
    app.add_middleware(MetricsMiddleware, observe=app.state.metrics.observe)
    app.add_middleware(RequestIdMiddleware, worker=worker)
    for module in ROUTERS:
        app.include_router(module.router)
    console.install(app)
    document_errors(app)
    add_components(app, openapi_components())
    return app


def body_caps(runtime: Runtime) -> list[BodyCap]:
    """Each route's largest body (first matching prefix); everything else gets FORM_BYTES."""
    media = runtime.settings.max_media_bytes * 4 // 3 + TEXT_BODY_ALLOWANCE
    return [BodyCap("/v1/check", media), BodyCap("/v1/notices/batch", NOTICE_BATCH_BYTES),
            BodyCap("/v1/notices", NOTICE_BYTES), BodyCap("/v1/banks", BANK_IMPORT_BYTES),
            BodyCap("/console/banks", CONSOLE_IMPORT_BYTES + MB)]


def known_caller(runtime: Runtime):
    """Whether a request comes from a live API key or a live console session (looked up before its body is read)."""

    def has_session(token: str) -> bool:
        with runtime.db.session() as s:
            return signin.reviewer_for(s, token) is not None

    async def known(scope) -> bool:
        headers = dict(scope["headers"])
        scheme, _, key = headers.get(b"authorization", b"").decode("latin-1").partition(" ")
        if scheme.lower() == "bearer" and key.strip():
            found, principal = runtime.authenticator.cached(key.strip())
            if not found:
                principal = await run_in_threadpool(runtime.authenticator.principal, key.strip())
            return principal is not None
        cookies = SimpleCookie(headers.get(b"cookie", b"").decode("latin-1"))
        token = cookies.get(signin.SESSION_COOKIE)
        return token is not None and await run_in_threadpool(has_session, token.value)

    return known


def add_components(app: FastAPI, schemas: dict[str, dict]) -> None:
    """Put schemas of bodies that routes parse themselves into /openapi.json's components."""
    generate = app.openapi

    def openapi() -> dict:
        if app.openapi_schema is None:
            spec = generate()
            components = spec.setdefault("components", {}).setdefault("schemas", {})
            for name, schema in schemas.items():
                components.setdefault(name, schema)
            spec["components"].setdefault("securitySchemes", {}).update(SECURITY_SCHEME)
            for path, operations in spec.get("paths", {}).items():
                for method, operation in operations.items():
                    if (path, method) in app.state.protected_operations:
                        operation["security"] = [{"bearer": []}]
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def document_errors(app: FastAPI) -> None:
    """Declare the common error answers on every route, so /openapi.json describes what clients really get."""
    app.state.protected_operations = set()
    for route in api_routes(app):
        statuses = [422] if route.dependant.path_params or route.dependant.query_params or route.body_field else []
        if route_permissions(route):
            statuses += [401, 403, 429]
            app.state.protected_operations.update((route.path_format, m.lower()) for m in route.methods)
        for status, spec in errors.responses(*statuses).items():
            # The route's response models were fixed when it was built, so refer to the schema directly.
            route.responses.setdefault(status, {"description": spec["description"], "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/ErrorResponse"}}}})


def api_routes(app: FastAPI) -> list:
    """Every API route of the app with its effective path and dependencies, routers included."""
    return [ctx for ctx in iter_route_contexts(app.routes) if isinstance(ctx.original_route, APIRoute)]
