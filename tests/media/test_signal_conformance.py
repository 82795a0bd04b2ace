"""Every registered signal type passes the same checks (in the manner of pytx's signal_type_test_helper)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vigil import signals
from vigil.signals import InvalidSignal, SignalType
from vigil.signals.video import Frame, encode

hex_digest = lambda n: st.binary(min_size=n // 2, max_size=n // 2).map(bytes.hex)  # noqa: E731
frames = st.lists(st.builds(Frame, hex_digest(64), st.integers(50, 100)), min_size=1, max_size=20)

VALUES = {
    "pdq": hex_digest(64),
    "md5": hex_digest(32),
    "sha256": hex_digest(64),
    "vpdq": frames.map(encode),
}
"""A strategy of valid values per type: registering a type without one fails test_every_type_has_values."""

MALFORMED = ["", "   ", "zz", "0" * 31, "g" * 64, "0" * 65, "0" * 63 + "-", "00:00", "0" * 64 + ":50;", ";", "\x00" * 64, "é" * 64]

TYPES = sorted(signals.REGISTRY)


def test_every_type_has_values():
    assert set(VALUES) == set(signals.REGISTRY)


@pytest.fixture(params=TYPES)
def kind(request) -> SignalType:
    return signals.get(request.param)


def test_protocol_and_registry(kind):
    assert isinstance(kind, SignalType)
    assert signals.get(kind.name) is kind
    assert kind.name == kind.name.lower() and " " not in kind.name
    assert set(kind.content_types) <= {"photo", "video", "file"} and kind.content_types
    assert kind.default_threshold >= 0


def test_examples_are_valid_and_normalised(kind):
    examples = kind.examples()
    assert len(examples) >= 2
    for value in examples:
        assert kind.validate(value) == value
        assert kind.validate(f"  {value.upper()}\n") == value
        assert kind.distance(value, value) == 0
    assert kind.distance(examples[0], examples[1]) > kind.default_threshold


@pytest.mark.parametrize("bad", MALFORMED)
def test_rejects_malformed(kind, bad):
    with pytest.raises(InvalidSignal):
        kind.validate(bad)


def test_rejects_a_10_mb_value_quickly(kind):
    with pytest.raises(InvalidSignal) as caught:
        kind.validate("a" * 10_000_000)
    assert len(str(caught.value)) < 300


@pytest.mark.parametrize("bad", [None, 123, b"00" * 32, ["a"]])
def test_rejects_wrong_types(kind, bad):
    with pytest.raises(InvalidSignal):
        kind.validate(bad)


def test_unknown_type_is_invalid_signal():
    with pytest.raises(InvalidSignal, match="known: md5, pdq, sha256, vpdq"):
        signals.get("tmk")


@pytest.mark.parametrize("name", TYPES)
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_distance_properties(name, data):
    kind = signals.get(name)
    a = data.draw(VALUES[name])
    b = data.draw(VALUES[name])
    assert kind.validate(a) == a
    assert kind.validate(kind.validate(a)) == kind.validate(a)
    assert kind.distance(a, a) == 0
    d = kind.distance(a, b)
    assert d >= 0
    if kind.metric:
        assert d == kind.distance(b, a)
        c = data.draw(VALUES[name])
        assert kind.distance(a, c) <= d + kind.distance(b, c)


@pytest.mark.parametrize("name", TYPES)
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_one_character_off_is_rejected(name, data):
    kind = signals.get(name)
    value = data.draw(VALUES[name])
    cut = data.draw(st.integers(0, min(len(value), 32) - 1))  # inside the (first) digest
    with pytest.raises(InvalidSignal):
        kind.validate(value[:cut] + value[cut + 1:])
    with pytest.raises(InvalidSignal):
        kind.validate(value[:cut] + "x" + value[cut + 1:])


def test_hashes_of_a_sample_are_valid(kind, sample_content, tmp_path):
    for content_type in kind.content_types:
        data = sample_content[content_type]
        path = tmp_path / f"sample-{content_type}"
        path.write_bytes(data)
        from_bytes, from_path = kind.hash_bytes(data), kind.hash_path(path)
        assert from_bytes and [s.value for s in from_bytes] == [s.value for s in from_path]
        for s in from_bytes:
            assert s.type == kind.name
            assert kind.validate(s.value) == s.value
            assert kind.distance(s.value, s.value) == 0
