"""`vigil serve` and `vigil keys`: run the HTTP service and manage the API keys that may call it."""

from __future__ import annotations

import json
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

from vigil.cli.common import DbOption, fail, migrated
from vigil.roles import Role

keys_app = typer.Typer(help="Create, list and revoke API keys. Keys are stored only as hashes; there are no default keys.",
                       no_args_is_help=True)


def serve(
    db: DbOption = None,
    host: Annotated[str, typer.Option(help="Interface to listen on. The default, loopback, keeps the service private to this machine.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="TCP port.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, max=64, help="Worker processes, each with its own listening socket (the kernel spreads connections) and match index; bank changes reach all within 1 s.")] = 1,
    rate_limit: Annotated[Optional[str], typer.Option(help="Requests per key and worker: '2000/s' (the default), '6000/min', or 'off'. Env: VIGIL_RATE_LIMIT.")] = None,
    max_media_bytes: Annotated[Optional[int], typer.Option(min=1, help="Largest media accepted, in bytes (default 50 MB). Env: VIGIL_MAX_MEDIA_BYTES.")] = None,
    embeddings: Annotated[bool, typer.Option(help="Let text detection use sentence embeddings where the lexicon leaves doubt. Env: VIGIL_TEXT_EMBEDDINGS=off.")] = True,
) -> None:
    """Run the HTTP API (and console), after bringing the database schema up to date. Every setting is read from
    VIGIL_* variables (README), with these options on top; SIGTERM or Ctrl-C stops every worker."""
    from vigil import keys, server

    overrides: dict = {}
    if rate_limit is not None:
        overrides["rate_limit"] = rate_limit
    if max_media_bytes is not None:
        overrides["max_media_bytes"] = max_media_bytes
    if not embeddings:
        overrides["text_embeddings"] = False
    rt = migrated(db, **overrides)
    with rt.db.session() as s:
        live = [k for k in keys.list_keys(s) if k.revoked_at is None]
    settings = rt.settings.model_copy(update={"database_url": rt.db.url})
    rt.close()
    shown = f"[{host}]" if ":" in host else host
    typer.echo(f"Vigil {'with ' + str(workers) + ' workers ' if workers > 1 else ''}serving on http://{shown}:{port}  (API docs: http://{shown}:{port}/docs)")
    if not live:
        typer.echo("No API keys exist yet: create one with `vigil keys create --role admin --name NAME`.", err=True)
    try:
        server.listen(host, port).close()  # a taken port is a clear error here, not N workers failing one by one
    except OSError as e:
        raise fail(f"cannot listen on {shown}:{port}: {e.strerror or e}", "pick another --port, or stop what uses it")
    server.serve(settings, host, port, workers)


@keys_app.command("create")
def create(
    role: Annotated[Role, typer.Option(help="What the key may do: submitter (check, notify), reviewer, senior_reviewer, auditor (read-only), admin (banks, keys).", case_sensitive=False)],
    name: Annotated[str, typer.Option(help="Who or what uses the key, e.g. 'upload-service'. Must be unique.")],
    db: DbOption = None,
) -> None:
    """Mint a key. It is printed once, on the last line, and only its hash is stored."""
    from vigil import keys

    try:
        with migrated(db).db.session() as s:
            new = keys.create_key(s, name, role)
            key_id = new.row.id
    except keys.ApiKeyError as e:
        raise fail(str(e), "pick another --name, or list keys with `vigil keys list`")
    typer.echo(f"Created key {key_id} '{name.strip()}' with role {role.value}. Store it now: it cannot be shown again.", err=True)
    typer.echo(new.key)


@keys_app.command("list")
def list_(
    db: DbOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per key.")] = False,
) -> None:
    """Show every key: id, name, role, its first characters, and when it was created, last used and revoked."""
    from vigil import keys

    with migrated(db).db.session() as s:
        rows = [
            {"id": k.id, "name": k.name, "role": k.role, "prefix": k.prefix,
             "created_at": _iso(k.created_at), "last_used_at": _iso(k.last_used_at), "revoked_at": _iso(k.revoked_at)}
            for k in keys.list_keys(s)
        ]
    if as_json:
        for row in rows:
            typer.echo(json.dumps(row))
        return
    if not rows:
        typer.echo("No keys. Create one with `vigil keys create --role admin --name NAME`.")
        return
    table = Table("id", "name", "role", "key starts", "created", "last used", "revoked")
    for r in rows:
        table.add_row(str(r["id"]), r["name"], r["role"], r["prefix"] + "…", r["created_at"] or "", r["last_used_at"] or "-", r["revoked_at"] or "-")
    Console().print(table)


@keys_app.command("revoke")
def revoke(
    key: Annotated[str, typer.Argument(metavar="ID|NAME", help="The key's id or name, as `vigil keys list` shows.")],
    db: DbOption = None,
) -> None:
    """Revoke a key. Every worker refuses it within a second."""
    from vigil import keys

    try:
        with migrated(db).db.session() as s:
            row = keys.revoke_key(s, key)
            key_id, name = row.id, row.name
    except keys.ApiKeyError as e:
        raise fail(str(e), "`vigil keys list` shows the ids and names")
    typer.echo(f"Revoked key {key_id} '{name}'.")


def _iso(value) -> str | None:
    return value.isoformat(timespec="seconds") if value is not None else None


def register(app: typer.Typer) -> None:
    """Add this area's commands to the root app."""
    app.command("serve")(serve)
    app.add_typer(keys_app, name="keys")
