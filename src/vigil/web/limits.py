"""Request body caps: every route's body is capped (413) before it is read, and routes that read bodies
themselves (media, lists) enforce their own cap while reading, not after."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import AsyncIterator, Awaitable, Callable

from fastapi import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from vigil.errors import TooLarge


def too_large(limit: int, field: str | None) -> TooLarge:
    return TooLarge(f"The request is larger than the limit of {limit:,} bytes for this route (without a valid key "
                    f"or session, {UNAUTHENTICATED_BYTES:,}); send less, or hashes instead of media.", field=field)


def check_declared_length(request: Request, limit: int, field: str | None = None) -> None:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise too_large(limit, field)


async def limited_stream(request: Request, limit: int, field: str | None = None) -> AsyncIterator[bytes]:
    """The body's chunks, raising 413 as soon as more than `limit` bytes have arrived."""
    check_declared_length(request, limit, field)
    seen = 0
    async for chunk in request.stream():
        seen += len(chunk)
        if seen > limit:
            raise too_large(limit, field)
        yield chunk


async def read_body(request: Request, limit: int, field: str | None = None) -> bytes:
    return b"".join([chunk async for chunk in limited_stream(request, limit, field)])


UNAUTHENTICATED_BYTES = 8 * 1024
"""What a request that carries no valid key or console session may send: enough for a sign-in form, nothing more."""


@dataclass(frozen=True)
class BodyCap:
    """The largest body a path may receive (first matching prefix wins), and whether its caller must be known first."""

    prefix: str
    limit: int


class BodyLimitMiddleware:
    """Every request body has a cap, checked before it is read: a declared Content-Length over the cap is answered 413
    at once, and a streamed (chunked) body is counted as it arrives and cut off at the cap.

    Bodies above UNAUTHENTICATED_BYTES are only accepted from a caller `known(scope)` says is signed in (a live API
    key, or a console session), so an unauthenticated client never costs a worker more than a few KB of memory,
    whatever route it aims at. Routes read bodies after this check, so FastAPI's body parsing (which runs before
    route dependencies such as the key check) never sees more than the cap allows.
    """

    def __init__(self, app: ASGIApp, caps: list[BodyCap], default: int,
                 known: Callable[[Scope], Awaitable[bool]]) -> None:
        self.app, self.caps, self.default, self.known = app, caps, default, known

    def cap_for(self, path: str) -> int:
        return next((c.limit for c in self.caps if path.startswith(c.prefix)), self.default)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS", "DELETE"):
            await self.app(scope, receive, send)
            return
        limit = self.cap_for(scope["path"])
        if limit > UNAUTHENTICATED_BYTES and not await self.known(scope):
            limit = UNAUTHENTICATED_BYTES
        declared = next((v for k, v in scope["headers"] if k == b"content-length"), None)
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await self.refuse(scope, receive, send, limit)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise too_large(limit, None)
            return message

        await self.app(scope, counted, send)

    async def refuse(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        error = too_large(limit, None)
        if scope["path"].startswith("/console"):
            body = (f"<!doctype html><title>Too large</title><p>{error.message}</p>").encode()
            kind = b"text/html; charset=utf-8"
        else:
            body = json.dumps({"error": {"code": error.code, "message": error.message, "field": None}}).encode()
            kind = b"application/json"
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", kind), (b"content-length", str(len(body)).encode()),
                                (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})
