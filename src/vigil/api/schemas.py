"""Request and response models: ids in paths, decisions as reviewers send them, and /v1/check's bodies."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, Field
from pydantic.json_schema import models_json_schema

from vigil.api.errors import ErrorDetail, ErrorResponse

from vigil.review.decisions import MAX_EXPLANATION, DecisionIn
from vigil.schema import Strict, Trimmed
from vigil.vocabulary import Action, GroundType



class Ground(Strict):
    type: GroundType
    reference: Trimmed = Field(min_length=1, max_length=500, description="The law's provision, or the terms-of-service clause.")
    url: Trimmed | None = Field(None, max_length=500, description="Where the provision or clause can be read (http/https).")


class DecisionBody(Strict):
    action: Action
    territorial_scope: list[Trimmed] = Field(default_factory=list, max_length=300, description=(
        "EU/EEA country codes where the restriction applies (as the Transparency Database lists them: GR for Greece; "
        "EL is read as GR)."))
    ground: Ground
    explanation: Trimmed = Field(min_length=1, max_length=MAX_EXPLANATION, description=(
        "The facts and reasons; at most 2,000 characters, the Transparency Database's cap."))
    incompatible_content_illegal: bool | None = Field(None, description="On contractual grounds: whether the content "
                                                      "is also illegal.")
    ends_on: date | None = Field(None, description="The last day of a time-limited restriction.")

    def to_core(self) -> DecisionIn:
        return DecisionIn(action=self.action, ground_type=self.ground.type, ground_reference=self.ground.reference,
                          explanation=self.explanation, territorial_scope=self.territorial_scope,
                          ground_reference_url=self.ground.url,
                          incompatible_content_illegal=self.incompatible_content_illegal, ends_on=self.ends_on)


# --- /v1/check ----------------------------------------------------------------------------------------

MAX_TEXT_CHARS = 10 * 1024 * 1024
MAX_SIGNALS = 100
MAX_BATCH = 1000  # a batch holds up to 1,000 items

Verdict = Literal["violating", "review", "benign"]


class SignalIn(Strict):
    type: str = Field(max_length=32, description="pdq, vpdq, md5 or sha256")
    value: str = Field(max_length=2_000_000, description="The hash as its type writes it (PDQ: 64 hex characters)")


class CheckRequest(Strict):
    content_id: str = Field(min_length=1, max_length=500, description="Your id for the content; echoed back")
    text: str | None = Field(None, max_length=MAX_TEXT_CHARS, description="Text to run through the detector")
    signals: list[SignalIn] = Field(default_factory=list, max_length=MAX_SIGNALS, description="Precomputed hashes")
    media: str | None = Field(None, description="The image or video, base64-encoded; it is hashed, never stored")
    filename: str | None = Field(None, max_length=255, description="The media's file name, a hint only")
    banks: list[str] | None = Field(None, max_length=100, description="Match only these banks (default: all)")


class BatchRequest(Strict):
    items: list[CheckRequest] = Field(min_length=1, max_length=MAX_BATCH)


class BatchEnvelope(Strict):
    """What the batch route actually parses: items stay raw, so one bad item fails alone."""

    items: list[Any] = Field(min_length=1, max_length=MAX_BATCH)


class SignalOut(BaseModel):
    type: str
    value: str
    quality: int | None


class MatchOut(BaseModel):
    bank: str
    entry_id: int
    signal_type: str
    value: str
    distance: int
    labels: dict[str, Any]
    metadata: dict[str, Any]


class TextOut(BaseModel):
    verdict: Verdict
    score: float
    category: str | None
    hits: list[dict[str, Any]]
    reason: str
    semantic: str = Field(description="used, not_needed or unavailable: whether sentence embeddings took part")
    notes: list[str]


class CheckResult(BaseModel):
    content_id: str
    verdict: Verdict
    reasons: list[str]
    matches: list[MatchOut]
    text: TextOut | None
    signals: list[SignalOut]


class BatchEntry(BaseModel):
    index: int
    result: CheckResult | None = None
    error: ErrorDetail | None = None


class BatchResult(BaseModel):
    results: list[BatchEntry]


def openapi_components() -> dict[str, dict]:
    """Schemas of the request bodies /v1/check parses itself (so FastAPI cannot list them)."""
    _, top = models_json_schema([(CheckRequest, "validation"), (BatchRequest, "validation"), (ErrorResponse, "serialization")],
                                ref_template="#/components/schemas/{model}")
    return top["$defs"]


MULTIPART_SCHEMA = {
    "type": "object",
    "required": ["content_id"],
    "additionalProperties": False,
    "properties": {
        "content_id": {"type": "string", "minLength": 1, "maxLength": 500},
        "text": {"type": "string"},
        "signals": {"type": "string", "description": "JSON array of {type, value}"},
        "banks": {"type": "string", "description": "JSON array of bank names"},
        "media": {"type": "string", "format": "binary"},
    },
}
CHECK_BODY = {"requestBody": {"required": True, "content": {
    "application/json": {"schema": {"$ref": "#/components/schemas/CheckRequest"}},
    "multipart/form-data": {"schema": MULTIPART_SCHEMA},
}}}
BATCH_BODY = {"requestBody": {"required": True, "content": {
    "application/json": {"schema": {"$ref": "#/components/schemas/BatchRequest"}},
}}}


