"""POST /v1/check and /v1/check/batch: hash, match and read content in one call.

A check takes a content id and any of: text, precomputed signals, and media (base64 in JSON, or a
file in a multipart upload to the same route). Media is hashed (vigil.signals), every signal is
matched against the banks (the runtime's Matcher, kept fresh from the bank change log), text goes
through the detector, and vigil.policy.verdict turns the evidence into the verdict, with the same
rule notice intake uses.

The hot path (signals or short text) runs on the event loop: it is microseconds of CPU, and a hop
to the thread pool would cost more than the work. Media goes to the runtime's media pool, long text
and batches to the thread pool.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
from typing import Any

import orjson
from fastapi import APIRouter, Depends, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser

from vigil import signals
from vigil.api.auth import Principal, charge, require
from vigil.api.errors import ErrorDetail, detail, responses, validation_detail
from vigil.api.schemas import BATCH_BODY, CHECK_BODY, BatchEnvelope, BatchResult, CheckRequest, CheckResult
from vigil.banks.service import UnknownBank
from vigil.cases.checks import evidence_of
from vigil.errors import InvalidInput, TooLarge, UnsupportedMediaType, VigilError
from vigil.match import Match
from vigil.policy.verdict import assess
from vigil.roles import Permission
from vigil.runtime import Runtime
from vigil.text.detect import TextVerdict
from vigil.web.deps import runtime
from vigil.web.limits import check_declared_length, limited_stream, read_body, too_large

router = APIRouter(tags=["check"])
log = logging.getLogger("vigil.api")

INLINE_TEXT_CHARS = 4_000  # below this, detection takes about a millisecond at most: run it on the event loop
TEXT_BODY_ALLOWANCE = 12 * 1024 * 1024  # room in a JSON body for text and fields beside the base64 media


# --- one check ----------------------------------------------------------------------------------

def decode_media(encoded: str, limit: int) -> bytes:
    if len(encoded) // 4 * 3 > limit + 3:
        raise TooLarge(f"The media is larger than the limit of {limit:,} bytes.", field="media")
    try:
        data = base64.b64decode("".join(encoded.split()), validate=True)
    except (binascii.Error, ValueError):
        raise InvalidInput("'media' is not valid base64; encode the file's bytes with standard base64.",
                           code="invalid_media", field="media") from None
    if len(data) > limit:
        raise TooLarge(f"The media is {len(data):,} bytes; the limit is {limit:,}.", field="media")
    return data


def collect_signals(item: CheckRequest, media: bytes | None) -> list[signals.Signal]:
    found = []
    for i, s in enumerate(item.signals):
        try:
            kind = signals.get(s.type)
        except signals.InvalidSignal as e:
            raise InvalidInput(str(e), code="invalid_signal", field=f"signals.{i}.type") from None
        try:
            found.append(signals.Signal(kind.name, kind.validate(s.value), None))
        except signals.InvalidSignal as e:
            raise InvalidInput(str(e), code="invalid_signal", field=f"signals.{i}.value") from None
    if media is not None:
        try:
            found += signals.hash_bytes(media, item.filename)
        except signals.MediaError as e:
            raise InvalidInput(f"The media could not be hashed: {e}. Send an image or video file.",
                               code="invalid_media", field="media") from None
    return found


def text_out(verdict: TextVerdict) -> dict:
    d = verdict.to_dict()
    return {"verdict": d["verdict"], "score": float(d["score"]), "category": d.get("category"),
            "hits": list(d.get("hits") or []), "reason": d["reason"], "semantic": d.get("semantic", "not_needed"),
            "notes": list(d.get("notes") or [])}


def match_out(m: Match) -> dict:
    return {"bank": m.bank, "entry_id": m.entry_id, "signal_type": m.signal_type, "value": m.value,
            "distance": m.distance, "labels": m.labels or {}, "metadata": m.metadata or {}}


def run_check(rt: Runtime, item: CheckRequest, media: bytes | None, text_verdict: TextVerdict | None = None) -> dict:
    """The whole check for one item; a VigilError for input that cannot be checked."""
    found = collect_signals(item, media)
    try:
        matches = rt.matcher.match(found, banks=item.banks) if found else []
    except UnknownBank as e:
        raise InvalidInput(f"{e}; leave 'banks' out to match every bank", code="unknown_bank", field="banks") from None
    if text_verdict is None and item.text:
        text_verdict = rt.detector.check(item.text)
    assessment = assess(evidence_of(matches, text_verdict, None))
    return {
        "content_id": item.content_id,
        "verdict": assessment.verdict,
        "reasons": assessment.reasons,
        "matches": [match_out(m) for m in matches],
        "text": text_out(text_verdict) if text_verdict is not None else None,
        "signals": [{"type": s.type, "value": s.value, "quality": s.quality} for s in found],
    }


def is_light(item: CheckRequest, media: bytes | None) -> bool:
    return media is None and item.media is None and (item.text is None or len(item.text) <= INLINE_TEXT_CHARS)


def json_response(data: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(data), status_code=status, media_type="application/json")


def body_limit(rt: Runtime) -> int:
    return rt.settings.max_media_bytes * 4 // 3 + TEXT_BODY_ALLOWANCE


def invalid(errors: list[dict], prefix: tuple = ("body",)) -> RequestValidationError:
    return RequestValidationError([{**e, "loc": prefix + tuple(e.get("loc", ()))} for e in errors])


def media_type(request: Request) -> str:
    return request.headers.get("content-type", "application/json").split(";")[0].strip().lower()


async def parse_multipart(request: Request, rt: Runtime) -> tuple[CheckRequest, bytes | None]:
    limit = rt.settings.max_media_bytes
    parser = MultiPartParser(request.headers, limited_stream(request, limit + TEXT_BODY_ALLOWANCE, "media"),
                             max_files=1, max_fields=10, max_part_size=TEXT_BODY_ALLOWANCE)
    try:
        form = await parser.parse()
    except (MultiPartException, UnicodeDecodeError) as e:
        raise InvalidInput(f"The multipart body could not be read ({e}); send fields content_id, text, signals, banks "
                           "and one file field 'media'.") from None
    fields: dict[str, Any] = {}
    media = filename = None
    try:
        for name, value in form.multi_items():
            if name in fields or (name == "media" and media is not None):
                raise InvalidInput(f"'{name}' is given more than once; send it once.", field=name)
            if isinstance(value, UploadFile):
                if name != "media":
                    raise InvalidInput(f"'{name}' is not a known file field; send the file as 'media'.", field=name)
                media, filename = await value.read(), value.filename
                if len(media) > limit:
                    raise too_large(limit, "media")
                continue
            if name in ("signals", "banks"):
                try:
                    fields[name] = json.loads(value)
                except (ValueError, RecursionError):
                    raise InvalidInput(f"'{name}' must be a JSON array.", field=name) from None
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
async def check(request: Request, principal: Principal = Depends(require(Permission.CHECK)),
                rt: Runtime = Depends(runtime)) -> Response:
    kind = media_type(request)
    if kind == "multipart/form-data":
        item, media = await parse_multipart(request, rt)
    elif kind == "application/json" or kind.endswith("+json"):
        body = await read_body(request, body_limit(rt))
        try:
            item = CheckRequest.model_validate_json(body)
        except ValidationError as e:
            raise invalid(e.errors(include_url=False)) from None
        media = None
    else:
        raise UnsupportedMediaType(f"Content-Type {kind!r} is not accepted; send application/json, or "
                                   "multipart/form-data with the file in 'media'.")
    if media is None and item.media is not None:
        media = decode_media(item.media, rt.settings.max_media_bytes)
    if is_light(item, media) and rt.matcher_if_ready() is not None:
        result = run_check(rt, item, media)
    elif media is None:
        result = await run_in_threadpool(run_check, rt, item, media)
    else:
        result = await rt.offload_media(run_check, rt, item, media)
    return json_response(result)


def run_batch(rt: Runtime, raw_items: list[Any]) -> list[dict]:
    entries: list[dict] = [{"index": i, "result": None, "error": None} for i in range(len(raw_items))]
    items: list[tuple[int, CheckRequest, bytes | None]] = []
    for i, raw in enumerate(raw_items):
        try:
            item = CheckRequest.model_validate(raw)
            media = decode_media(item.media, rt.settings.max_media_bytes) if item.media is not None else None
            items.append((i, item, media))
        except ValidationError as e:
            entries[i]["error"] = validation_detail(e.errors(include_url=False)).model_dump()
        except VigilError as e:
            entries[i]["error"] = detail(e).model_dump()
    texts = [(i, item.text) for i, item, _ in items if item.text]
    try:
        verdicts = dict(zip((i for i, _ in texts), rt.detector.check_many([t for _, t in texts]))) if texts else {}
    except Exception:  # one text the detector chokes on must not sink the batch: check them one by one below
        log.exception("batch text detection failed; checking items one by one")
        verdicts = {}
    for i, item, media in items:
        try:
            entries[i]["result"] = run_check(rt, item, media, verdicts.get(i))
        except VigilError as e:
            entries[i]["error"] = detail(e).model_dump()
        except Exception:
            log.exception("check of batch item %d failed", i)
            entries[i]["error"] = ErrorDetail(code="internal_error", message="This item could not be checked because of "
                                              "a server fault (logged); the other items are unaffected. Retry it alone.").model_dump()
    return entries


@router.post("/v1/check/batch", response_model=BatchResult,
             summary="Check up to 1,000 items; each gets its own result or error",
             openapi_extra=BATCH_BODY, responses=responses(413, 415, 422))
async def check_batch(request: Request, principal: Principal = Depends(require(Permission.CHECK)),
                      rt: Runtime = Depends(runtime)) -> Response:
    kind = media_type(request)
    if not (kind == "application/json" or kind.endswith("+json")):
        raise UnsupportedMediaType(f"Content-Type {kind!r} is not accepted; send application/json.")
    check_declared_length(request, body_limit(rt))
    body = await read_body(request, body_limit(rt))
    try:
        envelope = BatchEnvelope.model_validate_json(body)
    except ValidationError as e:
        raise invalid(e.errors(include_url=False)) from None
    charge(request, principal, len(envelope.items) - 1)
    entries = await run_in_threadpool(run_batch, rt, envelope.items)
    return json_response({"results": entries})
