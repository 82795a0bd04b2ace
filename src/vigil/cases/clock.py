"""Time for notice and action: always UTC, including datetimes read back from SQLite (which drops the zone)."""

from __future__ import annotations

from datetime import datetime, timezone


def now() -> datetime:
    return datetime.now(timezone.utc)


def utc(dt: datetime | None) -> datetime | None:
    """The same instant, zone-aware: SQLite hands back naive datetimes, and every datetime Vigil stores is UTC."""
    return dt.replace(tzinfo=timezone.utc) if dt is not None and dt.tzinfo is None else dt
