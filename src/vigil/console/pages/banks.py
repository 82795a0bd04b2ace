"""Banks for admins: the list, one bank's entries, adding, enabling and disabling entries, importing a list."""

from __future__ import annotations

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from vigil import signals
from vigil.banks import service
from vigil.console.signin import Reviewer
from vigil.console.web import PageError, allowed, console_router, posted, render, see_other
from vigil.errors import VigilError
from vigil.roles import Permission
from vigil.schema import AfterId, Id
from vigil.store.banks import Bank
from vigil.web.deps import CurrentRuntime, DbSession

router = console_router()
BANK_PAGE = 100
MAX_IMPORT_BYTES = 200 * 1024 * 1024  # a full shared list (GIFCT-scale CSV) fits; beyond that use `vigil bank import`


def bank_by_id(s: Session, bank_id: int) -> Bank:
    bank = s.get(Bank, bank_id)
    if bank is None:
        raise PageError(404, f"There is no bank with id {bank_id}.", "/console/banks")
    return bank


def bank_page(request: Request, reviewer: Reviewer, s: Session, bank: Bank, after: int = 0, status_code: int = 200,
              **extra) -> HTMLResponse:
    entries = service.list_entries(s, bank, limit=BANK_PAGE, after_id=after)
    next_after = entries[-1].id if len(entries) == BANK_PAGE else None
    return render(request, reviewer, "bank.html", status_code=status_code, bank=bank, entries=entries, after=after,
                  next_after=next_after, page_size=BANK_PAGE, signal_types=signals.names(), **extra)


@router.get("/banks")
def banks_list(request: Request, s: DbSession, reviewer: Reviewer = Depends(allowed(Permission.ADMIN))) -> HTMLResponse:
    return render(request, reviewer, "banks.html", banks=service.list_banks(s), counts=service.entry_counts(s))


@router.get("/banks/{bank_id}")
def bank_view(request: Request, bank_id: Id, s: DbSession, after: AfterId = 0,
              reviewer: Reviewer = Depends(allowed(Permission.ADMIN))) -> HTMLResponse:
    return bank_page(request, reviewer, s, bank_by_id(s, bank_id), after=after)


@router.post("/banks/{bank_id}/entries")
async def bank_add_entry(request: Request, bank_id: Id, s: DbSession,
                         reviewer: Reviewer = Depends(posted(Permission.ADMIN))) -> Response:
    form = await request.form()
    bank = bank_by_id(s, bank_id)
    labels = {k: str(form.get(f"label_{k}") or "") for k in service.GIFCT_LABELS}
    try:
        entry = service.add_entry(s, bank, str(form.get("signal_type") or ""), str(form.get("value") or ""),
                                  labels=labels, source=str(form.get("source") or ""), note=str(form.get("note") or ""))
    except VigilError as e:
        return bank_page(request, reviewer, s, bank, status_code=422, error=f"The entry was not added: {e}")
    return see_other(f"/console/banks/{bank.id}", s, reviewer, f"Entry {entry.id} saved.")


@router.post("/banks/{bank_id}/entries/{entry_id}/enabled")
async def bank_toggle_entry(request: Request, bank_id: Id, entry_id: Id, s: DbSession,
                            reviewer: Reviewer = Depends(posted(Permission.ADMIN))) -> Response:
    form = await request.form()
    bank = bank_by_id(s, bank_id)
    try:
        entry = service.get_entry(s, entry_id)
    except service.UnknownEntry as e:
        raise PageError(404, str(e), f"/console/banks/{bank.id}") from None
    if entry.bank_id != bank.id:
        raise PageError(404, f"Entry {entry_id} is not in bank {bank.name}.", f"/console/banks/{bank.id}")
    enabled = form.get("enabled") == "on"
    service.set_entry_enabled(s, entry_id, enabled)
    return see_other(f"/console/banks/{bank.id}", s, reviewer, f"Entry {entry_id} {'enabled' if enabled else 'disabled'}.")


@router.post("/banks/{bank_id}/import")
async def bank_import(request: Request, bank_id: Id, s: DbSession, rt: CurrentRuntime,
                      reviewer: Reviewer = Depends(posted(Permission.ADMIN))) -> Response:
    form = await request.form()
    bank = bank_by_id(s, bank_id)
    upload = form.get("file")
    list_format = str(form.get("fmt") or "")
    if upload is None or isinstance(upload, str):
        return bank_page(request, reviewer, s, bank, status_code=422, error="Choose a file to import.")
    data = await upload.read(MAX_IMPORT_BYTES + 1)
    if len(data) > MAX_IMPORT_BYTES:
        return bank_page(request, reviewer, s, bank, status_code=413,
                         error=f"The file is over {MAX_IMPORT_BYTES // 2**20} MB; import it with `vigil bank import`.")
    try:
        # Parsing and validating a list is CPU work: it runs in the media pool, never on the event loop.
        imported = await rt.offload_media(service.import_entries, s, bank, list_format, data)
    except VigilError as e:
        return bank_page(request, reviewer, s, bank, status_code=422, error=f"Nothing was imported: {e}")
    return bank_page(request, reviewer, s, bank, report=imported,
                     flash=f"Imported {upload.filename or 'the file'}: {imported.added} added, {imported.updated} updated.")
