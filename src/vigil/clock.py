"""Time for the whole package: one `now()` in UTC, and calendar months for retention and appeal windows.

Every datetime Vigil stores is UTC and comes back zone-aware from both databases (SQLite's columns are
made aware in `vigil.store.db`), so nothing downstream needs to repair a naive value.
"""

from __future__ import annotations

import calendar
from datetime import datetime, timezone


def now() -> datetime:
    """The current instant, zone-aware UTC."""
    return datetime.now(timezone.utc)


def add_months(dt: datetime, months: int) -> datetime:
    """The same day `months` later (or earlier), or the month's last day when it is shorter (31 Aug + 6 months = 28/29 Feb).

    DSA Art. 20(1) gives six months for an appeal, counted in calendar months, not 183 days.
    """
    m = dt.month - 1 + months
    year, month = dt.year + m // 12, m % 12 + 1
    return dt.replace(year=year, month=month, day=min(dt.day, calendar.monthrange(year, month)[1]))
