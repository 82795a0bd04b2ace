"""A notice as received (DSA Art. 16, or a TCO removal order): its fields, its checks and its receipt digest.

Validation happens here, once, so the single and the batch endpoints accept exactly the same notices.
Validation is cheap: media sent with a notice is only decoded and hashed afterwards, by `with_media_hashed`,
which the service runs in its media pool (never on the event loop, never inside a schema).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from datetime import datetime, timezone
from typing import Literal

import orjson
from pydantic import Field, field_validator, model_validator

from vigil import signals
from vigil.errors import InvalidInput
from vigil.schema import Strict, Trimmed
from vigil.signals.pdq import QUALITY_FLOOR
from vigil.transparency import tdb
from vigil.vocabulary import NoticeSource

MAX_TEXT_CHARS = 100_000  # a post or a comment; longer reports should send hashes or a URL
MAX_EXPLANATION_CHARS = 10_000
MAX_MEDIA_BASE64 = 16 * 1024 * 1024  # 12 MB of media; larger files should be hashed by the sender
CONTENT_TYPES = ("text", "image", "video", "audio", "other")


def _no_surrogates(value) -> None:
    """JSON can carry lone surrogates (\\ud800) that no database can store as UTF-8: refuse them up front."""
    try:
        orjson.dumps(value)  # one pass in C; it refuses lone surrogates (and a few things validation reports)
    except orjson.JSONEncodeError:
        _find_surrogate(value, "")  # walk the value to say where


def _find_surrogate(value, where: str) -> None:
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError(f"{where or 'a string'} is not valid Unicode text (it has a lone surrogate)") from None
    elif isinstance(value, dict):
        for k, v in value.items():
            _find_surrogate(k, where)
            _find_surrogate(v, f"{where}.{k}" if where else str(k))


class ContentIn(Strict):
    """The reported content: the operator's id for it, where it is, and what it is (text, hashes or both)."""

    id: Trimmed = Field(min_length=1, max_length=512, description="The operator's content id.")
    url: Trimmed | None = Field(None, max_length=4096)
    type: Literal["text", "image", "video", "audio", "other"] | None = Field(
        None, description="Inferred from the hashes or text when not given.")
    text: Trimmed | None = Field(None, max_length=MAX_TEXT_CHARS)
    hashes: dict[str, str] = Field(default_factory=dict, description="Signal type -> value: pdq, vpdq, md5, sha256.")
    media: Trimmed | None = Field(None, max_length=MAX_MEDIA_BASE64, description=(
        "The image or video itself, base64. Vigil hashes it on receipt and keeps only the hashes; sending "
        "hashes (`vigil hash`) instead saves bandwidth."))
    uploader_id: Trimmed | None = Field(None, max_length=200, description="The uploader's account id on this service (for strikes).")
    views: int | None = Field(None, ge=0, le=10**15, description="The view count, as reach.")
    posted_at: datetime | None = Field(None, description="When the uploader posted it (the statement of reasons' "
                                       "content_date; else the day Vigil first saw it).")

    @field_validator("posted_at")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("posted_at needs a time zone (e.g. 2026-05-01T12:00:00Z)")
        return value.astimezone(timezone.utc) if value is not None else None

    @field_validator("hashes")
    @classmethod
    def _known_hashes(cls, value: dict[str, str]) -> dict[str, str]:
        out = {}
        for name, v in value.items():
            if name not in signals.REGISTRY:
                raise ValueError(f"unknown hash type {name!r}; use one of {', '.join(signals.names())}")
            if not isinstance(v, str) or len(v) > 1_000_000:
                raise ValueError(f"{name}: a hash is a string under 1 MB")
            out[name] = signals.get(name).validate(v)
        return out

    def inferred_type(self) -> str:
        if self.type:
            return self.type
        if "vpdq" in self.hashes:
            return "video"
        if "pdq" in self.hashes:
            return "image"
        if self.text:
            return "text"
        return "other"


class NotifierIn(Strict):
    """Who reports. All optional: anonymous notices are allowed. Name and email are personal data."""

    id: Trimmed | None = Field(None, max_length=200, description="A stable pseudonymous id, used only to weigh accuracy.")
    name: Trimmed | None = Field(None, max_length=200)
    email: Trimmed | None = Field(None, max_length=320, pattern=r"^[^@\s]+@[^@\s]+$")


class NoticeIn(Strict):
    @model_validator(mode="before")
    @classmethod
    def _valid_text(cls, data):
        _no_surrogates(data)
        return data

    source: NoticeSource
    content: ContentIn
    explanation: Trimmed = Field(min_length=1, max_length=MAX_EXPLANATION_CHARS,
                             description="Why the notifier considers the content illegal or against the terms.")
    good_faith: bool = Field(False, description="The notifier's statement of a bona fide belief (DSA Art. 16(2)(d)).")
    notifier: NotifierIn | None = None
    authority: Trimmed | None = Field(None, min_length=1, max_length=200, description="Issuing authority of a removal order.")
    order_reference: Trimmed | None = Field(None, min_length=1, max_length=200)
    category: Trimmed | None = Field(None, max_length=64, pattern=r"^[a-z0-9_]+$")
    language: Trimmed | None = Field(None, max_length=35, description=(
        "The content's language as a BCP 47 tag; legacy and three-letter codes are normalised (iw -> he, deu -> de)."))
    idempotency_key: Trimmed | None = Field(None, min_length=1, max_length=200,
                                        description="In a batch: the same key twice creates one notice.")

    @field_validator("language")
    @classmethod
    def _language(cls, value: str | None) -> str | None:
        return tdb.normalise_language(value) if value else None

    @model_validator(mode="after")
    def _rules(self) -> NoticeIn:
        if self.source == NoticeSource.AUTHORITY_ORDER:
            if not self.authority or not self.order_reference:
                raise ValueError("an authority order needs 'authority' and 'order_reference'")
        elif not self.good_faith:
            raise ValueError("a notice needs 'good_faith': true, the notifier's statement that it is accurate and complete")
        if not (self.content.text or self.content.hashes or self.content.url or self.content.media is not None):
            raise ValueError("the content needs at least one of 'text', 'hashes', 'media' or 'url' besides its id")
        return self

    def digest(self) -> str:
        """SHA-256 of the notice as validated (fields in declared order): the receipt, and how a reused key is caught."""
        return hashlib.sha256(self.model_dump_json(exclude={"idempotency_key"}, exclude_none=True).encode()).hexdigest()


def with_media_hashed(notice: NoticeIn) -> NoticeIn:
    """The notice with its media replaced by the media's hashes (Vigil keeps hashes, never the media itself).

    CPU-heavy (decoding, PDQ, video frames): callers run it in the media pool. InvalidInput names the field.
    """
    content = notice.content
    if content.media is None:
        return notice
    try:
        data = base64.b64decode(content.media, validate=True)
    except binascii.Error:
        raise InvalidInput("media is not valid base64; encode the file's bytes with standard base64",
                           field="content.media") from None
    try:
        found = signals.hash_bytes(data)
    except signals.MediaError as e:
        raise InvalidInput(f"media cannot be hashed: {e}", code="invalid_media", field="content.media") from None
    hashes = dict(content.hashes)
    for sig in reversed(found):  # for images, the whole frame's PDQ comes last (border crops first)
        if sig.type == "pdq" and sig.quality is not None and sig.quality < QUALITY_FLOOR:
            continue  # a flat or blank image: its PDQ would group unrelated content
        hashes.setdefault(sig.type, sig.value)
    return notice.model_copy(update={"content": content.model_copy(update={"media": None, "hashes": hashes})})
