"""The `vigil` command. Each area registers its own commands from its own module."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from vigil import __version__
from vigil.cli import banks, config, demo, ledger, media, notices, service, text

WORKFLOW = """Vigil: match media against hash banks, detect violent-extremist text, run notice and action, and prove it
with a verifiable ledger. Content flows one way: signals -> match -> policy -> case -> decision -> ledger.

The usual workflow:

\b
  1. bank      keep banks of known content: `vigil bank create tvec`, `vigil bank import tvec list.csv -f te_csv`
  2. scan      match files against them: `vigil scan FOLDER --bank tvec`; `vigil hash FILE` shows a file's signals
     check-text   read a text through obfuscation and code words, with the reason: `vigil check-text "..."`
  3. serve     run the API and console for the platform: `vigil keys create --role admin --name ops`, `vigil serve`
  4. notices   reports arrive at POST /v1/notices, are grouped into cases, and wait in `vigil cases list`
  5. review    reviewers decide in the console (/console); webhooks go out through `vigil outbox`
  6. ledger    every decision is in a Merkle log: `vigil ledger checkpoint`, `vigil ledger verify`
  7. report    `vigil report transparency --from 2026-01-01 --to 2026-06-30`; `vigil statements submit`

Every command reads its database from --db or VIGIL_DATABASE_URL; every other setting from VIGIL_* (README).
`vigil demo` sets all of it up with generated demo data and serves it."""

app = typer.Typer(
    name="vigil",
    help=WORKFLOW,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
    rich_markup_mode=None,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"vigil {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[Optional[bool], typer.Option("--version", callback=_version, is_eager=True,
                                                    help="Print Vigil's version and exit.")] = None,
) -> None:
    pass


for area in (media, banks, text, service, notices, ledger, demo, config):
    area.register(app)


def main() -> None:
    app()
