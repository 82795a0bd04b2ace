"""The words of notice and action, typed: case states, actions, sources, verdicts, grounds, appeal and disclosure states.

One StrEnum per concept, so a state or an action is written once and checked by the type checker.
StrEnums compare equal to their text, so rows and JSON keep the plain strings they always held.
"""

from __future__ import annotations

from enum import StrEnum


class CaseState(StrEnum):
    OPEN = "open"
    CLAIMED = "claimed"  # locked to one reviewer for the policy's claim time
    DECIDED = "decided"
    APPEALED = "appealed"  # an appeal against one of its decisions is open


OPEN_STATES = frozenset({CaseState.OPEN, CaseState.CLAIMED})
"""Cases a reviewer can still take."""
DECIDED_STATES = frozenset({CaseState.DECIDED, CaseState.APPEALED})


class Action(StrEnum):
    """What a decision does to every copy in a case (the DSA's restrictions, Art. 17(1))."""

    REMOVE = "remove"
    DISABLE = "disable"  # withheld in named territories
    RESTRICT = "restrict"  # visibility restricted (demoted, age-gated)
    LABEL = "label"
    NO_ACTION = "no_action"


VIOLATIONS = frozenset({Action.REMOVE, Action.DISABLE, Action.RESTRICT})
"""Confirmed violations: each counts one strike against the uploader's account on the operator's service."""
WITHHELD = frozenset({Action.REMOVE, Action.DISABLE})
"""Content taken out of reach: kept for reinstatement (TCO Art. 6)."""


class NoticeSource(StrEnum):
    """Who reported: a user (DSA Art. 16), a trusted flagger (Art. 22), or an authority's removal order (TCO Art. 3)."""

    USER = "user"
    TRUSTED_FLAGGER = "trusted_flagger"
    AUTHORITY_ORDER = "authority_order"


class Verdict(StrEnum):
    """What a check concludes about content."""

    VIOLATING = "violating"
    REVIEW = "review"
    BENIGN = "benign"


VERDICT_SEVERITY = {Verdict.BENIGN: 0, Verdict.REVIEW: 1, Verdict.VIOLATING: 2}


class GroundType(StrEnum):
    LEGAL = "legal"  # illegal content: the law's reference
    CONTRACTUAL = "contractual"  # incompatible with the terms: the clause


class Appellant(StrEnum):
    UPLOADER = "uploader"
    NOTIFIER = "notifier"


class AppealState(StrEnum):
    OPEN = "open"
    DECIDING = "deciding"
    UPHELD = "upheld"
    REVERSED = "reversed"


class DisclosureState(StrEnum):
    REQUESTED = "requested"
    APPROVED = "approved"
    REJECTED = "rejected"
