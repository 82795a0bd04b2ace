"""Bank curation over HTTP (admin only): banks, their entries, and import/export in the shared formats.

A change is committed before the answer goes out; every worker's Matcher replays the bank change
log at most 0.5 s later, so the next check anywhere sees it within a second.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from vigil.api.auth import require
from vigil.api.errors import responses
from vigil.banks import service
from vigil.errors import NotFound
from vigil.roles import Permission
from vigil.schema import Strict
from vigil.store.banks import Bank, BankEntry
from vigil.web.deps import DbSession
from vigil.web.limits import read_body

router = APIRouter(prefix="/v1/banks", tags=["banks"], dependencies=[])
admin = require(Permission.ADMIN)

Format = Literal["te_csv", "tat_json", "hma"]
MEDIA_TYPES = {"te_csv": "text/csv; charset=utf-8", "tat_json": "application/json", "hma": "application/json"}
MAX_IMPORT_BYTES = 256 * 1024 * 1024


class BankCreate(Strict):
    name: str = Field(min_length=1, max_length=200, description="1-200 letters, digits, spaces or _ . : / -")
    threshold: int = Field(31, ge=0, le=256, description="Largest PDQ distance that counts as a match (PDQ's default: 31)")
    negative: bool = Field(False, description="Entries are known false positives and suppress the matches they overlap")
    dihedral: bool = Field(True, description="Also match rotated and flipped copies")
    description: str = Field("", max_length=5000)


class BankUpdate(Strict):
    threshold: int | None = Field(None, ge=0, le=256)
    negative: bool | None = None
    dihedral: bool | None = None
    description: str | None = Field(None, max_length=5000)


class BankOut(BaseModel):
    name: str
    threshold: int
    negative: bool
    dihedral: bool
    description: str
    entries: int
    enabled_entries: int
    created_at: datetime | None
    updated_at: datetime | None


class EntryCreate(Strict):
    signal_type: str = Field(max_length=32, description="pdq, vpdq, md5 or sha256")
    value: str = Field(max_length=2_000_000)
    labels: dict[str, str | list[str]] = Field(default_factory=dict, description="GIFCT labels: entity, behaviour, content_type, plus extras")
    source: str = Field("", max_length=200)
    note: str = Field("", max_length=5000)
    metadata: dict[str, Any] = Field(default_factory=dict, description="Returned with every match of this entry")


class EntryUpdate(Strict):
    enabled: bool


class EntryOut(BaseModel):
    id: int
    bank: str
    signal_type: str
    value: str
    labels: dict[str, Any]
    source: str
    note: str
    metadata: dict[str, Any]
    enabled: bool
    created_at: datetime | None
    updated_at: datetime | None


class Rejected(BaseModel):
    line: int
    reason: str


class ImportOut(BaseModel):
    added: int
    updated: int
    deleted: int
    unchanged: int
    rejected: list[Rejected]


def _bank_out(bank: Bank, counts: tuple[int, int]) -> BankOut:
    return BankOut(name=bank.name, threshold=bank.threshold, negative=bank.negative, dihedral=bank.dihedral,
                   description=bank.description, entries=counts[0], enabled_entries=counts[1],
                   created_at=bank.created_at, updated_at=bank.updated_at)


def _entry_out(entry: BankEntry, bank_name: str) -> EntryOut:
    return EntryOut(id=entry.id, bank=bank_name, signal_type=entry.signal_type, value=entry.value, labels=entry.labels or {},
                    source=entry.source, note=entry.note, metadata=entry.meta or {}, enabled=entry.enabled,
                    created_at=entry.created_at, updated_at=entry.updated_at)


def _counts(s: Session, bank: Bank) -> tuple[int, int]:
    return service.entry_counts(s).get(bank.id, (0, 0))


@router.get("", response_model=list[BankOut], summary="List banks")
def list_banks(s: DbSession, _=Depends(admin)):
    counts = service.entry_counts(s)
    return [_bank_out(b, counts.get(b.id, (0, 0))) for b in service.list_banks(s)]


@router.post("", response_model=BankOut, status_code=201, summary="Create a bank", responses=responses(409))
def create_bank(body: BankCreate, s: DbSession, _=Depends(admin)):
    return _bank_out(service.create_bank(s, **body.model_dump()), (0, 0))


# Entry routes come first: a bank name may contain "/", so "{name:path}" alone would swallow them.
@router.get("/{name:path}/entries", response_model=list[EntryOut], summary="List a bank's entries, by id",
            responses=responses(404))
def list_entries(name: str, s: DbSession,
                 after_id: int = Query(0, ge=0, description="Return entries with a larger id (the last id seen)"),
                 limit: int = Query(100, ge=1, le=1000), _=Depends(admin)):
    bank = service.get_bank(s, name)
    return [_entry_out(e, bank.name) for e in service.list_entries(s, bank, limit=limit, after_id=after_id)]


@router.post("/{name:path}/entries", response_model=EntryOut, status_code=201,
             summary="Add an entry (or merge labels into the existing one)", responses=responses(404))
def add_entry(name: str, body: EntryCreate, s: DbSession, _=Depends(admin)):
    bank = service.get_bank(s, name)
    entry = service.add_entry(s, bank, body.signal_type, body.value, labels=body.labels, source=body.source,
                              note=body.note, metadata=body.metadata)
    return _entry_out(entry, bank.name)


@router.patch("/{name:path}/entries/{entry_id}", response_model=EntryOut, summary="Enable or disable one entry",
              responses=responses(404))
def update_entry(name: str, entry_id: int, body: EntryUpdate, s: DbSession, _=Depends(admin)):
    bank = service.get_bank(s, name)
    entry = service.get_entry(s, entry_id)
    if entry.bank_id != bank.id:
        raise NotFound(f"bank {bank.name!r} has no entry {entry_id}")
    return _entry_out(service.set_entry_enabled(s, entry_id, body.enabled), bank.name)


IMPORT_BODY = {
    "requestBody": {
        "required": True,
        "description": "The list, as its format's file: ThreatExchange CSV, the TAT hash-list JSON, or an HMA bank export.",
        "content": {
            "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
            "text/csv": {"schema": {"type": "string"}},
            "application/json": {"schema": {}},
        },
    }
}


@router.post("/{name:path}/import", response_model=ImportOut, summary="Import a shared list into a bank",
             openapi_extra=IMPORT_BODY, responses=responses(404, 413))
async def import_entries(name: str, request: Request, s: DbSession,
                         format: Format = Query(description="te_csv, tat_json or hma"), _=Depends(admin)):
    data = await read_body(request, MAX_IMPORT_BYTES, field="body")
    report = await run_in_threadpool(lambda: service.import_entries(s, service.get_bank(s, name), format, data))
    return ImportOut(**report.to_dict())


@router.get("/{name:path}/export", summary="Export a bank's enabled entries in a shared format",
            responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}, "application/json": {"schema": {}}},
                             "description": "The list in the format asked for"}} | responses(404))
def export_entries(name: str, s: DbSession, format: Format = Query(description="te_csv, tat_json or hma"),
                   _=Depends(admin)) -> Response:
    bank = service.get_bank(s, name)
    data = service.export_entries(s, bank, format)
    filename = "".join(c if c.isalnum() or c in "-_." else "_" for c in bank.name) or "bank"
    ext = "csv" if format == "te_csv" else "json"
    return Response(data, media_type=MEDIA_TYPES[format],
                    headers={"Content-Disposition": f'attachment; filename="{filename}.{format}.{ext}"'})


@router.get("/{name:path}", response_model=BankOut, summary="One bank", responses=responses(404))
def get_bank(name: str, s: DbSession, _=Depends(admin)):
    bank = service.get_bank(s, name)
    return _bank_out(bank, _counts(s, bank))


@router.patch("/{name:path}", response_model=BankOut,
              summary="Change a bank's threshold, polarity, rotation handling or description", responses=responses(404))
def update_bank(name: str, body: BankUpdate, s: DbSession, _=Depends(admin)):
    bank = service.update_bank(s, name, **body.model_dump(exclude_none=True))
    return _bank_out(bank, _counts(s, bank))
