"""Statements of reasons (DSA Art. 17) in the EU Transparency Database's JSON form.

A decision's facts map one-to-one onto the Database's field names and values, so a statement
is checked here, before it is sent, against the same rules the Database applies (422 otherwise).
Statements carry facts about content, never about people: `validate_statement` rejects e-mail
addresses and phone numbers in the free-text fields.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy.orm import Session

from vigil.clock import now
from vigil.store.statements import Statement

ACTIONS = {
    "remove": "DECISION_VISIBILITY_CONTENT_REMOVED",
    "disable": "DECISION_VISIBILITY_CONTENT_DISABLED",
    "restrict": "DECISION_VISIBILITY_CONTENT_DEMOTED",
    "label": "DECISION_VISIBILITY_CONTENT_LABELLED",
}
NO_ACTION = "no_action"  # no restriction, so no statement of reasons is owed (DSA Art. 17(1))

GROUNDS = {"legal": "DECISION_GROUND_ILLEGAL_CONTENT", "contractual": "DECISION_GROUND_INCOMPATIBLE_CONTENT"}
CONTENT_TYPES = {
    "text": "CONTENT_TYPE_TEXT",
    "image": "CONTENT_TYPE_IMAGE",
    "video": "CONTENT_TYPE_VIDEO",
    "audio": "CONTENT_TYPE_AUDIO",
    "other": "CONTENT_TYPE_OTHER",
}
SOURCES = {
    "user": "SOURCE_ARTICLE_16",
    "trusted_flagger": "SOURCE_TRUSTED_FLAGGER",
    "authority_order": "SOURCE_TYPE_OTHER_NOTIFICATION",
    "voluntary": "SOURCE_VOLUNTARY",
}
AUTOMATED_DECISIONS = {
    "fully": "AUTOMATED_DECISION_FULLY",
    "partially": "AUTOMATED_DECISION_PARTIALLY",
    "not": "AUTOMATED_DECISION_NOT_AUTOMATED",
}
# Vigil's scope is terrorist and violent-extremist content: unless a decision names a Database category
# itself, it falls under public security with the terrorist-content keyword (ANCHORS.md).
TERRORIST_CATEGORY = "STATEMENT_CATEGORY_RISK_FOR_PUBLIC_SECURITY"
TERRORIST_KEYWORD = "KEYWORD_TERRORIST_CONTENT"

# Value sets of the Transparency Database API (transparency.dsa.ec.europa.eu/page/api-documentation).
DECISION_GROUND_VALUES = frozenset(GROUNDS.values())
CONTENT_TYPE_VALUES = frozenset({
    "CONTENT_TYPE_TEXT", "CONTENT_TYPE_IMAGE", "CONTENT_TYPE_VIDEO", "CONTENT_TYPE_AUDIO",
    "CONTENT_TYPE_SYNTHETIC_MEDIA", "CONTENT_TYPE_APP", "CONTENT_TYPE_PRODUCT", "CONTENT_TYPE_OTHER",
})
SOURCE_VALUES = frozenset(SOURCES.values())
AUTOMATED_DECISION_VALUES = frozenset(AUTOMATED_DECISIONS.values())
VISIBILITY_VALUES = frozenset({
    "DECISION_VISIBILITY_CONTENT_REMOVED", "DECISION_VISIBILITY_CONTENT_DISABLED",
    "DECISION_VISIBILITY_CONTENT_DEMOTED", "DECISION_VISIBILITY_CONTENT_AGE_RESTRICTED",
    "DECISION_VISIBILITY_CONTENT_INTERACTION_RESTRICTED", "DECISION_VISIBILITY_CONTENT_LABELLED",
    "DECISION_VISIBILITY_OTHER",
})
ACCOUNT_VALUES = frozenset({"DECISION_ACCOUNT_SUSPENDED", "DECISION_ACCOUNT_TERMINATED"})
DECISION_FIELDS = ("decision_visibility", "decision_monetary", "decision_provision", "decision_account")
REQUIRED = ("decision_ground", "content_type", "category", "content_date", "application_date", "decision_facts",
            "source_type", "automated_detection", "automated_decision", "puid")
OPTIONAL = ("category_specification", "territorial_scope", "content_language", "illegal_content_legal_ground",
            "illegal_content_explanation", "incompatible_content_ground", "incompatible_content_explanation",
            *DECISION_FIELDS)
MAX_FACTS = 5000
MAX_PUID = 500
PUID_RE = re.compile(r"^[a-zA-Z0-9\-_]+$")
EMAIL_RE = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")
# International-format numbers only: legal references ("BGBl. I S. 3352 (2017)") are full of digits.
PHONE_RE = re.compile(r"(?<![\w/.])(?:\+|00)\d[\d ()-]{7,}\d")
FREE_TEXT = ("decision_facts", "illegal_content_explanation", "incompatible_content_explanation",
             "illegal_content_legal_ground", "incompatible_content_ground")
EXPLANATIONS = ("decision_facts", "illegal_content_explanation", "incompatible_content_explanation")


class StatementError(ValueError):
    """A statement the Transparency Database would refuse; `errors` lists every reason."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("; ".join(errors))
        self.errors = errors


@dataclass(frozen=True)
class DecisionFacts:
    puid: str
    action: str
    territorial_scope: list[str]
    ground_type: str
    ground_reference: str
    explanation: str
    content_type: list[str]
    content_date: date
    decision_date: date
    source: str
    automated_detection: bool
    automated_decision: str
    category: str | None = None
    language: str | None = None


def build_statement(facts: DecisionFacts) -> dict:
    """The statement's JSON body. Raises StatementError for facts that have no statement form."""
    errors = []
    if facts.action == NO_ACTION:
        errors.append("a decision to take no action restricts nothing and has no statement of reasons")
    elif facts.action not in ACTIONS:
        errors.append(f"action {facts.action!r} is not one of {', '.join([*ACTIONS, NO_ACTION])}")
    for name, value, table in (("ground_type", facts.ground_type, GROUNDS), ("source", facts.source, SOURCES),
                               ("automated_decision", facts.automated_decision, AUTOMATED_DECISIONS)):
        if value not in table:
            errors.append(f"{name} {value!r} is not one of {', '.join(table)}")
    unknown_types = [t for t in facts.content_type if t not in CONTENT_TYPES]
    if unknown_types:
        errors.append(f"content_type {unknown_types} is not among {', '.join(CONTENT_TYPES)}")
    for name in ("content_date", "decision_date"):
        if not isinstance(getattr(facts, name), date):
            errors.append(f"{name} must be a date")
    if errors:
        raise StatementError(errors)

    statement: dict = {
        "puid": facts.puid,
        "decision_visibility": [ACTIONS[facts.action]],
        "decision_ground": GROUNDS[facts.ground_type],
        "content_type": sorted({CONTENT_TYPES[t] for t in facts.content_type}),
        "content_date": _day(facts.content_date),
        "application_date": _day(facts.decision_date),
        "decision_facts": facts.explanation,
        "source_type": SOURCES[facts.source],
        "automated_detection": "Yes" if facts.automated_detection else "No",
        "automated_decision": AUTOMATED_DECISIONS[facts.automated_decision],
    }
    if facts.category and facts.category.startswith("STATEMENT_CATEGORY_"):
        statement["category"] = facts.category
    else:
        statement["category"] = TERRORIST_CATEGORY
        statement["category_specification"] = [TERRORIST_KEYWORD]
    if facts.ground_type == "legal":
        statement["illegal_content_legal_ground"] = facts.ground_reference
        statement["illegal_content_explanation"] = facts.explanation
    else:
        statement["incompatible_content_ground"] = facts.ground_reference
        statement["incompatible_content_explanation"] = facts.explanation
    if facts.territorial_scope:
        statement["territorial_scope"] = sorted({c.upper() for c in facts.territorial_scope})
    if facts.language:
        statement["content_language"] = facts.language.upper()
    return statement


def _day(d: date) -> str:
    return (d.date() if isinstance(d, datetime) else d).isoformat()


def validate_statement(d: dict) -> list[str]:
    """Every reason the Transparency Database would refuse `d`, in its own field names; [] when valid."""
    if not isinstance(d, dict):
        return ["a statement must be a JSON object"]
    errors = [f"{name}: required" for name in REQUIRED if d.get(name) in (None, "", [])]
    errors += [f"{name}: unknown field" for name in d if name not in REQUIRED and name not in OPTIONAL]

    def one_of(name: str, allowed: frozenset[str]) -> None:
        if name in d and not (isinstance(d[name], str) and d[name] in allowed):
            errors.append(f"{name}: {d[name]!r} is not an allowed value")

    def all_of(name: str, allowed: frozenset[str]) -> None:
        if name not in d:
            return
        value = d[name]
        if not isinstance(value, list) or not value:
            errors.append(f"{name}: must be a non-empty list")
        elif any(not isinstance(v, str) or v not in allowed for v in value):
            errors.append(f"{name}: {[v for v in value if not isinstance(v, str) or v not in allowed]} not allowed")

    one_of("decision_ground", DECISION_GROUND_VALUES)
    one_of("source_type", SOURCE_VALUES)
    one_of("automated_decision", AUTOMATED_DECISION_VALUES)
    one_of("automated_detection", frozenset({"Yes", "No"}))
    all_of("content_type", CONTENT_TYPE_VALUES)
    all_of("decision_visibility", VISIBILITY_VALUES)
    one_of("decision_account", ACCOUNT_VALUES)
    if "category" in d and not (isinstance(d["category"], str) and d["category"].startswith("STATEMENT_CATEGORY_")):
        errors.append(f"category: {d['category']!r} is not a STATEMENT_CATEGORY_ value")
    if "category_specification" in d and not (
            isinstance(d["category_specification"], list)
            and all(isinstance(k, str) and k.startswith("KEYWORD_") for k in d["category_specification"])):
        errors.append("category_specification: must be a list of KEYWORD_ values")
    for name in ("content_date", "application_date"):
        if name in d and not _is_day(d[name]):
            errors.append(f"{name}: must be a date as YYYY-MM-DD")
    if _is_day(d.get("content_date")) and _is_day(d.get("application_date")) \
            and d["content_date"] > d["application_date"]:
        errors.append("content_date: must not be after application_date")
    puid = d.get("puid")
    if puid is not None and not (isinstance(puid, str) and PUID_RE.match(puid) and len(puid) <= MAX_PUID):
        errors.append(f"puid: must match ^[a-zA-Z0-9-_]+$ and have at most {MAX_PUID} characters")
    facts = d.get("decision_facts")
    if facts is not None and not isinstance(facts, str):
        errors.append("decision_facts: must be text")
    elif facts and len(facts) > MAX_FACTS:
        errors.append(f"decision_facts: {len(facts)} characters, at most {MAX_FACTS}")
    if not any(d.get(name) for name in DECISION_FIELDS):
        errors.append(f"one of {', '.join(DECISION_FIELDS)} is required")
    ground = d.get("decision_ground")
    if ground == GROUNDS["legal"]:
        errors += [f"{n}: required for illegal content" for n in
                   ("illegal_content_legal_ground", "illegal_content_explanation") if not d.get(n)]
    elif ground == GROUNDS["contractual"]:
        errors += [f"{n}: required for incompatible content" for n in
                   ("incompatible_content_ground", "incompatible_content_explanation") if not d.get(n)]
    scope = d.get("territorial_scope")
    if scope is not None and not (isinstance(scope, list)
                                  and all(isinstance(c, str) and re.fullmatch(r"[A-Z]{2}", c) for c in scope)):
        errors.append("territorial_scope: must be a list of ISO 3166-1 alpha-2 codes")
    lang = d.get("content_language")
    if lang is not None and not (isinstance(lang, str) and re.fullmatch(r"[A-Z]{2}", lang)):
        errors.append("content_language: must be an ISO 639-1 code")
    for name in FREE_TEXT:
        text = d.get(name)
        if text is not None and not isinstance(text, str) and name != "decision_facts":
            errors.append(f"{name}: must be text")
        if name in EXPLANATIONS and isinstance(text, str) and (EMAIL_RE.search(text) or PHONE_RE.search(text)):
            errors.append(f"{name}: looks like it holds personal data (an e-mail address or phone number)")
    return errors


def _is_day(value: object) -> bool:
    if not isinstance(value, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        return False
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True


def record_statement(session: Session, facts: DecisionFacts) -> Statement | None:
    """Store the statement as pending submission (the outbox for the Transparency Database).

    Returns the Statement row, or None for a decision to take no action (nothing to state).
    Raises StatementError if the statement is invalid or its puid was used before.
    """
    if facts.action == NO_ACTION:
        return None
    body = build_statement(facts)
    errors = validate_statement(body)
    if errors:
        raise StatementError(errors)
    if session.query(Statement.id).filter_by(puid=facts.puid).first() is not None:
        raise StatementError([f"puid: {facts.puid!r} was already used; a puid is never reused"])
    at = now()
    row = Statement(puid=facts.puid, body=body, state="pending", attempts=0, next_attempt_at=at, created_at=at,
                    decision_date=facts.decision_date, source=facts.source)
    session.add(row)
    session.flush()
    return row
