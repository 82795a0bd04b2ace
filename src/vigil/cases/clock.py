"""Time for notice and action: always UTC, including datetimes read back from SQLite (which drops the zone)."""

from __future__ import annotations

import calendar
from datetime import datetime, timezone


def now() -> datetime:
    return datetime.now(timezone.utc)


def add_months(dt: datetime, months: int) -> datetime:
    """The same day `months` later (or earlier), or the month's last day when it is shorter (31 Aug + 6 months = 28/29 Feb)."""
    m = dt.month - 1 + months
    year, month = dt.year + m // 12, m % 12 + 1
    return dt.replace(year=year, month=month, day=min(dt.day, calendar.monthrange(year, month)[1]))


def utc(dt: datetime | None) -> datetime | None:
    """The same instant, zone-aware: SQLite hands back naive datetimes, and every datetime Vigil stores is UTC."""
    return dt.replace(tzinfo=timezone.utc) if dt is not None and dt.tzinfo is None else dt
