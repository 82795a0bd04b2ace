"""Request ids and access logs: every request gets an id (the client's X-Request-ID if it sent a sane one),
carried by every log line of the request (vigil.logs) and returned in the X-Request-ID header. Under
`vigil serve` the answering worker's number comes back in X-Vigil-Worker (how load spreads over workers)."""

from __future__ import annotations

import logging
import re
import secrets
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from vigil.logs import request_id

HEADER = b"x-request-id"
WORKER_HEADER = b"x-vigil-worker"
SANE_ID = re.compile(rb"^[A-Za-z0-9._:-]{1,128}$")
access = logging.getLogger("vigil.access")


class RequestIdMiddleware:
    """Pure ASGI: an id per request, its own access log line (method, path, status, milliseconds)."""

    def __init__(self, app: ASGIApp, worker: int | None = None) -> None:
        self.app = app
        self.extra = [(WORKER_HEADER, str(worker).encode())] if worker is not None else []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = next((v for k, v in scope["headers"] if k == HEADER), b"")
        rid = given.decode() if SANE_ID.match(given) else secrets.token_hex(8)
        token = request_id.set(rid)
        start, status = time.perf_counter(), 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (HEADER, rid.encode()), *self.extra]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            access.info("%s %s %d %.1f ms", scope["method"], scope["path"], status, (time.perf_counter() - start) * 1000)
            request_id.reset(token)
