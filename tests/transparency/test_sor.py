"""Statements of reasons: the Transparency Database's field names and values, validation, the outbox row."""

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vigil.store.db import session_scope
from vigil.store.statements import Statement
from vigil.transparency import sor


def test_terrorist_content_removal_maps_to_database_values(facts):
    s = sor.build_statement(facts())
    assert s == {
        "puid": "vigil-d1-c1",
        "decision_visibility": ["DECISION_VISIBILITY_CONTENT_REMOVED"],
        "decision_ground": "DECISION_GROUND_ILLEGAL_CONTENT",
        "illegal_content_legal_ground": "Regulation (EU) 2021/784 (TCO), Art. 3",
        "illegal_content_explanation": facts().explanation,
        "content_type": ["CONTENT_TYPE_VIDEO"],
        "category": "STATEMENT_CATEGORY_RISK_FOR_PUBLIC_SECURITY",
        "category_specification": ["KEYWORD_TERRORIST_CONTENT"],
        "content_date": "2026-01-05",
        "application_date": "2026-01-06",
        "decision_facts": facts().explanation,
        "source_type": "SOURCE_TYPE_OTHER_NOTIFICATION",
        "automated_detection": "Yes",
        "automated_decision": "AUTOMATED_DECISION_PARTIALLY",
        "territorial_scope": ["DE", "FR"],
        "content_language": "EN",
    }
    assert sor.validate_statement(s) == []


@pytest.mark.parametrize("field,value,key,expected", [
    ("action", "disable", "decision_visibility", ["DECISION_VISIBILITY_CONTENT_DISABLED"]),
    ("action", "restrict", "decision_visibility", ["DECISION_VISIBILITY_CONTENT_DEMOTED"]),
    ("action", "label", "decision_visibility", ["DECISION_VISIBILITY_CONTENT_LABELLED"]),
    ("source", "user", "source_type", "SOURCE_ARTICLE_16"),
    ("source", "trusted_flagger", "source_type", "SOURCE_TRUSTED_FLAGGER"),
    ("source", "voluntary", "source_type", "SOURCE_VOLUNTARY"),
    ("automated_decision", "fully", "automated_decision", "AUTOMATED_DECISION_FULLY"),
    ("automated_decision", "not", "automated_decision", "AUTOMATED_DECISION_NOT_AUTOMATED"),
    ("automated_detection", False, "automated_detection", "No"),
    ("content_type", ["text", "image", "audio", "other", "text"], "content_type",
     ["CONTENT_TYPE_AUDIO", "CONTENT_TYPE_IMAGE", "CONTENT_TYPE_OTHER", "CONTENT_TYPE_TEXT"]),
    ("category", "STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH", "category", "STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH"),
])
def test_value_mapping(facts, field, value, key, expected):
    s = sor.build_statement(facts(**{field: value}))
    assert s[key] == expected
    assert sor.validate_statement(s) == []


def test_contractual_ground_uses_incompatible_content_fields(facts):
    s = sor.build_statement(facts(ground_type="contractual", ground_reference="Terms of service 4.2", territorial_scope=[], language=None))
    assert s["decision_ground"] == "DECISION_GROUND_INCOMPATIBLE_CONTENT"
    assert s["incompatible_content_ground"] == "Terms of service 4.2"
    assert "illegal_content_legal_ground" not in s and "territorial_scope" not in s and "content_language" not in s
    assert sor.validate_statement(s) == []


def test_facts_without_a_statement_form_are_refused(facts):
    with pytest.raises(sor.StatementError, match="no action"):
        sor.build_statement(facts(action="no_action"))
    with pytest.raises(sor.StatementError) as err:
        sor.build_statement(facts(action="ban", source="rumour", content_type=["hologram"], ground_type="moral"))
    assert len(err.value.errors) == 4


@pytest.mark.parametrize("change,error", [
    (lambda s: s.pop("puid"), "puid: required"),
    (lambda s: s.update(puid="has space"), "puid: must match"),
    (lambda s: s.update(puid="a" * 501), "puid: must match"),
    (lambda s: s.update(puid="ok-é"), "puid: must match"),
    (lambda s: s.update(decision_facts="x" * 5001), "decision_facts: 5001 characters"),
    (lambda s: s.update(decision_ground="DECISION_GROUND_VIBES"), "decision_ground:"),
    (lambda s: s.update(content_type=[]), "content_type: required"),
    (lambda s: s.update(content_type=["CONTENT_TYPE_HOLOGRAM"]), "content_type:"),
    (lambda s: s.update(content_date="05/01/2026"), "content_date: must be a date"),
    (lambda s: s.update(application_date="2026-02-30"), "application_date: must be a date"),
    (lambda s: s.update(content_date="2026-03-01"), "content_date: must not be after"),
    (lambda s: s.update(automated_detection=True), "automated_detection:"),
    (lambda s: s.update(category="TERRORISM"), "category:"),
    (lambda s: s.pop("decision_visibility"), "one of decision_visibility"),
    (lambda s: s.pop("illegal_content_explanation"), "illegal_content_explanation: required for illegal content"),
    (lambda s: s.update(territorial_scope=["germany"]), "territorial_scope:"),
    (lambda s: s.update(content_language="english"), "content_language:"),
    (lambda s: s.update(notifier_email="a@b.eu"), "notifier_email: unknown field"),
    (lambda s: s.update(decision_facts="Reported by jane.doe@example.org"), "personal data"),
    (lambda s: s.update(illegal_content_explanation="call +49 30 1234 5678"), "personal data"),
])
def test_validation_names_each_problem(facts, change, error):
    s = sor.build_statement(facts())
    change(s)
    errors = sor.validate_statement(s)
    assert any(error in e for e in errors), errors


@pytest.mark.parametrize("reference", ["BGBl. I S. 3352 (2017), § 86a StGB", "Regulation (EU) 2021/784, Art. 3(3)",
                                       "Terms 4.2.1 (2024-01-01)", "Case 2 BvR 1234/19"])
def test_legal_references_full_of_digits_are_not_taken_for_phone_numbers(facts, reference):
    s = sor.build_statement(facts(ground_reference=reference, explanation=f"Illegal under {reference}; item 1234 5678 90."))
    assert sor.validate_statement(s) == []


def test_validation_survives_wrong_types():
    assert sor.validate_statement([]) == ["a statement must be a JSON object"]
    errors = sor.validate_statement({"puid": 5, "decision_facts": 7, "content_type": "CONTENT_TYPE_TEXT",
                                     "category_specification": "x", "territorial_scope": "DE"})
    assert any(e.startswith("puid") for e in errors) and any(e.startswith("decision_facts") for e in errors)
    assert any(e.startswith("content_type") for e in errors) and any(e.startswith("territorial_scope") for e in errors)


def test_record_statement_stores_a_pending_outbox_row_and_never_reuses_a_puid(db_url, facts):
    with session_scope(db_url) as s:
        row = sor.record_statement(s, facts())
        assert row.id and row.state == "pending" and row.attempts == 0
        assert sor.record_statement(s, facts("vigil-d2-c1", action="no_action")) is None
    with session_scope(db_url) as s:
        with pytest.raises(sor.StatementError, match="already used"):
            sor.record_statement(s, facts())
        with pytest.raises(sor.StatementError, match="puid"):
            sor.record_statement(s, facts("bad puid!"))
    with session_scope(db_url) as s:
        (stored,) = s.query(Statement).all()
        assert stored.body == sor.build_statement(facts()) and stored.decision_date == date(2026, 1, 6)


puids = st.from_regex(r"[a-zA-Z0-9_-]{1,60}", fullmatch=True)
facts_strategy = st.builds(
    sor.DecisionFacts, puid=puids, action=st.sampled_from(list(sor.ACTIONS)),
    territorial_scope=st.lists(st.sampled_from(["DE", "FR", "NL", "PL", "it"]), max_size=3),
    ground_type=st.sampled_from(["legal", "contractual"]), ground_reference=st.text(min_size=1, max_size=80).filter(str.strip),
    explanation=st.text(alphabet=st.characters(blacklist_categories=["Cs", "Nd"]), min_size=1, max_size=300).filter(lambda t: t.strip() and "@" not in t),
    content_type=st.lists(st.sampled_from(list(sor.CONTENT_TYPES)), min_size=1, max_size=3),
    content_date=st.dates(date(2000, 1, 1), date(2026, 1, 1)), decision_date=st.just(date(2026, 1, 2)),
    source=st.sampled_from(list(sor.SOURCES)), automated_detection=st.booleans(),
    automated_decision=st.sampled_from(list(sor.AUTOMATED_DECISIONS)), category=st.none(),
    language=st.sampled_from([None, "en", "zh", "de"]))


@settings(max_examples=200, deadline=None)
@given(facts_strategy)
def test_every_buildable_statement_validates_here_and_at_the_standin(standin_module, f):
    s = sor.build_statement(f)
    assert sor.validate_statement(s) == []
    assert standin_module.check(s) == {}


@settings(max_examples=200, deadline=None)
@given(facts_strategy, st.sampled_from(sor.REQUIRED), st.sampled_from([None, "", [], 5, "x" * 5001, {"a": 1}]))
def test_a_broken_required_field_is_refused_before_sending(standin_module, f, field, value):
    """Vigil refuses every broken required field. The Database refuses most of them too; where it does not (it turns
    5 into "5" for decision_facts), Vigil stays stricter on purpose: what it sends is what it means to send."""
    s = sor.build_statement(f)
    s[field] = value
    assert sor.validate_statement(s) != []
    if standin_module.check(s):
        assert sor.validate_statement(s), "the Database refuses it, so Vigil must"
