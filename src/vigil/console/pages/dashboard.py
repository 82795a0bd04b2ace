"""The dashboard: the period's transparency figures, open cases against their deadlines, the ledger's head."""

from __future__ import annotations

import base64
import threading
import time
from dataclasses import dataclass, field
from datetime import timedelta

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse

from vigil import charts
from vigil.console import format as fmt
from vigil.console import queries
from vigil.console.signin import Reviewer
from vigil.console.web import DASHBOARD, allowed, console_router, render
from vigil.ledger import checkpoint as ledger_checkpoint
from vigil.ledger import log
from vigil.store.ledger import LedgerCheckpoint
from vigil.transparency import report
from vigil.web.deps import DbSession

router = console_router()
DASHBOARD_DAYS = (1, 7, 30, 90, 365)
FIGURES_TTL_SECONDS = 15.0


@dataclass
class FiguresCache:
    """The report's figures cost O(notices in the period), so each process keeps them for FIGURES_TTL_SECONDS per
    period, and recomputes at once when the ledger grew (a new decision shows on the next view)."""

    entries: dict[int, tuple[float, int, report.Figures]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def get(self, days: int, head: int) -> report.Figures | None:
        hit = self.entries.get(days)
        if hit is not None and hit[1] == head and time.monotonic() - hit[0] < FIGURES_TTL_SECONDS:
            return hit[2]
        return None

    def put(self, days: int, head: int, figures: report.Figures) -> None:
        with self.lock:
            self.entries[days] = (time.monotonic(), head, figures)


def figures_cache(request: Request) -> FiguresCache:
    return request.app.state.dashboard_figures


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "no data"
    minutes = seconds / 60
    return f"{minutes:.0f} min" if minutes < 120 else f"{minutes / 60:.1f} h"


@router.get("/dashboard")
def dashboard(request: Request, s: DbSession, days: int = 30, cache: FiguresCache = Depends(figures_cache),
              reviewer: Reviewer = Depends(allowed(*DASHBOARD, any_of=True))) -> HTMLResponse:
    days = days if days in DASHBOARD_DAYS else 30
    at = fmt.now()
    head = log.size(s)
    latest = ledger_checkpoint.latest_checkpoint(s)
    f = cache.get(days, head)
    if f is None:
        # Live figures: everything in the ledger up to its head (an unsigned, unsaved stand-in for a checkpoint).
        f = report.compute(s, (at - timedelta(days=days - 1)).date(), at.date(),
                           checkpoint=LedgerCheckpoint(tree_size=head, root_hash=b""))
        cache.put(days, head, f)
    sources: dict[str, int] = {src: sum(cats.values()) for src, cats in f.notices.items()}
    categories: dict[str, int] = {}
    for cats in f.notices.values():
        for cat, n in cats.items():
            categories[cat] = categories.get(cat, 0) + n
    t = f.time_to_act
    tta_rows = [(label, seconds / 60) for label, seconds in (("all notices", t["median_seconds"]),
                ("authority orders", t["authority_orders_median_seconds"])) if seconds is not None]
    order_minutes = fmt.URGENT_WITHIN.total_seconds() / 60  # the removal-order deadline, drawn as a line
    scale = max([order_minutes * 1.25, *(v for _, v in tta_rows)])
    open_counts = queries.open_against_deadlines(s, at, fmt.URGENT_WITHIN)
    share = t["authority_orders_within_one_hour_share"]
    return render(
        request, reviewer, "dashboard.html", f=f, days=days, head=head, checkpoint=latest, duration=duration,
        ttl=FIGURES_TTL_SECONDS,
        checkpoint_root=base64.b64encode(latest.root_hash).decode() if latest else "",
        by_source=charts.bar_chart("Notices by source", sorted(sources.items(), key=lambda kv: -kv[1])),
        by_category=charts.bar_chart("Notices by category", sorted(categories.items(), key=lambda kv: -kv[1])),
        time_to_act=charts.bar_chart("Median time to act (minutes)", tta_rows, unit=" min", scale_to=scale,
                                     css={label: "late" for label, v in tta_rows if v > order_minutes}),
        deadline_x=round(charts.PLOT_WIDTH * order_minutes / scale, 1),
        within_hour="no authority orders" if share is None else
        f"{100 * share:.0f} % ({t['authority_orders_within_one_hour']} of {t['authority_orders']})",
        open_deadlines=charts.bar_chart("Open cases against their deadlines now", list(open_counts.items()),
                                        css={"overdue": "late"}),
        automation=charts.Share("Automated decisions", "automated", "human", f.decisions["automated"], f.decisions["total"]),
        reversal=charts.Share("Appeal reversal rate", "reversed", "upheld", f.appeals["reversed"], f.appeals["decided"]),
    )
