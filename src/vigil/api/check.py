"""POST /v1/check and /v1/check/batch: hash, match and read content in one call.

A check takes a content id and any of: text, precomputed signals, and media (base64 in JSON, or a
file in a multipart upload to the same route). Media is hashed (vigil.signals), every signal is
matched against the banks (one Matcher per process, kept fresh from the bank change log), text goes
through the detector, and vigil.policy.verdict combines the two.

The hot path (signals or short text) runs on the event loop: it is microseconds of CPU, and a hop
to the thread pool would cost more than the work. Media and long text go to the thread pool.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import logging
import threading
from functools import lru_cache
from typing import Any, Literal

import orjson
from fastapi import APIRouter, Depends, FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic.json_schema import models_json_schema
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser

from vigil.api.auth import Principal, charge, require
from vigil.api.errors import ApiError, ErrorDetail, responses, sentence, validation_detail
from vigil.api.limits import check_declared_length, limited_stream, read_body, too_large
from vigil.policy.verdict import combine
from vigil.roles import Permission

router = APIRouter(tags=["check"])
log = logging.getLogger("vigil.api")

MAX_TEXT_CHARS = 10 * 1024 * 1024
MAX_SIGNALS = 100
MAX_BATCH = 1000  # issue 4: a batch holds up to 1,000 items
INLINE_TEXT_CHARS = 4_000  # below this, detection takes about a millisecond at most: run it on the event loop
TEXT_BODY_ALLOWANCE = 12 * 1024 * 1024  # room in a JSON body for text and fields beside the base64 media
# Media hashed at once per worker. Decoding and hashing are CPU-bound: more threads than this only
# fight over the GIL and stretch every upload's latency (bench/service_load.py, image rows).
MEDIA_SLOTS = 2

Verdict = Literal["violating", "review", "benign"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SignalIn(Strict):
    type: str = Field(max_length=32, description="pdq, video_pdq, md5 or sha256")
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


class _BatchEnvelope(Strict):
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
    """Schemas of the request bodies this module parses itself (so FastAPI cannot list them)."""
    from vigil.api.errors import ErrorResponse

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


class ItemFailure(Exception):
    """One check cannot be done; in a batch it becomes that item's error, alone."""

    def __init__(self, status: int, code: str, message: str, field: str | None) -> None:
        message = sentence(message)
        super().__init__(message)
        self.status, self.code, self.message, self.field = status, code, message, field

    def detail(self) -> ErrorDetail:
        return ErrorDetail(code=self.code, message=self.message, field=self.field)


# --- the Matcher, one per process ---------------------------------------------------------------

class MatcherHolder:
    """One Matcher per process, built in the background at start so /readyz can say when it is loaded."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app
        self.db_url = app.state.db_url
        self.matcher = None
        self.error: str | None = None
        self._lock = threading.Lock()

    def get(self):
        if self.matcher is None:
            with self._lock:
                if self.matcher is None:
                    from vigil.match import Matcher

                    try:
                        matcher = Matcher(self.db_url)
                        warm(matcher)
                    except Exception as exc:
                        self.error = f"failed: {type(exc).__name__}: {exc}"
                        raise
                    self.error = None
                    self.matcher = matcher
        return self.matcher

    def start(self) -> None:
        def build() -> None:
            try:
                self.get()
                detector(self.app).check("warm-up 预热")  # loads the lexicon and the Chinese segmenter now, not in a request
            except Exception:  # recorded in self.error; /readyz reports it and the next check retries
                pass

        threading.Thread(target=build, name="vigil-matcher-load", daemon=True).start()

    def state(self) -> str:
        if self.matcher is not None:
            return "ok"
        return self.error or "loading"


WARM_SIGNALS = ("pdq", "md5", "sha256")


def warm(matcher) -> None:
    """Build the per-bank indexes now rather than inside the first request (the Matcher builds them on first use)."""
    from vigil import signals

    matcher.match([signals.Signal(name, signals.get(name).examples()[0], None) for name in WARM_SIGNALS])


def holder(app: FastAPI) -> MatcherHolder:
    h = getattr(app.state, "matcher_holder", None)
    if h is None:
        h = app.state.matcher_holder = MatcherHolder(app)
    return h


def start_matcher(app: FastAPI) -> None:
    holder(app).start()


def matcher_state(app: FastAPI) -> str:
    return holder(app).state()


def index_stats(app: FastAPI) -> dict[str, int]:
    matcher = holder(app).matcher
    return dict(matcher.stats()) if matcher is not None else {}


def detector(app: FastAPI):
    """The shared text detector; without embeddings when the operator turned them off (VIGIL_TEXT_EMBEDDINGS=off)."""
    from vigil.text.detect import Detector

    return Detector.default() if app.state.settings.text_embeddings else _detector_without_embeddings()


@lru_cache(maxsize=1)
def _detector_without_embeddings():
    from vigil.text.detect import Detector

    return Detector(embeddings=None)


# --- one check ----------------------------------------------------------------------------------

def decode_media(encoded: str, limit: int) -> bytes:
    if len(encoded) // 4 * 3 > limit + 3:
        raise ItemFailure(413, "too_large", f"The media is larger than the limit of {limit:,} bytes.", "media")
    try:
        data = base64.b64decode("".join(encoded.split()), validate=True)
    except (binascii.Error, ValueError):
        raise ItemFailure(422, "invalid_media", "'media' is not valid base64; encode the file's bytes with standard base64.",
                          "media") from None
    if len(data) > limit:
        raise ItemFailure(413, "too_large", f"The media is {len(data):,} bytes; the limit is {limit:,}.", "media")
    return data


def collect_signals(item: CheckRequest, media: bytes | None) -> list:
    from vigil import signals

    found = []
    for i, s in enumerate(item.signals):
        try:
            kind = signals.get(s.type)
        except signals.InvalidSignal as e:
            raise ItemFailure(422, "invalid_signal", str(e), f"signals.{i}.type") from None
        try:
            found.append(signals.Signal(kind.name, kind.validate(s.value), None))
        except signals.InvalidSignal as e:
            raise ItemFailure(422, "invalid_signal", str(e), f"signals.{i}.value") from None
    if media is not None:
        try:
            found += signals.hash_bytes(media, item.filename)
        except signals.MediaError as e:
            raise ItemFailure(422, "invalid_media", f"The media could not be hashed: {e}. Send an image or video file.",
                              "media") from None
    return found


def text_out(verdict) -> dict:
    d = verdict.to_dict()
    return {"verdict": d["verdict"], "score": float(d["score"]), "category": d.get("category"),
            "hits": list(d.get("hits") or []), "reason": d["reason"], "semantic": d.get("semantic", "not_needed"),
            "notes": list(d.get("notes") or [])}


def match_out(m) -> dict:
    return {"bank": m.bank, "entry_id": m.entry_id, "signal_type": m.signal_type, "value": m.value,
            "distance": m.distance, "labels": m.labels or {}, "metadata": m.metadata or {}}


def run_check(app: FastAPI, item: CheckRequest, media: bytes | None, text_verdict=None) -> dict:
    """The whole check for one item; ItemFailure for input that cannot be checked."""
    from vigil.banks.service import UnknownBank

    found = collect_signals(item, media)
    try:
        matches = holder(app).get().match(found, banks=item.banks) if found else []
    except UnknownBank as e:
        raise ItemFailure(422, "unknown_bank", f"{e}; leave 'banks' out to match every bank", "banks") from None
    if text_verdict is None and item.text:
        text_verdict = detector(app).check(item.text)
    verdict, reasons = combine(matches, text_verdict)
    return {
        "content_id": item.content_id,
        "verdict": verdict,
        "reasons": reasons,
        "matches": [match_out(m) for m in matches],
        "text": text_out(text_verdict) if text_verdict is not None else None,
        "signals": [{"type": s.type, "value": s.value, "quality": s.quality} for s in found],
    }


def is_light(item: CheckRequest, media: bytes | None) -> bool:
    return media is None and item.media is None and (item.text is None or len(item.text) <= INLINE_TEXT_CHARS)


def media_slots(app: FastAPI) -> asyncio.Semaphore:
    slots = getattr(app.state, "media_slots", None)
    if slots is None:
        slots = app.state.media_slots = asyncio.Semaphore(MEDIA_SLOTS)
    return slots


def json_response(data: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(data), status_code=status, media_type="application/json")


def body_limit(request: Request) -> int:
    return request.app.state.settings.max_media_bytes * 4 // 3 + TEXT_BODY_ALLOWANCE


def invalid(errors: list[dict], prefix: tuple = ("body",)) -> RequestValidationError:
    return RequestValidationError([{**e, "loc": prefix + tuple(e.get("loc", ()))} for e in errors])


def media_type(request: Request) -> str:
    return request.headers.get("content-type", "application/json").split(";")[0].strip().lower()


async def parse_multipart(request: Request) -> tuple[CheckRequest, bytes | None]:
    limit = request.app.state.settings.max_media_bytes
    parser = MultiPartParser(request.headers, limited_stream(request, limit + TEXT_BODY_ALLOWANCE, "media"),
                             max_files=1, max_fields=10, max_part_size=TEXT_BODY_ALLOWANCE)
    try:
        form = await parser.parse()
    except (MultiPartException, UnicodeDecodeError) as e:
        raise ApiError(422, "invalid_request", f"The multipart body could not be read ({e}); send fields content_id, "
                       "text, signals, banks and one file field 'media'.") from None
    fields: dict[str, Any] = {}
    media = filename = None
    try:
        for name, value in form.multi_items():
            if name in fields or (name == "media" and media is not None):
                raise ApiError(422, "invalid_request", f"'{name}' is given more than once; send it once.", name)
            if isinstance(value, UploadFile):
                if name != "media":
                    raise ApiError(422, "invalid_request", f"'{name}' is not a known file field; send the file as 'media'.", name)
                media, filename = await value.read(), value.filename
                if len(media) > limit:
                    raise too_large(limit, "media")
                continue
            if name in ("signals", "banks"):
                try:
                    fields[name] = json.loads(value)
                except ValueError:
                    raise ApiError(422, "invalid_request", f"'{name}' must be a JSON array.", name) from None
            else:
                fields[name] = value
    finally:
        await form.close()
    if filename:
        fields["filename"] = filename[:255]
    try:
        return CheckRequest.model_validate(fields), media
    except ValidationError as e:
        raise invalid(e.errors(include_url=False)) from None


@router.post("/v1/check", response_model=CheckResult, summary="Check one piece of content: hash, match and read it",
             openapi_extra=CHECK_BODY, responses=responses(413, 415, 422))
async def check(request: Request, principal: Principal = Depends(require(Permission.CHECK))) -> Response:
    kind = media_type(request)
    if kind == "multipart/form-data":
        item, media = await parse_multipart(request)
    elif kind == "application/json" or kind.endswith("+json"):
        body = await read_body(request, body_limit(request))
        try:
            item = CheckRequest.model_validate_json(body)
        except ValidationError as e:
            raise invalid(e.errors(include_url=False)) from None
        media = None
    else:
        raise ApiError(415, "unsupported_media_type", f"Content-Type {kind!r} is not accepted; send application/json, "
                       "or multipart/form-data with the file in 'media'.")
    app = request.app
    try:
        if media is None and item.media is not None:
            media = decode_media(item.media, app.state.settings.max_media_bytes)
        if is_light(item, media) and holder(app).matcher is not None:
            result = run_check(app, item, media)
        elif media is None:
            result = await run_in_threadpool(run_check, app, item, media)
        else:
            async with media_slots(app):
                result = await run_in_threadpool(run_check, app, item, media)
    except ItemFailure as f:
        raise ApiError(f.status, f.code, f.message, f.field) from None
    return json_response(result)


def run_batch(app: FastAPI, raw_items: list[Any]) -> list[dict]:
    entries: list[dict] = [{"index": i, "result": None, "error": None} for i in range(len(raw_items))]
    items: list[tuple[int, CheckRequest, bytes | None]] = []
    for i, raw in enumerate(raw_items):
        try:
            item = CheckRequest.model_validate(raw)
            media = decode_media(item.media, app.state.settings.max_media_bytes) if item.media is not None else None
            items.append((i, item, media))
        except ValidationError as e:
            entries[i]["error"] = validation_detail(e.errors(include_url=False)).model_dump()
        except ItemFailure as f:
            entries[i]["error"] = f.detail().model_dump()
    texts = [(i, item.text) for i, item, _ in items if item.text]
    try:
        verdicts = dict(zip((i for i, _ in texts), detector(app).check_many([t for _, t in texts]))) if texts else {}
    except Exception:  # one text the detector chokes on must not sink the batch: check them one by one below
        log.exception("batch text detection failed; checking items one by one")
        verdicts = {}
    for i, item, media in items:
        try:
            entries[i]["result"] = run_check(app, item, media, verdicts.get(i))
        except ItemFailure as f:
            entries[i]["error"] = f.detail().model_dump()
        except Exception:
            log.exception("check of batch item %d failed", i)
            entries[i]["error"] = ErrorDetail(code="internal_error", message="This item could not be checked because of "
                                              "a server fault (logged); the other items are unaffected. Retry it alone.").model_dump()
    return entries


@router.post("/v1/check/batch", response_model=BatchResult, summary="Check up to 1,000 items; each gets its own result or error",
             openapi_extra=BATCH_BODY, responses=responses(413, 415, 422))
async def check_batch(request: Request, principal: Principal = Depends(require(Permission.CHECK))) -> Response:
    kind = media_type(request)
    if not (kind == "application/json" or kind.endswith("+json")):
        raise ApiError(415, "unsupported_media_type", f"Content-Type {kind!r} is not accepted; send application/json.")
    check_declared_length(request, body_limit(request))
    body = await read_body(request, body_limit(request))
    try:
        envelope = _BatchEnvelope.model_validate_json(body)
    except ValidationError as e:
        raise invalid(e.errors(include_url=False)) from None
    charge(request, principal, len(envelope.items) - 1)
    entries = await run_in_threadpool(run_batch, request.app, envelope.items)
    return json_response({"results": entries})
