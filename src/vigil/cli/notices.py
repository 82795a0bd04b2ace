"""`vigil outbox`, `vigil cases` and `vigil retention`: deliver webhooks, read the queue, purge expired content."""

from __future__ import annotations

from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

from vigil.cli.common import DbOption, check_state, migrated, run_loop
from vigil.runtime import Loop

outbox_app = typer.Typer(help="The webhook outbox: actions, restores and notifications to the platform.", no_args_is_help=True)
cases_app = typer.Typer(help="Cases: notices grouped by content, in priority order.", no_args_is_help=True)
retention_app = typer.Typer(help="Retention of removed content for reinstatement (TCO Art. 6).", no_args_is_help=True)


@outbox_app.command("deliver")
def deliver(
    db: DbOption = None,
    once: Annotated[bool, typer.Option("--once", help="Deliver what is due now, then exit (for cron).")] = False,
    poll: Annotated[float, typer.Option(min=0.05, max=60, help="Seconds between rounds when idle.")] = 0.5,
    batch: Annotated[int, typer.Option(min=1, max=1000, help="Messages claimed per round.")] = 50,
) -> None:
    """Post pending webhooks (signed, with idempotency keys), retrying with backoff; runs until Ctrl-C unless --once.

    The target is VIGIL_WEBHOOK_URL; the HMAC secret is VIGIL_WEBHOOK_SECRET or a generated file in the state folder.
    """
    import httpx

    from vigil import outbox

    rt = migrated(db)
    webhook = rt.webhook()
    if once:
        total = {"delivered": 0, "retry": 0, "dead": 0, "waiting": 0}
        with httpx.Client(timeout=outbox.TIMEOUT_SECONDS) as client:
            while True:
                counts = outbox.deliver_due(rt.db, client, webhook, batch)
                for k, v in counts.items():
                    total[k] += v
                if not any(counts.values()):
                    break
        typer.echo(", ".join(f"{k}: {v}" for k, v in total.items()))
        return
    delivery = outbox.Delivery(rt.db, webhook, batch)
    run_loop(Loop("outbox", poll, delivery, close=delivery.close),
             f"delivering webhooks to {webhook.url or '(no VIGIL_WEBHOOK_URL set: messages wait)'}")


@outbox_app.command("list")
def list_outbox(
    db: DbOption = None,
    state: Annotated[Optional[str], typer.Option(help="pending, delivered or dead.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 50,
) -> None:
    """Show deliveries, newest first, with counts by state."""
    import sqlalchemy as sa

    from vigil import outbox
    from vigil.store.cases import OutboxMessage

    check_state(state, outbox.STATES)
    with migrated(db).db.session() as s:
        counts = dict(s.execute(sa.select(OutboxMessage.state, sa.func.count()).group_by(OutboxMessage.state)).all())
        q = sa.select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(limit)
        if state:
            q = q.where(OutboxMessage.state == state)
        rows = s.scalars(q).all()
    table = Table("id", "event", "state", "attempts", "last error",
                  title=", ".join(f"{k}: {counts.get(k, 0)}" for k in outbox.STATES))
    for m in rows:
        table.add_row(str(m.id), m.event, m.state, str(m.attempts), (m.last_error or "")[:80])
    Console().print(table)


@cases_app.command("list")
def list_cases(
    db: DbOption = None,
    queue: Annotated[Optional[str], typer.Option(help="Only this queue.")] = None,
    state: Annotated[Optional[str], typer.Option(help="open, claimed, decided or appealed (default: open and claimed).")] = None,
    limit: Annotated[int, typer.Option(min=1, max=500)] = 50,
) -> None:
    """Cases in priority order, with deadlines and the time left."""
    from vigil.cases import queue as q
    from vigil.vocabulary import CaseState

    check_state(state, list(CaseState))
    with migrated(db).db.session() as s:
        rows = q.list_cases(s, queue=queue, state=state, limit=limit)
    table = Table("id", "priority", "source", "queue", "state", "notices", "deadline", "time left")
    for c in rows:
        left = c["time_left"]
        shown = f"{'-' if left < 0 else ''}{int(abs(left)) // 3600}h{int(abs(left)) % 3600 // 60:02d}m"
        table.add_row(str(c["id"]), f"{c['priority']:.2f}", c["source"], c["queue"], c["state"], str(c["notice_count"]),
                      c["deadline"][:19], f"[red]{shown}[/red]" if c["overdue"] else shown)
    Console().print(table)


@retention_app.command("purge")
def purge(db: DbOption = None) -> None:
    """Delete removed content whose retention period has ended (unless under appeal), and tell the platform;
    clear notifiers' contact details on cases decided longer ago than the retention period."""
    from vigil.review.retention import sweep

    rt = migrated(db)
    total, forgotten = sweep(rt.db, rt.policy)
    typer.echo(f"purged {total} copies; cleared the contact details of {forgotten} notices")


def register(app: typer.Typer) -> None:
    """Add this area's commands to the root app."""
    app.add_typer(outbox_app, name="outbox")
    app.add_typer(cases_app, name="cases")
    app.add_typer(retention_app, name="retention")
