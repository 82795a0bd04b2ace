"""The one base for models of what callers send (unknown fields are an error, never silently dropped), and the
bounds of ids in paths and queries."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query
from pydantic import BaseModel, ConfigDict, StringConstraints


class Strict(BaseModel):
    """A request body or a record read from outside: `extra="forbid"` makes a misspelt field a clear 422."""

    model_config = ConfigDict(extra="forbid")


Trimmed = Annotated[str, StringConstraints(strip_whitespace=True)]
"""Text whose surrounding white space carries no meaning (ids, names, references)."""


MAX_ID = 2**63 - 1
"""Ids are 64-bit integers in both databases; larger numbers cannot name anything, and are a 422, not a crash."""
Id = Annotated[int, Path(ge=1, le=MAX_ID)]
AfterId = Annotated[int, Query(ge=0, le=MAX_ID, description="Return items with a larger id (the last id seen).")]
