"""The operator's notice-and-action settings: queue rules, service levels, lock time, retention, automatic action.

Defaults suit a small platform. An operator overrides them with a JSON file named by the `case_policy`
setting (VIGIL_CASE_POLICY; the same keys as `CasePolicy`); unknown keys are an error at load time, so a
typo never goes unnoticed. The runtime loads it once at start and passes it down.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta
from pathlib import Path

from vigil.clock import add_months
from vigil.errors import InvalidInput
from vigil.policy.routing import QueueRule
from vigil.vocabulary import Action, NoticeSource

# Operator service levels (not law) for notices without a legal deadline, by priority bucket.
DEFAULT_SERVICE_LEVELS_HOURS = {"trusted_flagger": 24, "high": 24, "medium": 72, "low": 168}


class PolicyError(InvalidInput):
    """A case policy file that cannot be used; the message names the key at fault."""

    code = "invalid_case_policy"


@dataclass(frozen=True)
class CasePolicy:
    claim_minutes: int = 15
    # Removed content is kept for reinstatement (TCO Art. 6(2)): by default six calendar months, which is
    # also how long the DSA gives for an appeal; a number of days instead when set.
    retention_days: int | None = None
    service_levels_hours: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_SERVICE_LEVELS_HOURS))
    queue_rules: tuple[QueueRule, ...] = (
        QueueRule(queue="authority_orders", source=NoticeSource.AUTHORITY_ORDER),
        QueueRule(queue="trusted_flaggers", source=NoticeSource.TRUSTED_FLAGGER),
    )
    default_queue: str = "default"
    # Banks whose exact matches (md5/sha256, or PDQ at distance 0) are verified well enough to act on
    # without waiting for review. Empty by default: every automatic action is an operator's choice.
    auto_action_banks: frozenset[str] = frozenset()
    auto_action: Action = Action.REMOVE
    auto_ground_reference: str = "Regulation (EU) 2021/784 (TCO), terrorist content matched to a verified hash"
    auto_ground_reference_url: str | None = "https://eur-lex.europa.eu/eli/reg/2021/784/oj"

    @property
    def claim_time(self) -> timedelta:
        return timedelta(minutes=self.claim_minutes)

    def kept_until(self, at: datetime) -> datetime:
        """When content removed at `at` may be deleted."""
        return add_months(at, 6) if self.retention_days is None else at + timedelta(days=self.retention_days)

    def kept_since(self, at: datetime) -> datetime:
        """Decisions taken before this are past retention at `at`."""
        return add_months(at, -6) if self.retention_days is None else at - timedelta(days=self.retention_days)

    @classmethod
    def from_dict(cls, data: dict) -> CasePolicy:
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise PolicyError(f"unknown case policy key(s): {', '.join(sorted(unknown))}; known: {', '.join(sorted(known))}")
        data = dict(data)
        if "queue_rules" in data:
            try:
                data["queue_rules"] = tuple(QueueRule(**r) for r in data["queue_rules"])
            except TypeError as e:
                raise PolicyError(f"queue_rules: {e}; a rule has 'queue' and optional 'category', 'language', 'source'") from None
        if "auto_action_banks" in data:
            data["auto_action_banks"] = frozenset(data["auto_action_banks"])
        return cls(**data)

    @classmethod
    def load(cls, path: Path | None) -> CasePolicy:
        """The policy in the JSON file at `path`, or the defaults when there is none."""
        if path is None:
            return cls()
        try:
            data = json.loads(Path(path).read_text("utf-8"))
        except (OSError, json.JSONDecodeError) as e:
            raise PolicyError(f"cannot read case policy {path}: {e}") from None
        if not isinstance(data, dict):
            raise PolicyError(f"case policy {path} must be a JSON object of settings")
        return cls.from_dict(data)
