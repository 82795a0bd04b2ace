"""Options and helpers shared by every CLI command."""

from __future__ import annotations

from typing import Annotated, Optional, Sequence

import typer

from vigil.config import DATABASE_ENV, database_url

DbOption = Annotated[
    Optional[str],
    typer.Option("--db", envvar=DATABASE_ENV, help="Database URL (sqlite:///path or postgresql://...). Default: a SQLite file under ./var/."),
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


def migrated(db: str | None) -> str:
    """The database URL (--db, VIGIL_DATABASE_URL or the default), its schema brought up to date.

    Every command that touches the database starts here, so a new installation needs no separate
    migrate step, and an unreachable database is a usage error that says where we looked.
    """
    from vigil.store.db import upgrade

    url = database_url(db)
    try:
        upgrade(url)
    except Exception as e:  # any driver error: say where we tried, and what to check
        raise fail(f"cannot open the database at {url.split('@')[-1]}: {e}",
                   "check --db / VIGIL_DATABASE_URL and that the server is running")
    return url
