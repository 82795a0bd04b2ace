"""The FastAPI application: one router per resource, mounted here and nowhere else."""

from __future__ import annotations

import os
from contextlib import asynccontextmanager
from dataclasses import dataclass

from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts

from vigil import __version__
from vigil.api import errors
from vigil.api.auth import DEFAULT_RATE_LIMIT, SECURITY_SCHEME, Authenticator, RateLimit, RateLimiter, route_permissions

MAX_MEDIA_ENV = "VIGIL_MAX_MEDIA_BYTES"
RATE_LIMIT_ENV = "VIGIL_RATE_LIMIT"
TEXT_EMBEDDINGS_ENV = "VIGIL_TEXT_EMBEDDINGS"
DEFAULT_MAX_MEDIA_BYTES = 50 * 1024 * 1024  # issue 4: over-size media gets 413, default maximum 50 MB


@dataclass(frozen=True)
class ServiceSettings:
    max_media_bytes: int = DEFAULT_MAX_MEDIA_BYTES
    rate_limit: RateLimit | None = RateLimit.parse(DEFAULT_RATE_LIMIT)
    text_embeddings: bool = True  # off: lexicon and context only, for a latency bound without the model

    @classmethod
    def from_env(cls) -> ServiceSettings:
        return cls(
            max_media_bytes=int(os.environ.get(MAX_MEDIA_ENV, DEFAULT_MAX_MEDIA_BYTES)),
            rate_limit=RateLimit.parse(os.environ.get(RATE_LIMIT_ENV, DEFAULT_RATE_LIMIT)),
            text_embeddings=os.environ.get(TEXT_EMBEDDINGS_ENV, "on").strip().lower() not in ("off", "0", "false", "no"),
        )


OUTBOX_WORKER_ENV = "VIGIL_OUTBOX_WORKER"
RETENTION_SWEEP_ENV = "VIGIL_RETENTION_SWEEP"
STATEMENTS_INTERVAL_SECONDS = 30.0


def _off(value: str | None) -> bool:
    return (value or "").strip().lower() in ("off", "0", "false", "no")


@asynccontextmanager
async def lifespan(app: FastAPI):
    """Background work of a worker process: the match index, webhook delivery, statement submission and the
    retention sweep (hourly; VIGIL_RETENTION_SWEEP=off leaves it to `vigil retention purge`).

    Delivery runs when VIGIL_WEBHOOK_URL is set (VIGIL_OUTBOX_WORKER=off leaves it to `vigil outbox deliver`);
    statements go to the Transparency Database when VIGIL_TDB_URL and VIGIL_TDB_TOKEN are set. Several workers
    may run both: the outbox claims each message for one worker, and statements are claimed the same way.
    """
    import threading

    from vigil import outbox
    from vigil.api import check
    from vigil.review import retention
    from vigil.transparency import submit

    check.start_matcher(app)
    db_url = app.state.db_url
    stops: list[threading.Event] = []
    if os.environ.get(outbox.WEBHOOK_URL_ENV) and not _off(os.environ.get(OUTBOX_WORKER_ENV)):
        stops.append(outbox.start_worker(db_url)[1])
    endpoint, token = os.environ.get(submit.ENDPOINT_ENV), os.environ.get(submit.TOKEN_ENV)
    if endpoint and token:
        stop = threading.Event()
        threading.Thread(target=submit.submit_periodically, args=(db_url, endpoint, token, STATEMENTS_INTERVAL_SECONDS, stop),
                         name="vigil-statements", daemon=True).start()
        stops.append(stop)
    if not _off(os.environ.get(RETENTION_SWEEP_ENV)):
        stop = threading.Event()
        threading.Thread(target=retention.sweep_periodically, args=(db_url, retention.INTERVAL_SECONDS, stop),
                         name="vigil-retention", daemon=True).start()
        stops.append(stop)
    try:
        yield
    finally:
        for stop in stops:
            stop.set()


def create_app(db_url: str, settings: ServiceSettings | None = None) -> FastAPI:
    from vigil.api import appeals, banks, cases, check, health, ledger, notices, outbox
    from vigil.console import routes as console

    settings = settings or ServiceSettings.from_env()
    app = FastAPI(
        title="Vigil",
        version=__version__,
        lifespan=lifespan,
        description="Check content against hash banks and text detection, curate banks, handle notices, cases and "
        "appeals, and read the decision ledger. Authenticate with `Authorization: Bearer <key>` "
        "(keys from `vigil keys create`). Every error is `{\"error\": {\"code\", \"message\", \"field\"}}`.",
    )
    app.state.db_url = db_url
    app.state.settings = settings
    app.state.authenticator = Authenticator(db_url)
    app.state.rate_limiter = RateLimiter(settings.rate_limit)
    errors.install(app)
    health.install(app)
    for module in (health, check, banks, notices, cases, appeals, outbox, ledger):
        app.include_router(module.router)
    app.include_router(console.router)
    document_errors(app)
    add_components(app, check.openapi_components())
    return app


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

    app.openapi = openapi


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


def app_from_env() -> FastAPI:
    """Factory for `uvicorn --factory` worker processes: the database comes from VIGIL_DATABASE_URL."""
    from vigil.config import database_url

    return create_app(database_url())
