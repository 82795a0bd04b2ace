"""Options and helpers shared by every CLI command."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from vigil.config import DATABASE_ENV

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
