"""`vigil hash` and `vigil scan`: fingerprint media files and match folders of them against hash banks."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Iterator, Optional

import typer

from vigil.cli.common import DbOption, fail, settings
from vigil.runtime import Runtime
from vigil.settings import Settings

SINGLE_THREADED_ENV = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
"""Each scan worker hashes on one core: BLAS thread pools inside workers would fight over the same cores."""


def hash_file(path: str) -> tuple[str, list, str | None]:
    """(path, signals, error) for one file; runs in scan's worker processes, so it never raises for bad media."""
    from vigil.signals import MediaError, hash_path

    try:
        return path, hash_path(path), None
    except MediaError as e:
        return path, [], str(e)
    except Exception as e:  # a decoder bug on hostile input must not end the scan
        return path, [], f"could not hash this file ({type(e).__name__}: {e})"


class ScanWorker:
    """What one scan worker process holds: its own runtime (so matching runs on every core beside hashing, not in
    the parent) and the banks to match. Set once by `_init_worker` in each worker process of the pool."""

    runtime: Runtime | None = None
    banks: list[str] | None = None


def _init_worker(settings: Settings, banks: list[str] | None) -> None:
    os.environ.update(SINGLE_THREADED_ENV)  # this worker process's own BLAS pools, before numpy loads
    ScanWorker.runtime, ScanWorker.banks = Runtime.build(settings), banks


def scan_file(path: str) -> tuple[str, list, list, str | None]:
    """(path, signals, matches, error) for one file, in a scan worker."""
    name, found, error = hash_file(path)
    assert ScanWorker.runtime is not None, "scan_file runs in a worker started by _init_worker"
    matches = ScanWorker.runtime.matcher.match(found, ScanWorker.banks) if found else []
    return name, found, matches, error


def walk(paths: list[Path]) -> Iterator[Path]:
    """Files under `paths`, recursively, in a stable order (symlinked folders are not followed)."""
    for root in paths:
        if not root.is_dir():
            yield root
            continue
        for folder, dirs, files in os.walk(root):
            dirs.sort()
            for name in sorted(files):
                yield Path(folder) / name


def _shown(path: str) -> str:
    """A path safe to print: control characters escaped, no Rich markup."""
    from rich.markup import escape

    return escape(path.encode("unicode_escape", "backslashreplace").decode("ascii") if not path.isprintable() else path)


def _signal_dict(signal) -> dict:
    return {"type": signal.type, "value": signal.value, "quality": signal.quality}


def _match_dict(match) -> dict:
    return {"bank": match.bank, "entry_id": match.entry_id, "signal_type": match.signal_type, "distance": match.distance, "labels": match.labels}


def _display_value(value: str) -> str:
    if ";" in value:
        return f"{value[:64]}… ({value.count(';') + 1} frames)"
    return value


def _check_paths(paths: list[Path]) -> None:
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise fail(f"no such file or folder: {', '.join(missing)}", "check the path; folders are scanned recursively")


def hash_command(
    files: Annotated[list[Path], typer.Argument(help="Image, video or PDF files.", show_default=False)],
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per file: path, signals, error.")] = False,
) -> None:
    """Print each file's signals: PDQ (with quality) for images, video PDQ for videos, md5 and sha256 for all.

    The content decides which signals apply, never the file name. A file that cannot be hashed gets an error and the
    others are still hashed. The exit status is 1 when no file could be hashed.
    """
    from rich.console import Console

    _check_paths(files)
    out = Console(soft_wrap=True, highlight=False, emoji=False)
    err = Console(stderr=True, soft_wrap=True, highlight=False, emoji=False)
    failed = total = 0
    for path in walk(files):
        name, found, error = hash_file(str(path))
        total += 1
        failed += error is not None
        if as_json:
            typer.echo(json.dumps({"path": name, "signals": [_signal_dict(s) for s in found], "error": error}))
            continue
        if error:
            err.print(f"[red]{_shown(name)}: {_shown(error)}[/red]")
            continue
        out.print(f"[bold]{_shown(name)}[/bold]")
        for s in found:
            quality = "" if s.quality is None else f"  quality {s.quality}"
            out.print(f"  {s.type:<9} {_display_value(s.value)}{quality}")
    if total and failed == total:
        raise typer.Exit(1)


def scan_command(
    paths: Annotated[list[Path], typer.Argument(help="Files and folders (searched recursively).", show_default=False)],
    bank: Annotated[Optional[list[str]], typer.Option("--bank", "-b", help="Bank to match against (repeat for several). Default: every bank. Negative banks always apply, suppressing their known false positives.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per file: path, signals, matches, error.")] = False,
    workers: Annotated[Optional[int], typer.Option("--workers", "-w", min=1, help="Processes hashing in parallel. Default: one per core.")] = None,
    db: DbOption = None,
) -> None:
    """Hash every file under PATHS and match it against hash banks.

    Files that cannot be hashed (corrupt, truncated, empty, unsupported, decompression bombs) get an error and the scan goes on. Exits 0 once the scan has run, whatever it found; 2 for usage errors.
    """
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from sqlalchemy.exc import SQLAlchemyError

    from vigil.banks.service import UnknownBank

    _check_paths(paths)
    try:
        rt = Runtime.build(settings(db), migrate=True)
        rt.matcher.match([], bank or None)  # names unknown banks now, before any worker starts
    except UnknownBank as e:
        raise fail(str(e).split(";")[0], "create or import the bank first (`vigil bank create NAME`, `vigil bank import`), or check the name with `vigil bank list`")
    except (SQLAlchemyError, OSError) as e:
        raise fail(f"cannot use the database: {type(e).__name__}: {str(e).splitlines()[0]}", "check --db or VIGIL_DATABASE_URL")
    files = [str(p) for p in walk(paths)]
    workers = workers or os.cpu_count() or 1
    err = Console(stderr=True, emoji=False)
    out = Console(soft_wrap=True, highlight=False, emoji=False)
    summary = {"files": 0, "matched": 0, "errors": 0}
    report: list[tuple[str, list, str | None]] = []
    progress = Progress(TextColumn("scanning"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=err, transient=as_json)
    with progress, ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn"),
                                       initializer=_init_worker, initargs=(rt.settings, bank or None)) as pool:
        task = progress.add_task("scan", total=len(files))
        for name, found, matches, error in pool.map(scan_file, files, chunksize=4):
            summary["files"] += 1
            summary["matched"] += bool(matches)
            summary["errors"] += error is not None
            if as_json:
                typer.echo(json.dumps({
                    "path": name,
                    "signals": [_signal_dict(s) for s in found],
                    "matches": [_match_dict(m) for m in matches],
                    "error": error,
                }))
            elif matches or error:
                report.append((name, matches, error))
            progress.advance(task)
    if not as_json:
        _print_report(out, report, summary)


def _print_report(console, report, summary) -> None:
    for name, matches, error in report:
        if error:
            console.print(f"[red]error[/red]  {_shown(name)}: {_shown(error)}")
            continue
        console.print(f"[bold green]match[/bold green]  {_shown(name)}")
        for m in matches:
            labels = ", ".join(f"{k}={v}" for k, v in m.labels.items() if v)
            console.print(f"       bank {_shown(m.bank)}, entry {m.entry_id}, {m.signal_type} distance {m.distance}  {_shown(labels)}")
    console.print(f"{summary['files']} files scanned, {summary['matched']} matched, {summary['errors']} could not be hashed")


def register(app: typer.Typer) -> None:
    """Add this area's commands to the root app."""
    app.command("hash")(hash_command)
    app.command("scan")(scan_command)
