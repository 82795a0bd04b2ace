"""The Transparency Database stand-in answers as the real Database does.

The yardsticks are the Database's own API documentation examples, read at test time (tests/references.py;
nothing of them is committed here), and the facts read from its source (src/vigil/transparency/data/tdb_rules.json).
Every test talks HTTP to the stand-in, as Vigil's submitter does.

Source of the examples:

- repository: https://github.com/digital-services-act/transparency-database
- commit: 69e80a0bc8eb3cbfbe8246e898194c3bdf490a4b (the commit tdb_rules.json was read at)
- path: resources/markdown/api-documentation.md; the code blocks are found by the lines DOCUMENTED records
  (content lines, fences excluded, 1-based) and must carry the recorded fence info string
- licence: GPL-2.0 (the repository's)

What is checked: the documented statement is accepted by both endpoints and answered as documented; the documented
empty payload, invalid automated_decision and batch errors get the documented 422 bodies; and the refusals the
review found (content_type_other, IW, CH, EL, 2,000-character explanations, whole batch, duplicate puids).
"""

from __future__ import annotations

import copy
import functools
import importlib.util
import json
import threading
from pathlib import Path

import httpx
import pytest

from . import mdblocks, references

ROOT = Path(__file__).resolve().parents[2]
RULES = json.loads((ROOT / "src/vigil/transparency/data/tdb_rules.json").read_text(encoding="utf-8"))
TOKEN = "conformance-token"

TDB = references.Reference(
    "digital-services-act/transparency-database", "69e80a0bc8eb3cbfbe8246e898194c3bdf490a4b",
    ("resources/markdown/api-documentation.md",), licence="GPL-2.0")
API_DOCUMENTATION = "resources/markdown/api-documentation.md"

# Our index of the documentation's code blocks the tests use: name -> (first line, last line, fence info, what it is).
DOCUMENTED = {
    "statement_request": (68, 106, "json", "the example body of a single statement (POST /api/v1/statement)"),
    "statement_response": (117, 162, "json", "the 201 answer to it"),
    "error_empty_payload_request": (1385, 1386, "javascript", "an empty JSON object sent as a statement"),
    "error_empty_payload_422": (1394, 1467, "javascript", "the 422 answer to it (13 fields listed)"),
    "error_automated_decision_422": (1487, 1500, "javascript", "the 422 answer to automated_decision 'maybe'"),
    "error_statements_422": (1511, 1545, "javascript", "the 422 answer to a batch of three whose first and third are invalid"),
}


@functools.cache
def documented_text(name: str) -> str:
    """A code block of the API documentation, as written between its fences."""
    TDB.require()
    first, last, info, _ = DOCUMENTED[name]
    return mdblocks.fenced_at(TDB.text(API_DOCUMENTATION), first, last, info)


def doc(name: str):
    """A code block of the API documentation, parsed as JSON (a fresh copy each time)."""
    return copy.deepcopy(_parsed(name))


@functools.cache
def _parsed(name: str):
    return json.loads(documented_text(name))


def _load_standin():
    spec = importlib.util.spec_from_file_location("tdb_standin", ROOT / "tools" / "tdb_standin.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


standin = _load_standin()


@pytest.fixture
def tdb():
    server = standin.make_server("127.0.0.1", 0, TOKEN)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    server.url = f"http://127.0.0.1:{server.server_address[1]}"
    yield server
    server.shutdown()
    server.server_close()


HEADERS = {"Authorization": f"Bearer {TOKEN}", "Accept": "application/json"}


def post_one(tdb, body, headers=HEADERS):
    return httpx.post(tdb.url + "/api/v1/statement", json=body, headers=headers)


def post_many(tdb, statements, headers=HEADERS):
    return httpx.post(tdb.url + "/api/v1/statements", json={"statements": statements}, headers=headers)


def example(puid: str | None = None, **changes) -> dict:
    """The documentation's example statement, with changes (None removes a field)."""
    body = doc("statement_request")
    if puid is not None:
        body["puid"] = puid
    for name, value in changes.items():
        if value is None:
            body.pop(name, None)
        else:
            body[name] = value
    return body


def illegal(puid: str, explanation: str = "It is illegal.", **changes) -> dict:
    return example(puid, decision_ground="DECISION_GROUND_ILLEGAL_CONTENT", illegal_content_legal_ground="Regulation (EU) 2021/784",
                   illegal_content_explanation=explanation, **changes)


def stored(tdb) -> set[str]:
    return {s["puid"] for s in httpx.get(tdb.url + "/_standin/statements").json()["statements"]}


# --- the facts file -------------------------------------------------------------------------------------------

def test_the_facts_name_their_source_and_hold_the_reviewed_lists():
    assert RULES["source"]["commit"] == TDB.commit == "69e80a0bc8eb3cbfbe8246e898194c3bdf490a4b"
    assert "GPL" in RULES["source"]["licence"]
    languages = RULES["enums"]["ALL_LANGUAGES"]["values"]
    assert len(languages) == len(set(languages)) == 184 and "HE" in languages
    assert not {"IW", "IN", "JI", "JW", "MO", "SH"} & set(languages)
    countries = RULES["enums"]["EUROPEAN_COUNTRY_CODES"]["values"]
    assert len(countries) == 30 and "GR" in countries and not {"EL", "CH", "GB", "UK", "XK"} & set(countries)
    assert set(countries) == set(RULES["enums"]["EUROPEAN_UNION_COUNTRY_CODES"]["values"]) | {"IS", "LI", "NO"}
    assert RULES["endpoints"]["multi"]["limits"] == {"min_statements": 1, "max_statements": 100}
    assert RULES["endpoints"]["multi"]["validation_error"]["error_key"] == "statement_{index}"


# --- the documented examples --------------------------------------------------------------------------------------

def test_the_documented_example_is_accepted_by_the_single_endpoint(tdb):
    r = post_one(tdb, example())
    assert r.status_code == 201
    body = r.json()
    for key in ("id", "uuid", "created_at", "platform_name", "permalink", "self", "puid"):
        assert key in body
    assert body["puid"] == "TK421" and body["permalink"].endswith("/statement/" + body["uuid"])
    documented = doc("statement_response")
    for key in ("decision_visibility", "decision_monetary", "decision_ground", "content_type", "territorial_scope", "content_language",
                "content_date", "application_date", "end_date_monetary_restriction", "incompatible_content_illegal", "content_id"):
        assert body[key] == documented[key], key  # content_type and territorial_scope come back sorted, as documented
    assert "illegal_content_legal_ground" not in body  # excluded: the ground is incompatible content
    assert stored(tdb) == {"TK421"}


def test_the_documented_example_is_accepted_by_the_batch_endpoint(tdb):
    r = post_many(tdb, [example("TK421"), example("TK422")])
    assert r.status_code == 201
    created = r.json()["statements"]
    assert [s["puid"] for s in created] == ["TK421", "TK422"]
    assert all(s["uuid"] and s["created_at"] and "id" not in s for s in created)
    assert created[0]["territorial_scope"] == ["DE", "ES", "PT"] and created[0]["content_id_ean"] == "0123456789123"
    assert stored(tdb) == {"TK421", "TK422"}


def test_the_documented_empty_payload_is_refused_with_the_documented_fields(tdb):
    documented = doc("error_empty_payload_422")
    r = httpx.post(tdb.url + "/api/v1/statement", content=documented_text("error_empty_payload_request"),
                   headers={**HEADERS, "Content-Type": "application/json"})
    assert r.status_code == 422
    body = r.json()
    assert body["message"] == documented["message"]
    # The documentation lists 13 fields but counts 14 errors: content_date is the one it leaves out.
    assert list(body["errors"]) == [*list(documented["errors"])[:7], "content_date", *list(documented["errors"])[7:]]
    assert {k: v for k, v in body["errors"].items() if k != "content_date"} == documented["errors"]
    assert body["errors"]["content_date"] == ["The content date field is required."]


def test_the_documented_invalid_automated_decision_gets_the_documented_answer(tdb):
    r = post_one(tdb, example("maybe-1", automated_decision="maybe"))
    assert r.status_code == 422 and r.json() == doc("error_automated_decision_422")


def test_the_documented_batch_error_is_reproduced_exactly(tdb):
    first = example("doc-0", decision_monetary="DECISION_MONETARY_NOPE", decision_ground="DECISION_GROUND_NOPE", automated_detection=None)
    third = example("doc-2", decision_provision="DECISION_PROVISION_NOPE")
    r = post_many(tdb, [first, example("doc-1"), third])
    assert r.status_code == 422 and r.json() == doc("error_statements_422")
    assert "message" not in r.json()
    assert stored(tdb) == set()  # NONE of the statements were created


# --- the refusals the review found Vigil's statements run into -------------------------------------------------------

REFUSED = {
    "content type other without content_type_other": (
        dict(content_type=["CONTENT_TYPE_OTHER"]), "content_type_other", "The content type other field is required."),
    "language IW (legacy Hebrew)": (dict(content_language="IW"), "content_language", "The selected content language is invalid."),
    "language in lower case": (dict(content_language="en"), "content_language", "The selected content language is invalid."),
    "territorial scope CH": (dict(territorial_scope=["DE", "CH"]), "territorial_scope", "The selected territorial scope is invalid."),
    "territorial scope EL": (dict(territorial_scope=["EL"]), "territorial_scope", "The selected territorial scope is invalid."),
    "incompatible explanation over 2000": (dict(incompatible_content_explanation="x" * 2001), "incompatible_content_explanation",
                                           "The incompatible content explanation field must not be greater than 2000 characters."),
    "incompatible_content_illegal null": (dict(incompatible_content_illegal=""), "incompatible_content_illegal",
                                          "The selected incompatible content illegal is invalid."),
}


@pytest.mark.parametrize("case", list(REFUSED))
def test_each_known_mistake_is_refused_on_both_endpoints(tdb, case):
    changes, field, message = REFUSED[case]
    single = post_one(tdb, example("one", **changes))
    assert single.status_code == 422
    assert single.json() == {"message": message, "errors": {field: [message]}}
    batch = post_many(tdb, [example("many", **changes)])
    assert batch.status_code == 422 and batch.json() == {"errors": {"statement_0": {field: [message]}}}
    assert stored(tdb) == set()


def test_the_illegal_content_explanation_cap_is_2000_characters(tdb):
    r = post_many(tdb, [illegal("at-cap", "y" * 2000), illegal("over-cap", "y" * 2001)])
    assert r.status_code == 422
    assert r.json() == {"errors": {"statement_1": {"illegal_content_explanation": [
        "The illegal content explanation field must not be greater than 2000 characters."]}}}
    assert post_one(tdb, illegal("at-cap", "y" * 2000)).status_code == 201
    assert post_one(tdb, illegal("facts-cap", decision_facts="z" * 5001)).json()["errors"] == {
        "decision_facts": ["The decision facts field must not be greater than 5000 characters."]}


def test_the_accepted_forms_of_those_fields_pass(tdb):
    r = post_many(tdb, [example("gr", territorial_scope=["GR", "IS", "LI", "NO"]), example("he", content_language="HE"),
                        example("other", content_type=["CONTENT_TYPE_OTHER"], content_type_other="A livestream archive")])
    assert r.status_code == 201
    assert r.json()["statements"][0]["territorial_scope"] == ["GR", "IS", "LI", "NO"]


# --- whole-batch refusal and puids ---------------------------------------------------------------------------------

def test_one_invalid_statement_refuses_the_whole_batch(tdb):
    batch = [example(f"b-{i}") for i in range(5)]
    batch[3]["territorial_scope"] = ["CH"]
    r = post_many(tdb, batch)
    assert r.status_code == 422
    assert r.json() == {"errors": {"statement_3": {"territorial_scope": ["The selected territorial scope is invalid."]}}}
    assert stored(tdb) == set() and not tdb.db.statements
    del batch[3]
    assert post_many(tdb, batch).status_code == 201
    assert stored(tdb) == {"b-0", "b-1", "b-2", "b-4"}


def test_a_repeated_puid_gets_the_duplicate_answer(tdb):
    single = "The identifier given is not unique within this platform."
    multi = "The platform identifier(s) are not all unique within this call."
    assert post_one(tdb, example("p-1")).status_code == 201
    r = post_one(tdb, example("p-1"))
    assert r.status_code == 422
    assert r.json() == {"message": single, "errors": {"puid": [single]}, "existing": {"puid": "p-1"}}

    # stored earlier (by either endpoint): the whole batch is refused and the puids are named
    r = post_many(tdb, [example("p-2"), example("p-1"), example("p-3")])
    assert r.status_code == 422
    assert r.json() == {"message": multi, "errors": {"puid": [multi], "existing_puids": ["p-1"]}}
    assert stored(tdb) == {"p-1"}

    # repeated within one call: checked first, each named once
    r = post_many(tdb, [example("p-4"), example("p-4"), example("p-1")])
    assert r.json() == {"message": multi, "errors": {"puid": [multi], "existing_puids": ["p-4"]}}

    assert post_many(tdb, [example("p-5")]).status_code == 201
    assert post_one(tdb, example("p-5")).json()["existing"] == {"puid": "p-5"}


def test_validation_comes_before_the_puid_check(tdb):
    assert post_one(tdb, example("v-1")).status_code == 201
    r = post_many(tdb, [example("v-1"), example("v-2", content_language="IW")])
    assert r.json() == {"errors": {"statement_1": {"content_language": ["The selected content language is invalid."]}}}


def test_the_existing_puid_endpoint(tdb):
    post_one(tdb, example("found-1"))
    found = httpx.get(tdb.url + "/api/v1/statement/existing-puid/found-1", headers=HEADERS)
    assert found.status_code == 302 and found.json() == {"message": "statement of reason found", "puid": "found-1"}
    missing = httpx.get(tdb.url + "/api/v1/statement/existing-puid/nope", headers=HEADERS)
    assert missing.status_code == 404 and missing.json() == {"message": "statement of reason not found", "puid": "nope"}


# --- envelope, middleware, auth, headers ------------------------------------------------------------------------------

def test_the_batch_holds_1_to_100_statements(tdb):
    r = post_many(tdb, [])
    assert r.status_code == 422
    assert r.json() == {"message": "The statements field is required.", "errors": {"statements": ["The statements field is required."]}}
    r = post_many(tdb, [example(f"e-{i}") for i in range(101)])
    text = "The statements field must have between 1 and 100 items."
    assert r.status_code == 422 and r.json() == {"message": text, "errors": {"statements": [text]}}
    assert post_many(tdb, [example(f"e-{i}") for i in range(100)]).status_code == 201
    assert len(stored(tdb)) == 100


def test_strings_are_trimmed_and_empty_strings_are_null(tdb):
    r = post_one(tdb, example("  trimmed-1 \u200b", content_language=" EN "))
    assert r.status_code == 201 and r.json()["puid"] == "trimmed-1" and r.json()["content_language"] == "EN"
    r = post_one(tdb, example("   "))
    assert r.json()["errors"] == {"puid": ["The puid field is required."]}


def test_the_database_own_test_expectations_hold():
    """Verdicts the Database's feature tests assert (tests/Feature/Http/Controllers/Api/v1/*)."""
    assert standin.check(example(puid="very bad é + pu.id"), "single") == {"puid": ["The puid format is invalid."]}
    assert standin.check(example(application_date="2023-4-4-4"), "single")["application_date"][0] == (
        "The application date does not match the format YYYY-MM-DD.")
    assert standin.check(example(territorial_scope=["XY", "ZZ"]), "single") == {
        "territorial_scope": ["The selected territorial scope is invalid."]}
    assert standin.check(example(decision_ground_reference_url="notvalidurl"), "single")
    assert standin.check(example(decision_ground_reference_url="https://www.goodurl.com"), "single") == {}
    assert standin.check(example(content_language="VI"), "single") == {}
    assert standin.check(example(content_id={"EAN-13": "123456789012"}), "single").keys() == {"content_id.EAN-13"}
    visibility_other = example(decision_visibility=["DECISION_VISIBILITY_CONTENT_DEMOTED", "DECISION_VISIBILITY_OTHER"])
    assert standin.check(visibility_other, "multi") == {"decision_visibility_other": ["The decision visibility other field is required."]}


def test_a_wrong_or_missing_token_is_refused(tdb):
    for headers in ({"Accept": "application/json"}, {"Authorization": "Bearer wrong", "Accept": "application/json"}, {}):
        r = post_many(tdb, [example("t-1")], headers=headers)
        assert r.status_code == 401 and r.json() == {"message": "Unauthenticated."}
    assert stored(tdb) == set()


def test_without_accept_json_a_validation_failure_is_a_redirect(tdb):
    r = post_one(tdb, example("r-1", content_language="IW"), headers={"Authorization": f"Bearer {TOKEN}"})
    assert r.status_code == 302 and r.headers["location"] == tdb.url + "/"
    # the per-statement answer of the batch endpoint is JSON whatever Accept says
    r = post_many(tdb, [example("r-1", content_language="IW")], headers={"Authorization": f"Bearer {TOKEN}"})
    assert r.status_code == 422 and list(r.json()["errors"]) == ["statement_0"]


def test_an_undecodable_body_is_an_empty_statement(tdb):
    r = httpx.post(tdb.url + "/api/v1/statements", content=b"{not json", headers={**HEADERS, "Content-Type": "application/json"})
    assert r.status_code == 422 and r.json()["errors"] == {"statements": ["The statements field is required."]}
