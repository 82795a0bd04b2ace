"""`vigil ledger` (verify, checkpoint, show, key), `vigil report transparency` and `vigil statements`."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from vigil.cli.common import DbOption, check_state, fail, migrated, run_loop, settings
from vigil.runtime import Loop

ledger_app = typer.Typer(help="The tamper-evident decision ledger: verify it, publish signed checkpoints, inspect it.",
                         no_args_is_help=True)
report_app = typer.Typer(help="Reports computed from the ledger and the cases.", no_args_is_help=True)
statements_app = typer.Typer(help="Statements of reasons and their submission to the EU Transparency Database.",
                             no_args_is_help=True)


def _verifiers(keys: list[str], home: Path, origin: str):
    from vigil.ledger.checkpoint import CheckpointError, Verifier, local_verifier

    found = []
    for text in keys:
        path = Path(text)
        try:
            found.append(Verifier.parse(path.read_text() if path.is_file() else text))
        except CheckpointError as exc:
            raise fail(f"--key {text}: {exc}", "pass the output of `vigil ledger key`, or a file holding it")
    if not found:
        local = local_verifier(home, origin)
        if local is not None:
            found.append(local)
    return found


@ledger_app.command()
def verify(
    db: DbOption = None,
    checkpoint: Annotated[Optional[list[Path]], typer.Option("--checkpoint", help="A signed checkpoint saved earlier (repeatable). The database must still contain it.")] = None,
    key: Annotated[Optional[list[str]], typer.Option("--key", help="Trusted verifier key, or a file holding one (repeatable). Default: this installation's key.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the findings as JSON.")] = False,
) -> None:
    """Recompute every leaf, node, checkpoint and ledgered row; exit 1 and name what was tampered with."""
    from vigil.ledger.verify import verify as run_verify

    notes = []
    for path in checkpoint or []:
        try:
            # bytes as saved: no newline translation, so a CRLF or newline-less note is judged as it is
            notes.append(path.read_bytes().decode("utf-8"))
        except OSError as exc:
            raise fail(f"cannot read checkpoint {path}: {exc}", "pass a file saved from `vigil ledger checkpoint -o FILE`")
        except UnicodeDecodeError as exc:
            raise fail(f"checkpoint {path} is not a signed note: not valid UTF-8 (byte {exc.start})",
                       "pass a file saved from `vigil ledger checkpoint -o FILE`")
    rt = migrated(db)
    verifiers = _verifiers(key or [], rt.settings.home, rt.settings.ledger_origin)
    console = Console(stderr=True)
    columns = (TextColumn("{task.description:<28}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=as_json) as progress, rt.db.session() as s:
        tasks: dict[str, int] = {}

        def tick(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = progress.add_task(stage, total=total)
            progress.update(tasks[stage], completed=done, total=total)

        report = run_verify(s, verifiers, notes, progress=tick)
    if as_json:
        typer.echo(json.dumps({"ok": report.ok, "leaves": report.leaves, "nodes": report.nodes, "rows": report.rows,
                               "checkpoints": [cp.size for cp in report.checkpoints],
                               "findings": [f.__dict__ for f in report.findings]}, indent=2))
    else:
        out = Console()
        if not verifiers:
            out.print("[yellow]warning:[/] no verifier key (no local key, no --key): checkpoint signatures cannot be trusted")
        out.print(f"{report.leaves} leaves, {report.nodes} stored nodes, {report.rows} ledgered rows, "
                  f"{len(report.checkpoints)} signed checkpoints checked")
        if report.ok:
            latest = report.checkpoints[-1] if report.checkpoints else None
            out.print("[green]ledger verified[/]" + (f": checkpoint size {latest.size}, root {latest.root.hex()}" if latest else ""))
        else:
            table = Table("kind", "leaf", "row", "finding", title=f"{len(report.findings)} findings", show_lines=False)
            for f in report.findings:
                row = f"{f.table} #{f.row_id}" if f.table else ""
                table.add_row(f.kind, "" if f.leaf is None else str(f.leaf), row, f.message)
            out.print(table)
    if not report.ok:
        raise typer.Exit(1)


@ledger_app.command("checkpoint")
def checkpoint_cmd(
    db: DbOption = None,
    output: Annotated[Optional[Path], typer.Option("-o", "--output", help="Also save the signed note to this file.")] = None,
    every: Annotated[Optional[float], typer.Option(min=1.0, help="Keep running and publish every SECONDS while the ledger grows.")] = None,
) -> None:
    """Sign and publish a checkpoint now (or every N seconds with --every); print the signed note."""
    from vigil.ledger import checkpoint as cp

    rt = migrated(db)
    signer = rt.signer()
    if every is not None:
        run_loop(Loop("checkpoints", every, lambda: cp.publish_if_due(rt.db, signer, every) and False),
                 f"publishing a checkpoint every {every:g} s while the ledger grows")
        return
    with rt.db.session() as s:
        row = cp.publish(s, signer)
        note = row.note
    typer.echo(note, nl=False)
    if output is not None:
        output.write_text(note, encoding="utf-8")


@ledger_app.command()
def show(
    db: DbOption = None,
    leaves: Annotated[int, typer.Option(min=0, help="How many of the newest leaves to list.")] = 10,
) -> None:
    """Show the ledger's size, its latest checkpoint and its newest leaves."""
    from vigil.ledger import checkpoint as cp
    from vigil.ledger import log

    rt = migrated(db)
    out = Console()
    with rt.db.session() as s:
        size = log.size(s)
        latest = cp.latest_checkpoint(s)
        rows = log.leaves(s, max(0, size - leaves), size) if leaves else []
        out.print(f"ledger size: {size}")
        if latest is None:
            out.print("no checkpoint yet: publish one with `vigil ledger checkpoint`")
        else:
            out.print(f"latest checkpoint: size {latest.tree_size}, root {latest.root_hash.hex()}, "
                      f"signed by {latest.key_name} at {latest.created_at:%Y-%m-%d %H:%M:%S}")
        if rows:
            table = Table("index", "kind", "row", "data")
            for leaf in rows:
                table.add_row(str(leaf.idx), leaf.kind, f"{leaf.ref_table} #{leaf.ref_id}", leaf.data)
            out.print(table)


@ledger_app.command()
def key() -> None:
    """Print the verifier key that checks this installation's checkpoint signatures (creating the key if needed)."""
    from vigil.ledger.checkpoint import load_signer
    from vigil.runtime import make_home

    s = settings()
    make_home(s.home)
    typer.echo(str(load_signer(s.home, s.ledger_origin).verifier))


@report_app.command()
def transparency(
    date_from: Annotated[str, typer.Option("--from", help="First day of the period, YYYY-MM-DD.")],
    date_to: Annotated[str, typer.Option("--to", help="Last day of the period (inclusive), YYYY-MM-DD.")],
    fmt: Annotated[str, typer.Option("--format", help="csv, html or json.")] = "html",
    output: Annotated[Optional[Path], typer.Option("-o", "--output", help="Write to this file instead of stdout.")] = None,
    db: DbOption = None,
) -> None:
    """A transparency report (DSA Art. 15/24, TCO Art. 7) for a period, from the cases and the ledger.

    Publishes a checkpoint first and computes the decision figures from the ledger up to it, so the
    report names a signed state that anyone can reproduce it from.
    """
    from vigil.transparency import report

    try:
        start, end = date.fromisoformat(date_from), date.fromisoformat(date_to)
    except ValueError:
        raise fail(f"dates must be YYYY-MM-DD (got --from {date_from!r} --to {date_to!r})", "e.g. --from 2026-01-01 --to 2026-06-30")
    if end < start:
        raise fail(f"--to {date_to} is before --from {date_from}", "swap them")
    if fmt not in report.FORMATS:
        raise fail(f"unknown format {fmt!r}", f"use one of {', '.join(report.FORMATS)}")
    from vigil.ledger import checkpoint as cp

    rt = migrated(db)
    with rt.db.session() as s:
        figures = report.compute(s, start, end, cp.publish(s, rt.signer()))
    text = report.render(figures, fmt)
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        typer.echo(f"wrote {output}", err=True)


@statements_app.command()
def submit(
    db: DbOption = None,
    endpoint: Annotated[Optional[str], typer.Option(help="Base URL of the Transparency Database API. Default: VIGIL_TDB_URL.")] = None,
    token_env: Annotated[str, typer.Option(help="Name of the environment variable that holds the Bearer token.")] = "VIGIL_TDB_TOKEN",
    every: Annotated[Optional[float], typer.Option(min=1.0, help="Keep running and drain the outbox every SECONDS.")] = None,
) -> None:
    """Send every pending statement that is due, in batches of up to 100; exit 1 if any failed."""
    import os

    from vigil.transparency.submit import Submission, SubmitError, config, submit_pending

    rt = migrated(db)
    try:
        base, token = config(endpoint or rt.settings.tdb_url, os.environ.get(token_env))
    except SubmitError as exc:
        raise fail(str(exc), f"e.g. export VIGIL_TDB_URL=https://transparency.dsa.ec.europa.eu {token_env}=...")
    if every is not None:
        submission = Submission(rt.db, base, token)
        run_loop(Loop("statements", every, submission, close=submission.close),
                 f"submitting due statements every {every:g} s")
        return
    result = submit_pending(rt.db, base, token)
    typer.echo(f"submitted {result.submitted}, failed {result.failed}, to retry later {result.retrying}")
    for error in result.errors:
        typer.echo(f"  failed: {error}", err=True)
    if result.failed:
        raise typer.Exit(1)


@statements_app.command("list")
def list_statements(
    db: DbOption = None,
    state: Annotated[Optional[str], typer.Option(help="Only this state: pending, submitted or failed.")] = None,
    limit: Annotated[int, typer.Option(min=1, help="At most this many, newest first.")] = 50,
) -> None:
    """List statements of reasons with their submission state."""
    import sqlalchemy as sa

    from vigil.store.statements import STATES, Statement

    check_state(state, STATES)
    with migrated(db).db.session() as s:
        query = sa.select(Statement).order_by(Statement.id.desc()).limit(limit)
        if state:
            query = query.where(Statement.state == state)
        table = Table("puid", "decided", "state", "attempts", "last error")
        for st in s.scalars(query):
            table.add_row(st.puid, st.decision_date.isoformat(), st.state, str(st.attempts), st.last_error or "")
    Console().print(table)


def register(app: typer.Typer) -> None:
    """Add this area's commands to the root app."""
    app.add_typer(ledger_app, name="ledger")
    app.add_typer(report_app, name="report")
    app.add_typer(statements_app, name="statements")
