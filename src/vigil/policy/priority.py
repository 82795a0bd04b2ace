"""Priority and deadlines: authority orders first, trusted flaggers next, then a 0-10 score with reach as tie-break.

The score follows Altitude's scheme (Jigsaw and Tech Against Terrorism): confidence 0-3 plus severity 0-7.
Confidence comes from the evidence (a bank match, the text detector's score), from several independent
notices, and from the notifiers' record of accurate reports. Severity comes from the category and from
crisis labels (a live attack under the GIFCT Content Incident Protocol). Reach (views) only breaks ties,
so a popular post never outranks a more severe one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from vigil.vocabulary import NoticeSource

TCO_REMOVAL_DEADLINE = timedelta(hours=1)  # Regulation (EU) 2021/784 Art. 3(3): act within one hour of a removal order

# Tiers sit 100 apart so that no score (0-10, plus reach < 1) can lift a case into the tier above.
TIER_BASE = {NoticeSource.AUTHORITY_ORDER: 200.0, NoticeSource.TRUSTED_FLAGGER: 100.0, NoticeSource.USER: 0.0}

CATEGORY_SEVERITY = {
    "terrorist_content": 4.0,
    "violent_extremism": 4.0,
    "attack_planning": 4.0,
    "incitement": 3.0,
    "glorification": 3.0,
    "recruitment": 3.0,
    "financing": 3.0,
    "propaganda": 2.0,
    "hate_speech": 2.0,
}  # the text detector's categories (vigil-lexicon/1) and the GIFCT-style ones notices carry
DEFAULT_SEVERITY = 1.0
CRISIS_LABELS = frozenset({"crisis", "live_attack", "attacker_manifesto", "content_incident_protocol"})
CRISIS_SEVERITY = 3.0
SEVERAL_NOTICES = 3  # "more than one source" in Altitude; three independent notices are a stronger signal

HIGH, MEDIUM = 5.0, 3.0  # Altitude's buckets: high >= 5, medium 3-4, low below


def is_crisis(labels: dict[str, Any], category: str | None) -> bool:
    """Whether bank labels or the category mark a crisis (a live attack: GIFCT's Content Incident Protocol)."""
    values = {str(v).lower() for v in labels.values()} | {str(k).lower() for k, v in labels.items() if v is True}
    return bool(values & CRISIS_LABELS) or (category or "") in CRISIS_LABELS


def stronger_source(a: str, b: str) -> str:
    return a if TIER_BASE[a] >= TIER_BASE[b] else b


@dataclass(frozen=True)
class PriorityInputs:
    source: str
    category: str | None
    crisis: bool
    bank_match: bool
    detector_score: float
    notice_count: int
    notifier_confidence: float  # 0..1, 0.5 for an unknown notifier
    views: int


def confidence(p: PriorityInputs) -> float:
    c = 1.5 if p.bank_match else 0.0
    c += max(0.0, min(1.0, p.detector_score))
    if p.notice_count >= SEVERAL_NOTICES:
        c += 0.5
    c += max(0.0, p.notifier_confidence - 0.5) * 2
    return min(3.0, c)


def severity(p: PriorityInputs) -> float:
    s = CATEGORY_SEVERITY.get(p.category or "", DEFAULT_SEVERITY)
    if p.crisis:
        s += CRISIS_SEVERITY
    return min(7.0, s)


def score(p: PriorityInputs) -> float:
    """0-10: confidence plus severity."""
    return round(confidence(p) + severity(p), 3)


def reach(views: int) -> float:
    """0 to just under 1, logarithmic: a billion views gives 0.99."""
    return min(0.99, math.log10(1 + max(0, views)) / 9)


def priority(p: PriorityInputs) -> float:
    return round(TIER_BASE[p.source] + score(p) + reach(p.views), 4)


def bucket(p: PriorityInputs) -> str:
    if p.source != NoticeSource.USER:
        return p.source
    s = score(p)
    return "high" if s >= HIGH else "medium" if s >= MEDIUM else "low"


def deadline(p: PriorityInputs, opened_at: datetime, service_levels_hours: dict[str, int],
             order_received_at: datetime | None = None) -> datetime:
    """A removal order is due one hour from receipt (the law); everything else by the operator's service level."""
    if order_received_at is not None:
        return order_received_at + TCO_REMOVAL_DEADLINE
    b = bucket(p)
    hours = service_levels_hours.get(b, service_levels_hours.get("low", 168))
    return opened_at + timedelta(hours=hours)


def notifier_weight(accurate: int, inaccurate: int) -> float:
    """The share of a notifier's reports that were upheld, smoothed so a newcomer starts at 0.5."""
    return (accurate + 1) / (accurate + inaccurate + 2)
