"""`vigil bank ...`: create banks, import and export shared hash lists, add files, enable and disable entries."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from vigil.cli.common import DbOption, fail, migrated

bank_app = typer.Typer(help="Hash banks: lists of known signals (PDQ, video PDQ, md5, sha256) with GIFCT labels.", no_args_is_help=True)


class Format(str, Enum):
    te_csv = "te_csv"
    tat_json = "tat_json"
    hma = "hma"


BankName = Annotated[str, typer.Argument(help="The bank's name (`vigil bank list` shows them).", show_default=False)]
EntryId = Annotated[int, typer.Argument(help="The entry's id (printed by `vigil bank add`, carried by every match).", show_default=False)]
FormatOption = Annotated[Format, typer.Option("--format", "-f", help="te_csv (ThreatExchange CSV), tat_json (Tech Against Terrorism), hma (HMA bank content).")]


def _session(db: str | None):

    return migrated(db).db.session()


def _bank_errors():
    from vigil.errors import VigilError

    return (VigilError,)


@bank_app.command("create")
def create(
    name: Annotated[str, typer.Argument(help="A new bank name: letters, digits, spaces, _ . : / -.", show_default=False)],
    threshold: Annotated[int, typer.Option(help="Largest PDQ distance that matches (PDQ's reference is 31).")] = 31,
    negative: Annotated[bool, typer.Option("--negative", help="Known false positives: entries suppress the matches they overlap.")] = False,
    no_dihedral: Annotated[bool, typer.Option("--no-dihedral", help="Do not match rotated or flipped copies.")] = False,
    description: Annotated[str, typer.Option(help="What the bank holds and where it comes from.")] = "",
    db: DbOption = None,
) -> None:
    """Create a bank."""
    from vigil.banks import service

    try:
        with _session(db) as s:
            bank = service.create_bank(s, name, threshold=threshold, negative=negative, dihedral=not no_dihedral, description=description)
            kind = "negative bank" if bank.negative else "bank"
    except _bank_errors() as e:
        raise fail(str(e), "`vigil bank list` shows existing banks; `vigil bank create --help` shows the options")
    typer.echo(f"created {kind} {name!r} (threshold {threshold}, dihedral {'off' if no_dihedral else 'on'})")


@bank_app.command("list")
def list_(db: DbOption = None) -> None:
    """List banks with their settings and entry counts."""
    from vigil.banks import service

    with _session(db) as s:
        counts = service.entry_counts(s)
        rows = [(b.name, b.threshold, b.negative, b.dihedral, *counts.get(b.id, (0, 0)), b.description) for b in service.list_banks(s)]
    table = Table("bank", "threshold", "negative", "dihedral", "entries", "enabled", "description")
    for name, threshold, negative, dihedral, total, enabled, description in rows:
        table.add_row(name, str(threshold), "yes" if negative else "no", "on" if dihedral else "off", str(total), str(enabled), description)
    Console().print(table)
    if not rows:
        typer.echo("no banks yet: `vigil bank create NAME` makes one")


@bank_app.command("import")
def import_(
    name: BankName,
    file: Annotated[Path, typer.Argument(help="The list to import, in the --format given.", show_default=False)],
    fmt: FormatOption,
    db: DbOption = None,
) -> None:
    """Import a shared hash list into a bank; bad lines are rejected with their line number, good ones still land."""
    from vigil.banks import service

    if not file.is_file():
        raise fail(f"{file} is not a readable file", "give the path of the exported list")
    data = file.read_bytes()
    lines = max(1, data.count(b"\n"))
    try:
        with _session(db) as s, Progress(
            TextColumn("importing"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), transient=True
        ) as progress:
            task = progress.add_task("import", total=lines)
            report = service.import_entries(s, name, fmt.value, data, progress=lambda n: progress.update(task, completed=min(n, lines)))
    except _bank_errors() as e:
        raise fail(str(e), "`vigil bank list` shows the banks; `vigil bank create NAME` makes one")
    typer.echo(f"added {report.added}, updated {report.updated}, deleted {report.deleted}, unchanged {report.unchanged}, rejected {len(report.rejected)}")
    for line, reason in report.rejected:
        typer.echo(f"  line {line}: {reason}")


@bank_app.command("export")
def export(
    name: BankName,
    fmt: FormatOption,
    output: Annotated[Optional[Path], typer.Option("-o", "--output", help="Write here instead of standard output.")] = None,
    db: DbOption = None,
) -> None:
    """Export a bank's enabled entries in a shared format."""
    from vigil.banks import service

    try:
        with _session(db) as s:
            data = service.export_entries(s, name, fmt.value)
    except _bank_errors() as e:
        raise fail(str(e), "`vigil bank list` shows the banks")
    if output is None:
        typer.echo(data.decode(), nl=False)
    else:
        output.write_bytes(data)
        typer.echo(f"wrote {output}", err=True)


@bank_app.command("add")
def add(
    name: BankName,
    files: Annotated[list[Path], typer.Argument(help="Media files to hash and add.")],
    entity: Annotated[str, typer.Option(help="GIFCT label: the producing entity.")] = "",
    behaviour: Annotated[str, typer.Option(help="GIFCT label: the behaviour shown.")] = "",
    content_type: Annotated[str, typer.Option("--content-type", help="GIFCT label: the content type.")] = "",
    source: Annotated[str, typer.Option(help="Where the content came from.")] = "",
    note: Annotated[str, typer.Option(help="A note for reviewers (no personal data).")] = "",
    db: DbOption = None,
) -> None:
    """Hash files and add their signals to a bank, with GIFCT labels."""
    from vigil import signals
    from vigil.banks import service

    labels = {"entity": entity, "behaviour": behaviour, "content_type": content_type}
    errors = 0
    try:
        with _session(db) as s:
            bank = service.get_bank(s, name)
            for path in files:
                try:
                    found = signals.hash_path(path)
                except (signals.MediaError, OSError) as e:
                    typer.secho(f"{path}: skipped: {e}", err=True, fg=typer.colors.YELLOW)
                    errors += 1
                    continue
                for sig in found:
                    entry = service.add_entry(s, bank, sig.type, sig.value, labels=labels, source=source, note=note)
                    typer.echo(f"{path}: {sig.type} entry {entry.id}")
    except _bank_errors() as e:
        raise fail(str(e), "`vigil bank list` shows the banks")
    if errors:
        typer.echo(f"{errors} file(s) could not be hashed", err=True)


def _set_enabled(entry_id: int, enabled: bool, db: str | None) -> None:
    from vigil.banks import service

    try:
        with _session(db) as s:
            service.set_entry_enabled(s, entry_id, enabled)
    except _bank_errors() as e:
        raise fail(str(e), "entry ids are printed by `vigil bank add` and carried by matches")
    typer.echo(f"entry {entry_id} {'enabled' if enabled else 'disabled'}")


@bank_app.command("disable")
def disable(name: BankName, entry_id: EntryId, db: DbOption = None) -> None:
    """Stop an entry matching (it stays in the bank and can be enabled again)."""
    _check_entry_bank(name, entry_id, db)
    _set_enabled(entry_id, False, db)


@bank_app.command("enable")
def enable(name: BankName, entry_id: EntryId, db: DbOption = None) -> None:
    """Make a disabled entry match again."""
    _check_entry_bank(name, entry_id, db)
    _set_enabled(entry_id, True, db)


def _check_entry_bank(name: str, entry_id: int, db: str | None) -> None:
    from vigil.banks import service

    try:
        with _session(db) as s:
            bank = service.get_bank(s, name)
            if service.get_entry(s, entry_id).bank_id != bank.id:
                raise service.UnknownEntry(f"entry {entry_id} is not in bank {name!r}")
    except _bank_errors() as e:
        raise fail(str(e), "check the bank name and entry id")


def register(app: typer.Typer) -> None:
    """Add this area's commands to the root app."""
    app.add_typer(bank_app, name="bank")
