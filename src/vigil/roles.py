"""Roles and what each may do. One table, read by the API, the console and the CLI."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    SUBMITTER = "submitter"
    REVIEWER = "reviewer"
    SENIOR_REVIEWER = "senior_reviewer"
    AUDITOR = "auditor"
    ADMIN = "admin"


class Permission(StrEnum):
    CHECK = "check"            # POST /v1/check
    NOTIFY = "notify"          # POST /v1/notices, appeals on behalf of users
    REVIEW = "review"          # read cases, claim, decide, decide appeals
    APPROVE_DISCLOSURE = "approve_disclosure"  # second approver of a disclosure to an authority
    AUDIT = "audit"            # read decisions, ledger, reports
    ADMIN = "admin"            # banks, keys, outbox


GRANTS: dict[Role, frozenset[Permission]] = {
    Role.SUBMITTER: frozenset({Permission.CHECK, Permission.NOTIFY}),
    Role.REVIEWER: frozenset({Permission.REVIEW}),
    Role.SENIOR_REVIEWER: frozenset({Permission.REVIEW, Permission.APPROVE_DISCLOSURE}),
    Role.AUDITOR: frozenset({Permission.AUDIT}),
    # An admin manages keys and banks; approving a disclosure to an authority stays with a senior reviewer.
    Role.ADMIN: frozenset(Permission) - {Permission.APPROVE_DISCLOSURE},
}


def allows(role: Role | str, permission: Permission) -> bool:
    return permission in GRANTS[Role(role)]
