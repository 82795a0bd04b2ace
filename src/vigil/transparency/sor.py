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
from vigil.errors import InvalidInput
from vigil.store.statements import Statement
from vigil.transparency import tdb

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
# itself, it falls under public security with the terrorist-content keyword (the Database's own mapping:
# KEYWORD_TERRORIST_CONTENT is one of STATEMENT_CATEGORY_RISK_FOR_PUBLIC_SECURITY's specifications).
TERRORIST_CATEGORY = "STATEMENT_CATEGORY_RISK_FOR_PUBLIC_SECURITY"
TERRORIST_KEYWORD = "KEYWORD_TERRORIST_CONTENT"

# Caps and value sets come from the Database's own rules (vigil.transparency.tdb).
MAX_FACTS = tdb.cap("decision_facts")  # 5,000
MAX_EXPLANATION = tdb.cap("illegal_content_explanation")  # 2,000; the same for incompatible content
MAX_GROUND = tdb.cap("illegal_content_legal_ground")  # 500
MAX_PUID = tdb.cap("puid")  # 500
MAX_SHORT = tdb.cap("content_type_other")  # 500: content_type_other, source_identity, the reference URL
FIRST_CONTENT_DATE, FIRST_APPLICATION_DATE, LAST_DATE = "2000-01-01", "2020-01-01", "2038-01-01"
DECISION_FIELDS = ("decision_visibility", "decision_monetary", "decision_provision", "decision_account")
REQUIRED = ("decision_ground", "content_type", "category", "content_date", "application_date", "decision_facts",
            "source_type", "automated_detection", "automated_decision", "puid")
OPTIONAL = ("category_specification", "territorial_scope", "content_language", "illegal_content_legal_ground",
            "illegal_content_explanation", "incompatible_content_ground", "incompatible_content_explanation",
            "incompatible_content_illegal", "content_type_other", "source_identity", "decision_ground_reference_url",
            "end_date_visibility_restriction", *DECISION_FIELDS)
PUID_RE = re.compile(r"^[a-zA-Z0-9\-_]+$")
URL_RE = re.compile(r"^https?://[^\s/$.?#][^\s]*$", re.IGNORECASE)
EMAIL_RE = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")
# International-format numbers only: legal references ("BGBl. I S. 3352 (2017)") are full of digits.
PHONE_RE = re.compile(r"(?<![\w/.])(?:\+|00)\d[\d ()-]{7,}\d")
FREE_TEXT = ("decision_facts", "illegal_content_explanation", "incompatible_content_explanation",
             "illegal_content_legal_ground", "incompatible_content_ground")
EXPLANATIONS = ("decision_facts", "illegal_content_explanation", "incompatible_content_explanation")
OTHER_CONTENT = "Content identified by its location only (a URL); its type was not given with the notice."
"""content_type_other for a notice that gave neither media, hashes nor text: what Vigil knows of it."""


class StatementError(InvalidInput):
    """A statement the Transparency Database would refuse; `errors` lists every reason."""

    code = "invalid_statement"

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
    content_type_other: str | None = None
    source_identity: str | None = None
    """Who notified, for trusted flaggers (an organisation) and authorities; never a private person."""
    ground_reference_url: str | None = None
    incompatible_content_illegal: bool | None = None
    """For a decision on contractual grounds: whether the content is also illegal, when the decider said so."""
    ends_on: date | None = None
    """The last day of a time-limited restriction (end_date_visibility_restriction)."""


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
        statement["territorial_scope"] = sorted({tdb.territory(c) for c in facts.territorial_scope})
    language = tdb.statement_language(facts.language)
    if language:
        statement["content_language"] = language
    if "CONTENT_TYPE_OTHER" in statement["content_type"]:
        statement["content_type_other"] = facts.content_type_other or OTHER_CONTENT
    if facts.source_identity:
        statement["source_identity"] = facts.source_identity[:MAX_SHORT]
    if facts.ground_reference_url:
        statement["decision_ground_reference_url"] = facts.ground_reference_url
    if facts.ground_type == "contractual" and facts.incompatible_content_illegal is not None:
        statement["incompatible_content_illegal"] = "Yes" if facts.incompatible_content_illegal else "No"
    if facts.ends_on is not None:
        statement["end_date_visibility_restriction"] = _day(facts.ends_on)
    return statement


def _day(d: date) -> str:
    return (d.date() if isinstance(d, datetime) else d).isoformat()


def validate_statement(d: dict) -> list[str]:
    """Every reason the Transparency Database would refuse `d`, in its own field names; [] when valid.

    Stricter than the Database in two ways, both deliberate: unknown fields are refused (the Database drops
    them silently, so a misspelt field would be lost), and free text must be text and carry no e-mail address
    or phone number (statements hold facts about content, never about people).
    """
    if not isinstance(d, dict):
        return ["a statement must be a JSON object"]
    errors = [f"{name}: required" for name in REQUIRED if d.get(name) in (None, "", [])]
    errors += [f"{name}: unknown field" for name in d if name not in REQUIRED and name not in OPTIONAL]

    def one_of(name: str, allowed: frozenset[str]) -> None:
        if name in d and not (isinstance(d[name], str) and d[name] in allowed):
            errors.append(f"{name}: {d[name]!r} is not an allowed value")

    def all_of(name: str, allowed: frozenset[str], non_empty: bool = True) -> None:
        if name not in d:
            return
        value = d[name]
        if not isinstance(value, list) or (non_empty and not value):
            errors.append(f"{name}: must be a {'non-empty ' if non_empty else ''}list")
        elif any(not isinstance(v, str) or v not in allowed for v in value):
            errors.append(f"{name}: {[v for v in value if not isinstance(v, str) or v not in allowed]} not allowed")

    def text(name: str, limit: int) -> None:
        value = d.get(name)
        if value is None:
            return
        if not isinstance(value, str):
            errors.append(f"{name}: must be text")
        elif len(value.strip()) > limit:
            errors.append(f"{name}: {len(value.strip())} characters, at most {limit}")

    one_of("decision_ground", tdb.enum("DECISION_GROUNDS"))
    one_of("source_type", tdb.enum("SOURCE_TYPES"))
    one_of("automated_decision", tdb.enum("AUTOMATED_DECISIONS"))
    one_of("automated_detection", tdb.enum("AUTOMATED_DETECTIONS"))
    one_of("category", tdb.enum("STATEMENT_CATEGORIES"))
    one_of("decision_account", tdb.enum("DECISION_ACCOUNTS"))
    one_of("content_language", tdb.enum("ALL_LANGUAGES"))
    all_of("content_type", tdb.enum("CONTENT_TYPES"))
    all_of("decision_visibility", tdb.enum("DECISION_VISIBILITIES"))
    all_of("category_specification", tdb.enum("KEYWORDS"), non_empty=False)
    all_of("territorial_scope", tdb.enum("EUROPEAN_COUNTRY_CODES"), non_empty=False)
    for name, first in (("content_date", FIRST_CONTENT_DATE), ("application_date", FIRST_APPLICATION_DATE),
                        ("end_date_visibility_restriction", None)):
        if name in d and not _is_day(d[name]):
            errors.append(f"{name}: must be a date as YYYY-MM-DD")
        elif name in d and ((first and d[name] < first) or d[name] > LAST_DATE):
            errors.append(f"{name}: must be between {first or 'any day'} and {LAST_DATE}")
    if _is_day(d.get("content_date")) and _is_day(d.get("application_date")) \
            and d["content_date"] > d["application_date"]:
        errors.append("content_date: must not be after application_date")
    puid = d.get("puid")
    if puid is not None and not (isinstance(puid, str) and PUID_RE.match(puid) and len(puid) <= MAX_PUID):
        errors.append(f"puid: must match ^[a-zA-Z0-9-_]+$ and have at most {MAX_PUID} characters")
    text("decision_facts", MAX_FACTS)
    for name in ("illegal_content_explanation", "incompatible_content_explanation"):
        text(name, MAX_EXPLANATION)
    for name in ("illegal_content_legal_ground", "incompatible_content_ground"):
        text(name, MAX_GROUND)
    for name in ("content_type_other", "source_identity", "decision_ground_reference_url"):
        text(name, MAX_SHORT)
    if not any(d.get(name) for name in DECISION_FIELDS):
        errors.append(f"one of {', '.join(DECISION_FIELDS)} is required")
    ground = d.get("decision_ground")
    if ground == GROUNDS["legal"]:
        errors += [f"{n}: required for illegal content" for n in
                   ("illegal_content_legal_ground", "illegal_content_explanation") if not d.get(n)]
    elif ground == GROUNDS["contractual"]:
        errors += [f"{n}: required for incompatible content" for n in
                   ("incompatible_content_ground", "incompatible_content_explanation") if not d.get(n)]
    if "incompatible_content_illegal" in d:
        one_of("incompatible_content_illegal", tdb.enum("INCOMPATIBLE_CONTENT_ILLEGALS"))
    content_types = d.get("content_type") if isinstance(d.get("content_type"), list) else []
    if "CONTENT_TYPE_OTHER" in content_types and not d.get("content_type_other"):
        errors.append("content_type_other: required when content_type is CONTENT_TYPE_OTHER")
    if "DECISION_VISIBILITY_OTHER" in (d.get("decision_visibility") or []):
        errors.append("decision_visibility: Vigil never sends DECISION_VISIBILITY_OTHER (it needs a description)")
    url = d.get("decision_ground_reference_url")
    if url is not None and not (isinstance(url, str) and URL_RE.match(url)):
        errors.append("decision_ground_reference_url: must be an http(s) URL")
    for name in EXPLANATIONS:
        value = d.get(name)
        if isinstance(value, str) and (EMAIL_RE.search(value) or PHONE_RE.search(value)):
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
