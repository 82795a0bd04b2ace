"""Reading request bodies with a size cap enforced while reading, not after."""

from __future__ import annotations

from typing import AsyncIterator

from fastapi import Request

from vigil.api.errors import ApiError


def too_large(limit: int, field: str | None) -> ApiError:
    return ApiError(413, "too_large", f"The request is larger than the limit of {limit:,} bytes; send less "
                    "(or ask the operator to raise VIGIL_MAX_MEDIA_BYTES).", field)


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
