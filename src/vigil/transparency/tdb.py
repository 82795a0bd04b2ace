"""What the EU Transparency Database accepts, as read from its own source code, not from our reading of its docs.

The facts (every enum, every field's cap, the country and language lists, the answers of its endpoints) are
data in `data/tdb_rules.json`, extracted from digital-services-act/transparency-database at the commit that
file names (GPL-2.0: the facts, not its code). tools/tdb_standin.py interprets the same file to answer exactly
as the Database does; Vigil's own checks (vigil.transparency.sor, and intake's and decisions' early 422s)
take their value sets and caps from here, so the two cannot drift apart.
"""

from __future__ import annotations

import json
from functools import cache
from importlib.resources import files
from typing import Any

import langcodes

from vigil.errors import InvalidInput

COUNTRY_ALIASES = {"EL": "GR", "UK": "GB"}
"""The EU's own code for Greece is EL (the Database lists GR); UK is often written for GB (refused anyway)."""


@cache
def rules() -> dict[str, Any]:
    """The whole data file, read once (it is package data, not state)."""
    return json.loads(files("vigil.transparency").joinpath("data/tdb_rules.json").read_text("utf-8"))


def enum(name: str) -> frozenset[str]:
    """An allowed-value set by the Database's own constant name (CONTENT_TYPES, ALL_LANGUAGES, ...)."""
    return frozenset(rules()["enums"][name]["values"])


def cap(field: str) -> int:
    """The Database's `max` for a free-text field of the multi-statement endpoint."""
    for name, field_rules in rules()["statement_rules"]["multi"]:
        if name == field:
            return next(int(r["value"]) for r in field_rules if r["rule"] == "max")
    raise KeyError(f"the Transparency Database rules have no field {field!r}")


def territory(code: str) -> str:
    """A territorial-scope code as the Database wants it (EL -> GR); InvalidInput for any code outside the EU/EEA."""
    code = COUNTRY_ALIASES.get(code.strip().upper(), code.strip().upper())
    allowed = enum("EUROPEAN_COUNTRY_CODES")
    if code not in allowed:
        raise InvalidInput(f"territorial_scope {code!r} is not an EU/EEA country code (ISO 3166-1 alpha-2) the Transparency Database "
                           f"accepts (GR for Greece); use one of {', '.join(sorted(allowed))}",
                           code="invalid_territory", field="territorial_scope")
    return code


def normalise_language(tag: str) -> str:
    """A BCP 47 tag in its standard form: legacy and three-letter codes mapped (iw -> he, deu -> de, tl -> fil).

    InvalidInput for a tag that is not well-formed, or whose language has a two-letter code the Database does not
    list. A language without a two-letter code (fil, yue) is kept: the statement then names no language.
    """
    try:
        standard = langcodes.standardize_tag(tag.strip())
        language = langcodes.Language.get(standard).language
    except (ValueError, langcodes.tag_parser.LanguageTagError):
        raise InvalidInput(f"language {tag!r} is not a BCP 47 language tag (like 'en', 'ar', 'zh-Hant')",
                           code="invalid_language", field="language") from None
    if not language or language in ("und", "zxx", "mul", "mis"):
        raise InvalidInput(f"language {tag!r} names no language; leave it out when it is unknown",
                           code="invalid_language", field="language")
    if len(language) == 2 and language.upper() not in enum("ALL_LANGUAGES"):
        raise InvalidInput(f"language {tag!r} is not one the Transparency Database lists (ISO 639-1)",
                           code="invalid_language", field="language")
    return standard


def statement_language(tag: str | None) -> str | None:
    """The statement's `content_language` for a (normalised) tag: its ISO 639-1 code in upper case, or None."""
    if not tag:
        return None
    try:
        language = langcodes.Language.get(langcodes.standardize_tag(tag)).language or ""
    except (ValueError, langcodes.tag_parser.LanguageTagError):
        return None
    code = language.upper()
    return code if len(code) == 2 and code in enum("ALL_LANGUAGES") else None
