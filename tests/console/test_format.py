"""The console's pure parts: hit highlighting, countdowns and chart geometry."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from vigil import charts
from vigil.console.format import highlight, hit_text, is_urgent, time_left

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=timezone.utc)


def test_highlight_marks_exactly_the_hit_spans():
    text = "buy 10 sheep, 买十只羊 today"
    spans = highlight(text, [{"start": 0, "end": 12, "reason": "a"}, {"start": 14, "end": 18, "reason": "b"}])
    assert [(s.text, [h["reason"] for h in s.hits]) for s in spans] == [
        ("buy 10 sheep", ["a"]), (", ", []), ("买十只羊", ["b"]), (" today", [])]


def test_overlapping_hits_split_at_every_boundary():
    spans = highlight("abcdef", [{"start": 1, "end": 4}, {"start": 3, "end": 6}])
    assert [(s.text, len(s.hits)) for s in spans] == [("a", 0), ("bc", 1), ("d", 2), ("ef", 1)]


def test_bad_hits_are_clipped_or_ignored_never_shift_the_text():
    text = "hello"
    spans = highlight(text, [{"start": 3, "end": 99}, {"start": "x", "end": 2}, {"span": [4, 2]}, {}, {"span": [0, 1]}])
    assert "".join(s.text for s in spans) == text
    assert [(s.text, bool(s.hits)) for s in spans] == [("h", True), ("el", False), ("lo", True)]
    assert hit_text(text, {"start": 10, "end": 12, "text": "given"}) == "given"
    assert hit_text(text, {"span": [1, 3]}) == "el"


hits = st.lists(st.fixed_dictionaries({"start": st.integers(-5, 60), "end": st.integers(-5, 60)}), max_size=8)


@given(st.text(max_size=50), hits)
def test_highlight_keeps_the_text_and_every_marked_character_is_inside_its_hits(text, hs):
    spans = highlight(text, hs)
    assert "".join(s.text for s in spans) == text
    pos = 0
    for span in spans:
        assert span.text
        for h in span.hits:
            assert h["start"] <= pos and pos + len(span.text) <= h["end"]
        covering = [h for h in hs if h["start"] <= pos < h["end"]]
        assert len(span.hits) == len(covering)
        pos += len(span.text)


def test_time_left_and_urgency():
    assert time_left(NOW + timedelta(minutes=42, seconds=5), NOW) == "42 min 05 s"
    assert time_left(NOW + timedelta(hours=2, minutes=5), NOW) == "2 h 05 min"
    assert time_left(NOW + timedelta(days=3, hours=4), NOW) == "3 d 4 h"
    assert time_left(NOW - timedelta(minutes=12), NOW) == "overdue 12 min 00 s"
    assert time_left((NOW + timedelta(seconds=9)).replace(tzinfo=None), NOW) == "9 s"  # SQLite's naive UTC
    assert is_urgent("authority_order", NOW + timedelta(minutes=59), NOW)
    assert not is_urgent("authority_order", NOW + timedelta(minutes=61), NOW)
    assert not is_urgent("trusted_flagger", NOW + timedelta(minutes=5), NOW)


def test_bar_chart_scales_to_the_largest_value_or_a_given_scale():
    chart = charts.bar_chart("t", [("a", 10), ("b", 5), ("c", 0)])
    assert [b.width for b in chart.bars] == [charts.PLOT_WIDTH, charts.PLOT_WIDTH / 2, 0]
    assert [b.text for b in chart.bars] == ["10", "5", "0"]
    assert [b.y for b in chart.bars] == [0, 30, 60]
    capped = charts.bar_chart("t", [("a", 150.0)], unit=" min", scale_to=75, css={"a": "late"})
    assert capped.bars[0].width == charts.PLOT_WIDTH and capped.bars[0].text == "150 min" and capped.bars[0].css == "late"
    assert charts.bar_chart("t", []).bars == ()


def test_share():
    s = charts.Share("Automated", "auto", "human", 1, 4)
    assert (s.percent, s.part_width) == ("25 %", charts.PLOT_WIDTH / 4)
    assert charts.Share("x", "a", "b", 0, 0).percent == "no data"


def test_when_reads_datetimes_and_iso_text_as_utc():
    from vigil.console.format import when

    assert when(NOW) == "2026-11-26 12:00:00 UTC"
    assert when("2026-11-26T13:00:00.123456+01:00") == "2026-11-26 12:00:00 UTC"
    assert when(NOW.replace(tzinfo=None)) == "2026-11-26 12:00:00 UTC"
