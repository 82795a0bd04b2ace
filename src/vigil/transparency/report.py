"""Transparency reports (DSA Art. 15 and 24, TCO Art. 7) for a period, computed from the ledger and the cases.

Decisions and appeal outcomes are read from the ledger's leaves up to one signed checkpoint, so
anyone holding those leaves can recompute the decision figures and check them against the
checkpoint the report names. Notices, open appeals and statement submissions come from their tables.
The figures are pure functions of plain records; `compute` only gathers the records.
"""

from __future__ import annotations

import csv
import html
import io
import json
import statistics
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from typing import Iterable

import sqlalchemy as sa
from sqlalchemy.orm import Session

from vigil.clock import now
from vigil.store.cases import Appeal, Decision, Notice
from vigil.store.ledger import LedgerCheckpoint, LedgerLeaf
from vigil.store.statements import Statement
from vigil.vocabulary import WITHHELD

FORMATS = ("csv", "html", "json")
# TCO Regulation (EU) 2021/784 Art. 3(3): remove or disable within one hour of receiving a removal order.
TCO_DEADLINE = timedelta(hours=1)
DECISION_KINDS = ("decision", "automated_action")


@dataclass(frozen=True)
class NoticeRec:
    id: int
    case_id: int
    source: str
    category: str | None
    received_at: datetime


@dataclass(frozen=True)
class DecisionRec:
    id: int
    case_id: int
    action: str
    automated: bool
    content_ids: tuple[str, ...]
    decided_at: datetime
    appeal_id: int | None = None


@dataclass(frozen=True)
class AppealRec:
    id: int
    decision_id: int
    state: str
    submitted_at: datetime
    decided_at: datetime | None


@dataclass(frozen=True)
class StatementRec:
    state: str
    decision_date: date


@dataclass(frozen=True)
class Figures:
    start: date
    end: date
    checkpoint_size: int
    checkpoint_root: str
    notices: dict[str, dict[str, int]]
    time_to_act: dict[str, float | int | None]
    decisions: dict[str, int]
    appeals: dict[str, float | int | None]
    removals: dict[str, int]
    statements: dict[str, int]
    generated_at: datetime = field(default_factory=now)

    def to_dict(self) -> dict:
        return {"period": {"from": self.start.isoformat(), "to": self.end.isoformat()},
                "ledger_checkpoint": {"tree_size": self.checkpoint_size, "root_hash": self.checkpoint_root},
                "notices_by_source_and_category": self.notices, "time_to_act": self.time_to_act,
                "decisions": self.decisions, "appeals": self.appeals, "removals_and_reupload_prevention": self.removals,
                "statements_of_reasons": self.statements, "generated_at": _iso(self.generated_at)}


def _utc(dt: datetime) -> datetime:
    return dt.replace(tzinfo=timezone.utc) if dt.tzinfo is None else dt.astimezone(timezone.utc)


def _iso(dt: datetime) -> str:
    return _utc(dt).strftime("%Y-%m-%dT%H:%M:%SZ")


def _in(dt: datetime | None, start: date, end: date) -> bool:
    return dt is not None and start <= _utc(dt).date() <= end


def _median_seconds(durations: list[timedelta]) -> float | None:
    return round(statistics.median(d.total_seconds() for d in durations), 1) if durations else None


def figures(start: date, end: date, notices: Iterable[NoticeRec], decisions: Iterable[DecisionRec],
            appeals: Iterable[AppealRec], statements: Iterable[StatementRec],
            checkpoint_size: int, checkpoint_root: str) -> Figures:
    """Every figure of the report for decisions, notices and appeals dated within [start, end]."""
    notices, decisions, appeals = list(notices), list(decisions), list(appeals)
    period_notices = [n for n in notices if _in(n.received_at, start, end)]
    by_source: dict[str, dict[str, int]] = {}
    for n in period_notices:
        cats = by_source.setdefault(n.source, {})
        cats[n.category or "unspecified"] = cats.get(n.category or "unspecified", 0) + 1

    # Time to act: from a notice's receipt to the first decision on its case (re-upload decisions excluded).
    first_decision: dict[int, datetime] = {}
    for d in sorted(decisions, key=lambda d: _utc(d.decided_at)):
        if d.appeal_id is None:
            first_decision.setdefault(d.case_id, _utc(d.decided_at))
    waits, order_waits = [], []
    for n in period_notices:
        decided = first_decision.get(n.case_id)
        if decided is None:
            continue
        wait = max(decided - _utc(n.received_at), timedelta(0))
        waits.append(wait)
        if n.source == "authority_order":
            order_waits.append(wait)
    orders = [n for n in period_notices if n.source == "authority_order"]
    within = sum(1 for w in order_waits if w <= TCO_DEADLINE)
    time_to_act = {
        "notices_acted_on": len(waits),
        "median_seconds": _median_seconds(waits),
        "authority_orders": len(orders),
        "authority_orders_acted_on": len(order_waits),
        "authority_orders_median_seconds": _median_seconds(order_waits),
        "authority_orders_within_one_hour": within,
        "authority_orders_within_one_hour_share": round(within / len(orders), 4) if orders else None,
    }

    period_decisions = [d for d in decisions if _in(d.decided_at, start, end)]
    decision_counts = {"total": len(period_decisions),
                       "automated": sum(d.automated for d in period_decisions),
                       "human": sum(not d.automated for d in period_decisions)}
    for d in period_decisions:
        decision_counts[f"action_{d.action}"] = decision_counts.get(f"action_{d.action}", 0) + 1

    submitted = [a for a in appeals if _in(a.submitted_at, start, end)]
    decided = [a for a in appeals if a.state in ("upheld", "reversed") and _in(a.decided_at, start, end)]
    appeal_figures = {
        "received": len(submitted),
        "decided": len(decided),
        "upheld": sum(a.state == "upheld" for a in decided),
        "reversed": sum(a.state == "reversed" for a in decided),
        "median_seconds_to_decide": _median_seconds([_utc(a.decided_at) - _utc(a.submitted_at) for a in decided]),
    }

    withheld = [d for d in period_decisions if d.action in WITHHELD]
    removals = {
        "items_removed_or_disabled": sum(len(d.content_ids) for d in withheld),
        "items_removed_after_review": sum(len(d.content_ids) for d in withheld if not d.automated),
        # Measures against re-upload (TCO Art. 5): copies withheld automatically by a bank match or an earlier decision.
        "reuploads_blocked_by_banks": sum(len(d.content_ids) for d in withheld if d.automated),
        "reinstated_after_appeal": sum(a.state == "reversed" for a in decided),
    }
    period_statements = [s for s in statements if start <= s.decision_date <= end]
    statement_counts = {state: sum(s.state == state for s in period_statements) for state in ("submitted", "pending", "failed")}
    statement_counts["total"] = len(period_statements)
    return Figures(start, end, checkpoint_size, checkpoint_root, by_source, time_to_act, decision_counts,
                   appeal_figures, removals, statement_counts)


def compute(session: Session, start: date, end: date, checkpoint: LedgerCheckpoint | None = None) -> Figures:
    """Gather the records (decisions and appeal outcomes from the ledger up to `checkpoint`) and compute."""
    if checkpoint is None:
        checkpoint = session.scalars(sa.select(LedgerCheckpoint).order_by(LedgerCheckpoint.tree_size.desc()).limit(1)).first()
    size = checkpoint.tree_size if checkpoint is not None else 0
    root = checkpoint.root_hash.hex() if checkpoint is not None else ""
    lo = datetime.combine(start, time.min, timezone.utc)
    hi = datetime.combine(end + timedelta(days=1), time.min, timezone.utc)

    decisions, outcomes = [], {}
    leaves = session.execute(sa.select(LedgerLeaf.kind, LedgerLeaf.data).where(
        LedgerLeaf.idx < size, LedgerLeaf.kind.in_((*DECISION_KINDS, "appeal_decision")),
        LedgerLeaf.ref_table.in_((Decision.__tablename__, Appeal.__tablename__))).order_by(LedgerLeaf.idx))
    for kind, data in leaves:
        row = json.loads(data)["row"]
        if kind == "appeal_decision":
            outcomes[row["id"]] = row
        else:
            decisions.append(DecisionRec(row["id"], row["case_id"], row["action"], bool(row["automated"]),
                                         tuple(row["content_ids"] or ()), _parse(row["decided_at"]), row.get("appeal_id")))
    # Appeals: received from the table (not yet ledgered while open), outcomes only as ledgered.
    appeals = []
    for a in session.scalars(sa.select(Appeal).where(sa.or_(Appeal.submitted_at >= lo, Appeal.decided_at >= lo))):
        ledgered = outcomes.pop(a.id, None)
        appeals.append(AppealRec(a.id, a.decision_id, ledgered["state"] if ledgered else "open", a.submitted_at,
                                 _parse(ledgered["decided_at"]) if ledgered and ledgered.get("decided_at") else None))
    appeals += [AppealRec(r["id"], r["decision_id"], r["state"], _parse(r["submitted_at"]), _parse(r["decided_at"]))
                for r in outcomes.values() if r.get("decided_at")]
    notices = [NoticeRec(n.id, n.case_id, n.source, n.category, n.received_at) for n in session.execute(
        sa.select(Notice.id, Notice.case_id, Notice.source, Notice.category, Notice.received_at)
        .where(Notice.received_at >= lo, Notice.received_at < hi))]
    statements = [StatementRec(s, d) for s, d in session.execute(
        sa.select(Statement.state, Statement.decision_date).where(Statement.decision_date >= start, Statement.decision_date <= end))]
    return figures(start, end, notices, decisions, appeals, statements, size, root)


def _parse(text: str | None) -> datetime | None:
    if text is None:
        return None
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def rows(f: Figures) -> list[tuple[str, str, str]]:
    """The report as (section, measure, value) rows: the CSV form, and the tables of the HTML form."""
    out = [("period", "from", f.start.isoformat()), ("period", "to", f.end.isoformat()),
           ("ledger", "checkpoint_tree_size", str(f.checkpoint_size)), ("ledger", "checkpoint_root_sha256", f.checkpoint_root)]
    for source, cats in sorted(f.notices.items()):
        for cat, n in sorted(cats.items()):
            out.append(("notices", f"{source}/{cat}", str(n)))
    for section, values in (("time_to_act", f.time_to_act), ("decisions", f.decisions), ("appeals", f.appeals),
                            ("removals", f.removals), ("statements_of_reasons", f.statements)):
        for k, v in values.items():
            out.append((section, k, "" if v is None else str(v)))
    return out


def render(f: Figures, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(f.to_dict(), indent=2, sort_keys=True) + "\n"
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(("section", "measure", "value"))
        writer.writerows(rows(f))
        return buf.getvalue()
    if fmt == "html":
        return _html(f)
    raise ValueError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")


def bar_chart(title: str, data: dict[str, float], width: int = 560) -> str:
    """A horizontal bar chart as inline SVG: no scripts, no network, readable without colour."""
    e = html.escape
    bar_h, gap, label_w = 22, 6, 200
    height = max(1, len(data)) * (bar_h + gap) + 30
    top = max(data.values(), default=0) or 1
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}"><title>{e(title)}</title>',
             f'<text x="0" y="16" font-size="14" font-weight="bold">{e(title)}</text>']
    if not data:
        parts.append('<text x="0" y="44" font-size="12">no data in this period</text>')
    for i, (label, value) in enumerate(data.items()):
        y = 26 + i * (bar_h + gap)
        w = int((width - label_w - 60) * value / top)
        parts.append(f'<text x="0" y="{y + 15}" font-size="12">{e(label)}</text>'
                     f'<rect x="{label_w}" y="{y}" width="{w}" height="{bar_h}" fill="#36c"/>'
                     f'<text x="{label_w + w + 4}" y="{y + 15}" font-size="12">{value:g}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _html(f: Figures) -> str:
    e = html.escape
    notices_by_source = {s: sum(c.values()) for s, c in sorted(f.notices.items())}
    charts = [
        bar_chart("Notices by source", notices_by_source),
        bar_chart("Decisions: automated and human", {"automated": f.decisions["automated"], "human": f.decisions["human"]}),
        bar_chart("Appeals", {k: f.appeals[k] for k in ("received", "upheld", "reversed")}),
        bar_chart("Items withheld", {"after review": f.removals["items_removed_after_review"],
                                     "re-uploads blocked by banks": f.removals["reuploads_blocked_by_banks"]}),
    ]
    table = "".join(f"<tr><td>{e(s)}</td><td>{e(m)}</td><td>{e(v)}</td></tr>" for s, m, v in rows(f))
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Vigil transparency report {f.start} to {f.end}</title>
<style>body{{font-family:sans-serif;max-width:60em;margin:2em auto}}td,th{{padding:2px 8px;text-align:left}}
code,td:last-child{{word-break:break-all}}</style></head><body>
<h1>Transparency report, {f.start} to {f.end}</h1>
<p>Computed from the decision ledger at the signed checkpoint of <strong>tree size {f.checkpoint_size}</strong>,
root <code>{e(f.checkpoint_root) or "(no checkpoint)"}</code>. Anyone holding the ledger's leaves up to that size can
recompute the decision and appeal figures and check them against that checkpoint (<code>tools/verify_ledger.py</code>).</p>
<p>Authority removal orders acted on within one hour (TCO Art. 3): {f.time_to_act["authority_orders_within_one_hour"]}
of {f.time_to_act["authority_orders"]}.</p>
{"".join(f"<figure>{c}</figure>" for c in charts)}
<h2>All figures</h2>
<table><thead><tr><th>section</th><th>measure</th><th>value</th></tr></thead><tbody>{table}</tbody></table>
<p><small>Generated {_iso(f.generated_at)}. Durations are in seconds.</small></p>
</body></html>
"""
