"""Options and helpers shared by every CLI command."""

from __future__ import annotations

from typing import Annotated, Optional, Sequence

import typer

from vigil.runtime import Loop, Runtime
from vigil.settings import Settings

DbOption = Annotated[
    Optional[str],
    typer.Option("--db", help="Database URL (sqlite:///path or postgresql://...). Default: VIGIL_DATABASE_URL, else "
                 "a SQLite file in the home folder (VIGIL_HOME, ./var)."),
]


def fail(message: str, hint: str | None = None, code: int = 2) -> typer.Exit:
    """Print what went wrong and what to do, then exit with a usage error code."""
    typer.secho(f"error: {message}", err=True, fg=typer.colors.RED)
    if hint:
        typer.echo(f"hint: {hint}", err=True)
    return typer.Exit(code)


def check_state(state: str | None, states: Sequence[str]) -> None:
    """Refuse a --state filter the listing does not know, naming the ones it does."""
    if state is not None and state not in states:
        raise fail(f"unknown state {state!r}", f"use one of {', '.join(states)}")


def settings(db: str | None = None, **overrides) -> Settings:
    """The settings from the environment, with --db and other options on top; a bad value is a usage error."""
    from pydantic import ValidationError

    if db:
        overrides["database_url"] = db
    try:
        return Settings(**overrides)
    except ValidationError as e:
        first = e.errors()[0]
        name = ".".join(str(p) for p in first.get("loc", ()))
        raise fail(f"setting {name}: {first.get('msg')}", f"check VIGIL_{name.upper()} or the matching option") from None


def migrated(db: str | None, **overrides) -> Runtime:
    """The runtime for this command, its database's schema brought up to date.

    Every command that touches the database starts here, so a new installation needs no separate
    migrate step, and an unreachable database is a usage error that says where we looked.
    """
    s = settings(db, **overrides)
    try:
        return Runtime.build(s, migrate=True)
    except Exception as e:  # any driver error: say where we tried, and what to check
        raise fail(f"cannot open the database at {s.database.split('@')[-1]}: {e}",
                   "check --db / VIGIL_DATABASE_URL and that the server is running") from None


def run_loop(loop: Loop, what: str) -> None:
    """Run a background loop in the foreground until Ctrl-C (or SIGTERM), saying what it does."""
    import signal
    import threading

    from vigil.logs import configure

    configure()
    done = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: done.set())
    typer.echo(f"{what}; Ctrl-C stops", err=True)
    loop.start()
    done.wait()
    loop.stop()
