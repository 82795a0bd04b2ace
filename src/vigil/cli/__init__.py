"""The `vigil` command. Each area registers its own commands from its own module."""

from __future__ import annotations

import typer

from vigil.cli import banks, demo, ledger, media, notices, service, text

app = typer.Typer(
    name="vigil",
    help="Vigil: match media against hash banks, detect violent-extremist text, run notice and action, and prove it with a verifiable ledger.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

for area in (media, banks, text, service, notices, ledger, demo):
    area.register(app)


def main() -> None:
    app()
