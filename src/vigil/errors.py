"""One error type for everything Vigil refuses: a status, a code for programs, a sentence for people, the field at fault.

Core code raises these; each adapter renders them once: the API as `{"error": {code, message, field}}`
(`vigil.api.errors`), the console as a page (`vigil.console.web`), the CLI as `error:` plus a hint.
Messages are written as clauses or sentences that say what to do ("no bank named 'x'; `vigil bank list`
shows the banks"); the API capitalises and ends them.
"""

from __future__ import annotations


class VigilError(Exception):
    """Base of every error Vigil reports to a caller. `status` is the HTTP status an API answers with."""

    status: int = 400
    code: str = "bad_request"

    def __init__(self, message: str, *, code: str | None = None, field: str | None = None,
                 status: int | None = None, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        self.field = field
        self.headers = headers

    def __str__(self) -> str:
        return self.message


class InvalidInput(VigilError):
    """The input cannot be used as sent; `field` names it."""

    status, code = 422, "invalid_request"


class Unauthorized(VigilError):
    status, code = 401, "unauthorized"


class Forbidden(VigilError):
    status, code = 403, "forbidden"


class NotFound(VigilError):
    status, code = 404, "not_found"


class Conflict(VigilError):
    """The request clashes with the current state (already decided, claimed by someone else, a duplicate)."""

    status, code = 409, "conflict"


class TooLarge(VigilError):
    status, code = 413, "too_large"


class UnsupportedMediaType(VigilError):
    status, code = 415, "unsupported_media_type"


class RateLimited(VigilError):
    status, code = 429, "rate_limited"


class Unavailable(VigilError):
    """A dependency (the database, an index still loading) cannot answer now; retrying later may work."""

    status, code = 503, "unavailable"


def not_found(what: str, ident: int | str) -> NotFound:
    return NotFound(f"no {what} with id {ident}; list them with GET /v1/{what.replace(' ', '_')}s")


def sentence(message: str) -> str:
    """Core messages are often clauses ("no bank named 'x'"); people are answered in sentences."""
    message = message.strip() or "The request failed."
    message = message[0].upper() + message[1:]
    return message if message.endswith((".", "!", "?", ")")) else message + "."
