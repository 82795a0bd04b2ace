"""Why a review step was refused, in a form the API and the CLI can both report."""

from __future__ import annotations


class ReviewError(ValueError):
    """`status` is the HTTP status the API answers with; `code` is for programs; the message is for people."""

    def __init__(self, status: int, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.field = status, code, field


def not_found(what: str, ident: int) -> ReviewError:
    return ReviewError(404, "not_found", f"no {what} with id {ident}; list them with GET /v1/{what.replace(' ', '_')}s")
