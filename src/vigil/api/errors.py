"""One shape for every error the API returns: {"error": {"code", "message", "field"}}.

`code` is for programs, `message` is a sentence a person can act on, `field` names the input at
fault when there is one (dotted path into the body, or the parameter name). Every refusal is a
vigil.errors.VigilError, rendered by the one handler installed here. The response's X-Request-ID header
(vigil.web.requests) names the server's log lines for the request.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import DataError, IntegrityError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from vigil.errors import VigilError, sentence

log = logging.getLogger("vigil.api")


class ErrorDetail(BaseModel):
    code: str
    message: str
    field: str | None = None


class ErrorResponse(BaseModel):
    error: ErrorDetail


def detail(e: VigilError) -> ErrorDetail:
    return ErrorDetail(code=e.code, message=sentence(e.message), field=e.field)


def error_response(status: int, code: str, message: str, field: str | None = None,
                   headers: dict[str, str] | None = None) -> JSONResponse:
    body = {"error": {"code": code, "message": message, "field": field}}
    return JSONResponse(body, status_code=status, headers=headers)


HTTP_CODES = {
    400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
    406: "not_acceptable", 409: "conflict", 413: "too_large", 415: "unsupported_media_type", 429: "rate_limited",
}


def field_of(loc: tuple | list) -> str | None:
    """'body.items.3.content_id' -> 'items.3.content_id'; ('query', 'format') -> 'format'."""
    parts = [str(p) for p in loc]
    if parts and parts[0] in ("body", "query", "path", "header", "cookie"):
        parts = parts[1:]
    return ".".join(parts) or None


def describe(err: dict[str, Any]) -> str:
    """A pydantic error as a sentence naming the field and what to do."""
    field = field_of(err.get("loc", ())) or "body"
    kind = err.get("type", "")
    if kind == "missing":
        return f"'{field}' is required."
    if kind == "extra_forbidden":
        return f"'{field}' is not a known field; remove it (see /openapi.json for the accepted fields)."
    if kind == "json_invalid":
        return f"The body is not valid JSON ({err.get('ctx', {}).get('error', err.get('msg'))}); send UTF-8 JSON."
    return f"'{field}': {err.get('msg', 'invalid value')}."


def validation_detail(errors: list[dict[str, Any]]) -> ErrorDetail:
    first = errors[0] if errors else {"loc": (), "msg": "invalid request"}
    message = describe(first)
    if len(errors) > 1:
        message += f" ({len(errors) - 1} more problem(s) in this request.)"
    field = None if first.get("type") == "json_invalid" else field_of(first.get("loc", ()))
    return ErrorDetail(code="invalid_request", message=message, field=field)


def install(app: FastAPI) -> None:
    @app.exception_handler(VigilError)
    async def vigil_error(_request: Request, exc: VigilError) -> JSONResponse:
        return error_response(exc.status, exc.code, sentence(exc.message), exc.field, exc.headers)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        message = exc.detail if isinstance(exc.detail, str) else "The request failed."
        if exc.status_code == 400 and message == "There was an error parsing the body":  # FastAPI's words for undecodable JSON
            return error_response(422, "invalid_request", "The body could not be read as JSON; send UTF-8 JSON "
                                  "with Content-Type: application/json.")
        if exc.status_code == 404 and message == "Not Found":
            message = "No such resource; check the path (see /openapi.json)."
        elif exc.status_code == 405:
            message = "This path does not accept that method; see /openapi.json for the allowed ones."
        return error_response(exc.status_code, HTTP_CODES.get(exc.status_code, f"http_{exc.status_code}"),
                              message, headers=getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        d = validation_detail(list(exc.errors()))
        return error_response(422, d.code, d.message, d.field)

    @app.exception_handler(IntegrityError)
    async def conflict(_request: Request, exc: IntegrityError) -> JSONResponse:
        log.info("integrity error: %s", exc.orig)
        return error_response(409, "conflict", "The change conflicts with existing data (a duplicate or a missing "
                              "reference); check the names and ids you sent.")

    @app.exception_handler(DataError)
    @app.exception_handler(OverflowError)
    async def out_of_range(_request: Request, exc: Exception) -> JSONResponse:
        log.info("value out of range: %s", exc)
        return error_response(422, "invalid_request", "A value is out of the range the database can store "
                              "(ids and counts are 64-bit integers); check the numbers you sent.")

    @app.exception_handler(OperationalError)
    async def unavailable(_request: Request, exc: OperationalError) -> JSONResponse:
        log.error("database unavailable: %s", exc.orig)
        return error_response(503, "database_unavailable", "The database did not answer; retry shortly.",
                              headers={"Retry-After": "1"})

    @app.exception_handler(Exception)
    async def crash(_request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error")
        return error_response(500, "internal_error", "The server failed on this request and logged why; "
                              "retry, and report it to the operator if it persists.")


def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the error statuses a route can answer with."""
    text = {
        400: "Bad request", 401: "Missing or unknown API key", 403: "The key's role lacks the permission",
        404: "Not found", 409: "Conflict with existing data", 413: "Body or media too large",
        415: "Unsupported content type", 422: "Invalid input; `field` names it", 429: "Rate limit; see Retry-After",
        503: "Not ready",
    }
    return {s: {"model": ErrorResponse, "description": text.get(s, "Error")} for s in statuses}
