"""`vigil config`: every setting, where it comes from, and its value now (secrets masked)."""

from __future__ import annotations

from typing import Annotated

import typer

from vigil.cli.common import settings as load_settings
from vigil.settings import Settings

config_app = typer.Typer(help="Vigil's settings: one VIGIL_* environment variable each (or a .env file).",
                         no_args_is_help=True)


def reference_table() -> str:
    """The Markdown table of every variable with its default and meaning (the README carries it; a test compares)."""
    rows = ["| Variable | Default | What it sets |", "|---|---|---|"]
    for name, field in Settings.model_fields.items():
        default = field.default
        shown = "(none)" if default is None else ("on" if default is True else "off" if default is False else str(default))
        rows.append(f"| `VIGIL_{name.upper()}` | `{shown}` | {field.description} |")
    return "\n".join(rows)


@config_app.command("show")
def show(
    markdown: Annotated[bool, typer.Option("--reference", help="Print the reference table of every variable "
                                                               "(Markdown, as in the README) instead of the values.")] = False,
) -> None:
    """Print each setting's value as this process would use it (secrets masked)."""
    if markdown:
        typer.echo(reference_table())
        return
    s = load_settings()
    for name in Settings.model_fields:
        value = getattr(s, name)
        if "secret" in name or "token" in name:
            value = "(set)" if value else "(none)"
        typer.echo(f"VIGIL_{name.upper()}={'' if value is None else value}")


def register(app: typer.Typer) -> None:
    app.add_typer(config_app, name="config")
