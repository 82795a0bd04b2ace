"""Pure formatters for the console's templates: time left to a deadline, and text with its hits marked."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from vigil.clock import now
from vigil.policy.priority import TCO_REMOVAL_DEADLINE
from vigil.vocabulary import NoticeSource

__all__ = ["URGENT_WITHIN", "now"]

# An authority order with less than its whole TCO deadline (one hour) left is shown as urgent.
URGENT_WITHIN = TCO_REMOVAL_DEADLINE


def as_utc(moment: datetime) -> datetime:
    """The same instant in UTC (moments parsed from text may carry another offset)."""
    return moment.astimezone(timezone.utc)


def time_left(deadline: datetime, now: datetime) -> str:
    """'43 min', '2 h 05 min', '3 d 4 h', or 'overdue 12 min'. The page's script keeps it ticking."""
    seconds = int((as_utc(deadline) - as_utc(now)).total_seconds())
    late = seconds < 0
    seconds = abs(seconds)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        text = f"{days} d {hours} h"
    elif hours:
        text = f"{hours} h {minutes:02d} min"
    elif minutes:
        text = f"{minutes} min {secs:02d} s"
    else:
        text = f"{secs} s"
    return f"overdue {text}" if late else text


def is_urgent(source: str, deadline: datetime, now: datetime) -> bool:
    return source == NoticeSource.AUTHORITY_ORDER and as_utc(deadline) - as_utc(now) < URGENT_WITHIN


@dataclass(frozen=True)
class Span:
    """A run of the original text; `hits` are the detector hits covering it (empty for plain text)."""

    text: str
    hits: tuple[dict, ...] = ()


def hit_bounds(hit: dict) -> tuple[int, int] | None:
    """A hit's [start, end) on the original text, from 'start'/'end' or a 'span' pair."""
    start, end = hit.get("start"), hit.get("end")
    if start is None and isinstance(hit.get("span"), (list, tuple)) and len(hit["span"]) == 2:
        start, end = hit["span"]
    if not isinstance(start, int) or not isinstance(end, int):
        return None
    return start, end


def highlight(text: str, hits: list[dict]) -> list[Span]:
    """Split `text` at every hit boundary, so overlapping hits still mark exactly their own characters.

    Spans outside the text (a stale or corrupt hit) are clipped or dropped rather than shifting the marks.
    """
    bounded = []
    for hit in hits:
        b = hit_bounds(hit)
        if b is None:
            continue
        start, end = max(0, b[0]), min(len(text), b[1])
        if start < end:
            bounded.append((start, end, hit))
    cuts = sorted({0, len(text), *(s for s, _, _ in bounded), *(e for _, e, _ in bounded)})
    spans = []
    for a, b in zip(cuts, cuts[1:]):
        covering = tuple(h for s, e, h in bounded if s <= a and b <= e)
        spans.append(Span(text[a:b], covering))
    return spans


def hit_text(text: str, hit: dict) -> str:
    """The original characters a hit covers (what the reviewer sees marked), or the hit's own copy of them."""
    b = hit_bounds(hit)
    if b is not None and 0 <= b[0] < b[1] <= len(text):
        return text[b[0]:b[1]]
    return str(hit.get("text") or hit.get("match") or "")


def parse(moment: datetime | str) -> datetime:
    """A stored moment (a datetime, or ISO text as the API's views give it) as an aware UTC datetime."""
    return as_utc(moment if isinstance(moment, datetime) else datetime.fromisoformat(moment))


def when(moment: datetime | str) -> str:
    """A moment as people read it: '2026-11-26 01:46:13 UTC'."""
    return parse(moment).strftime("%Y-%m-%d %H:%M:%S UTC")
