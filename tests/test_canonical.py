"""Canonical JSON is RFC 8785's, byte for byte: checked against the `rfc8785` package (Trail of Bits), which an
auditor would use to recompute a ledger leaf, on arbitrary values and on the shapes the ledger writes.

The RFC's own examples (Appendix B's number table and section 3.2.3's sorting example) are checked too: they are
the spec's words, not our reading of it.
"""

from __future__ import annotations

import math
import struct

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from vigil import canonical

SAFE = canonical.MAX_SAFE_INTEGER

# Python floats and safe integers, as JSON numbers; text including characters past U+FFFF (surrogate pairs in
# UTF-16, where JCS sorts keys) and control characters (which JCS escapes).
numbers = st.one_of(st.integers(-SAFE, SAFE), st.floats(allow_nan=False, allow_infinity=False))
text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=20)
json_values = st.recursive(
    st.none() | st.booleans() | numbers | text,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(text, inner, max_size=5),
    max_leaves=30,
)


@settings(max_examples=2000, deadline=None)
@given(json_values)
def test_same_bytes_as_the_rfc8785_package(value):
    assert canonical.dumpb(value) == rfc8785.dumps(value)


@settings(max_examples=5000, deadline=None)
@given(st.integers(0, 2**64 - 1))
def test_every_double_bit_pattern_written_as_ecmascript_writes_it(bits):
    x = struct.unpack("<d", bits.to_bytes(8, "little"))[0]
    if not math.isfinite(x):
        with pytest.raises(canonical.CanonicalError):
            canonical.dumps(x)
        return
    assert canonical.dumpb(x) == rfc8785.dumps(x)


# The shapes of ledger records (vigil.ledger.log.plain): ids, names, timestamps as ISO text, digests, nested
# evidence with distances and scores, optional fields as null.
ledger_records = st.fixed_dictionaries(
    {
        "kind": st.sampled_from(["decision", "bank_change", "disclosure", "appeal", "statement"]),
        "id": st.integers(1, SAFE),
        "at": st.datetimes().map(lambda d: d.isoformat()),
        "actor": st.one_of(st.none(), text),
        "explanation_sha256": st.binary(min_size=32, max_size=32).map(bytes.hex),
        "evidence": st.lists(
            st.fixed_dictionaries({"bank": text, "distance": st.integers(0, 256),
                                   "score": st.floats(0, 1), "labels": st.dictionaries(text, text, max_size=3)}),
            max_size=4),
    },
    optional={"ends_on": st.none() | st.dates().map(str), "category": text},
)


@settings(max_examples=1000, deadline=None)
@given(ledger_records)
def test_ledger_record_shapes_match_the_package(record):
    assert canonical.dumpb(record) == rfc8785.dumps(record)


# RFC 8785 Appendix B: IEEE 754 bit patterns and the text JCS requires for them.
APPENDIX_B = {
    "0000000000000000": "0",
    "8000000000000000": "0",
    "0000000000000001": "5e-324",
    "8000000000000001": "-5e-324",
    "7fefffffffffffff": "1.7976931348623157e+308",
    "ffefffffffffffff": "-1.7976931348623157e+308",
    "4340000000000000": "9007199254740992",
    "c340000000000000": "-9007199254740992",
    "4430000000000000": "295147905179352830000",
    "44b52d02c7e14af5": "9.999999999999997e+22",
    "44b52d02c7e14af6": "1e+23",
    "44b52d02c7e14af7": "1.0000000000000001e+23",
    "444b1ae4d6e2ef4e": "999999999999999700000",
    "444b1ae4d6e2ef4f": "999999999999999900000",
    "444b1ae4d6e2ef50": "1e+21",
    "3eb0c6f7a0b5ed8c": "9.999999999999997e-7",
    "3eb0c6f7a0b5ed8d": "0.000001",
    "41b3de4355555553": "333333333.3333332",
    "41b3de4355555554": "333333333.33333325",
    "41b3de4355555555": "333333333.3333333",
    "41b3de4355555556": "333333333.3333334",
    "41b3de4355555557": "333333333.33333343",
    "43143ff3c1cb0959": "1424953923781206.2",
}


@pytest.mark.parametrize("bits, expected", APPENDIX_B.items())
def test_rfc_8785_appendix_b_numbers(bits, expected):
    assert canonical.dumps(struct.unpack(">d", bytes.fromhex(bits))[0]) == expected


def test_rfc_8785_sorting_example_sorts_keys_by_utf16_code_units():
    # Section 3.2.3: keys "\u20ac" (euro), "\r", "\ufb33" (Hebrew), "1", "\U0001f600" (emoji), "\x80", "\xf6".
    value = {"\u20ac": "Euro Sign", "\r": "Carriage Return", "\ufb33": "Hebrew Letter Dalet With Dagesh",
             "1": "One", "\U0001f600": "Emoji: Grinning Face", "\x80": "Control", "\xf6": "Latin Small Letter O With Diaeresis"}
    order = [k for k in __import__("json").loads(canonical.dumps(value))]
    assert order == ["\r", "1", "\x80", "\xf6", "\u20ac", "\U0001f600", "\ufb33"]


@pytest.mark.parametrize("bad, why", [
    (float("nan"), "no JSON form"), (float("inf"), "no JSON form"), (2**53, "outside"),
    ("\ud800", "lone surrogate"), ({1: "x"}, "keys must be strings"), (object(), "has no JSON form"),
])
def test_values_without_a_canonical_form_are_refused_with_the_reason(bad, why):
    with pytest.raises(canonical.CanonicalError, match=why):
        canonical.dumps(bad)
