"""Read-only queries behind the console's pages: the queue, one case with its evidence, and the dashboard figures.

Writes never happen here; they go through vigil.review and vigil.banks.service like the API's. Each page
is a bounded number of indexed queries, whatever the number of open cases (bench/console_render.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from vigil.cases.queue import queue_order
from vigil.store.cases import Case
from vigil.store.keys import ApiKey
from vigil.vocabulary import OPEN_STATES
FILTERS = ("queue", "language", "source", "category")


@dataclass(frozen=True)
class QueueFilter:
    queue: str | None = None
    language: str | None = None
    source: str | None = None
    category: str | None = None

    @classmethod
    def from_query(cls, params) -> QueueFilter:
        return cls(**{name: (params.get(name) or None) for name in FILTERS})

    def clauses(self) -> list:
        return [getattr(Case, name) == value for name in FILTERS if (value := getattr(self, name)) is not None]

    def as_query(self) -> str:
        from urllib.parse import urlencode

        return urlencode({name: v for name in FILTERS if (v := getattr(self, name)) is not None})


def count_open(s: Session, f: QueueFilter) -> int:
    return s.scalar(sa.select(sa.func.count()).select_from(Case).where(Case.state.in_(OPEN_STATES), *f.clauses()))


def filter_options(s: Session) -> dict[str, list[str]]:
    """The values each filter can take among open cases, from one scan (their combinations are few)."""
    columns = [getattr(Case, name) for name in FILTERS]
    seen: dict[str, set[str]] = {name: set() for name in FILTERS}
    for row in s.execute(sa.select(*columns).where(Case.state.in_(OPEN_STATES)).distinct()):
        for name, value in zip(FILTERS, row):
            if value is not None:
                seen[name].add(value)
    return {name: sorted(values) for name, values in seen.items()}


def next_case_id(s: Session, key_id: int, now: datetime, f: QueueFilter, skip: int | None = None) -> int | None:
    """The first open case this reviewer may work on: unclaimed, claimed by them, or with a lapsed claim."""
    query = sa.select(Case.id).where(
        Case.state.in_(OPEN_STATES), *f.clauses(),
        sa.or_(Case.claimed_by.is_(None), Case.claimed_by == key_id, Case.claim_expires_at < now),
    ).order_by(*queue_order()).limit(1)
    if skip is not None:
        query = query.where(Case.id != skip)
    return s.scalar(query)


def key_names(s: Session, ids) -> dict[int, str]:
    ids = {i for i in ids if i is not None}
    if not ids:
        return {}
    return dict(s.execute(sa.select(ApiKey.id, ApiKey.name).where(ApiKey.id.in_(ids))).all())


def entry_sources(s: Session, matches: list[dict]) -> dict[int, str]:
    """Bank entry id -> the entry's source (where the hash came from), for the matches shown on a case."""
    from vigil.store.banks import BankEntry

    ids = {m.get("entry_id") for m in matches if isinstance(m.get("entry_id"), int)}
    if not ids:
        return {}
    return dict(s.execute(sa.select(BankEntry.id, BankEntry.source).where(BankEntry.id.in_(ids))).all())


def open_against_deadlines(s: Session, now: datetime, soon: timedelta) -> dict[str, int]:
    """Open cases by how they stand against their deadlines: overdue, due within `soon`, later."""
    standing = sa.case((Case.deadline < now, "overdue"), (Case.deadline < now + soon, "due soon"), else_="later")
    rows = s.execute(sa.select(standing, sa.func.count()).where(Case.state.in_(OPEN_STATES)).group_by(standing))
    counts = {"overdue": 0, "due soon": 0, "later": 0}
    counts.update({label: int(n) for label, n in rows})
    return counts


def evidence_of(s: Session, case_ids: list[int]) -> dict[int, dict]:
    """Case id -> its evidence, for the queue's at-a-glance column (the queue listing leaves evidence out)."""
    if not case_ids:
        return {}
    rows = s.execute(sa.select(Case.id, Case.evidence).where(Case.id.in_(case_ids))).all()
    return {cid: ev.model_dump(mode="json") for cid, ev in rows}
