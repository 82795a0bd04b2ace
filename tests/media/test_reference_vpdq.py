"""vPDQ against ThreatExchange's reference: sampled frames, frame hashes, timestamps, match decisions, pytx's codec.

The reference's own rules: `vpdq/python/tests/test_vpdq_hash.py` accepts a frame hash when it is within
31 bits (`< 31`) of `vpdq/sample-hashes`, comparing only frames whose qualities are both >= 50; decisions
are pytx's `match_VPDQ_hash_brute` with its thresholds (query >= 80 %). The core tests run on the one
sample video in data/reference/; the others read the full reference copy and skip without it.
"""

from __future__ import annotations

import io
import json
import math

import av
import numpy as np
import pytest
from _images import varied_image
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from vigil.signals import MediaError
from vigil.signals.video import (
    MATCH_SHARE,
    MAX_DECODE_SECONDS,
    MAX_DECODED_FRAMES,
    VPDQ,
    Frame,
    compare,
    decode,
    encode,
    from_pytx,
    hash_video,
    to_pytx,
)

from ._reference import FIXTURES, need_reference, pytx_vpdq, sample_hashes

FRAME_TOLERANCE = 31
"""vpdq/python/tests/test_vpdq_hash.py: DISTANCE_TOLERANCE = 31, a frame passes when `hamming < 31`."""
QUALITY_TOLERANCE = 50
FRAMES_PER_HASH = 30
"""Every sample video is 30 fps: vPDQ with seconds_per_hash = 1 hashes frames 0, 30, 60..."""


def hamming(a: str, b: str) -> int:
    return (int(a, 16) ^ int(b, 16)).bit_count()


def reference_frames(path) -> list[tuple[str, int, float]]:
    """The sample hashes of the frames vPDQ hashes at one per second: (pdq, quality, timestamp)."""
    every = sample_hashes(path)
    return [(every[i][1], every[i][0], float(every[i][2])) for i in sorted(every) if i % FRAMES_PER_HASH == 0]


def check_frames(signal_value: str, expected: list[tuple[str, int, float]]) -> list[int]:
    """Distances of the frames whose qualities are both >= 50; asserts the sampling and the timestamps."""
    frames = decode(signal_value)
    assert len(frames) == len(expected)
    distances = []
    for frame, (pdq, quality, timestamp) in zip(frames, expected):
        assert math.isclose(frame.timestamp, timestamp, abs_tol=0.0005)
        if frame.quality >= QUALITY_TOLERANCE and quality >= QUALITY_TOLERANCE:
            distances.append(hamming(frame.pdq, pdq))
    return distances


# --- whole frames, sampled as vPDQ samples them ----------------------------------------------------------


def test_padded_sample_video_hashes_as_vpdq():
    """A video whose frames are padded: the reference hashes the whole frame, padding included."""
    video = FIXTURES / "tmk" / "sample-videos" / "test-padded-dimensions.mp4"
    expected = reference_frames(FIXTURES / "vpdq" / "sample-hashes" / "test-padded-dimensions.txt")
    signal = hash_video(video)
    distances = check_frames(signal.value, expected)
    assert len(distances) == len(expected) == 5
    assert max(distances) < FRAME_TOLERANCE
    # the padding is cut only in the extra letterbox list, which differs from the reference hashes
    assert len(signal.variants) == 1
    trimmed = decode(signal.variants[0])
    assert [f.timestamp for f in trimmed] == [f.timestamp for f in decode(signal.value)] == [0, 1, 2, 3, 4]
    assert min(hamming(f.pdq, pdq) for f, (pdq, _, _) in zip(trimmed, expected)) >= FRAME_TOLERANCE


def test_every_sample_video_frame_within_31_bits():
    root = need_reference()
    videos = sorted((root / "tmk" / "sample-videos").glob("*.mp4"))
    assert len(videos) == 14
    for video in videos:
        distances = check_frames(_hash(video), reference_frames(root / "vpdq" / "sample-hashes" / f"{video.stem}.txt"))
        assert distances and max(distances) < FRAME_TOLERANCE, (video.name, max(distances))


_HASHES: dict = {}


def _hash(video) -> str:
    if video not in _HASHES:
        _HASHES[video] = hash_video(video).value
    return _HASHES[video]


# --- the match decisions -------------------------------------------------------------------------------


def _pytx_decision(query: list, compared: list) -> tuple[float, float, bool]:
    util, brute = pytx_vpdq()
    q = [util.VpdqCompactFeature(p, quality, t) for p, quality, t in query]
    c = [util.VpdqCompactFeature(p, quality, t) for p, quality, t in compared]
    r = brute.match_VPDQ_hash_brute(q, c, util.VPDQ_QUALITY_THRESHOLD, util.VPDQ_DISTANCE_THRESHOLD)
    passed = r.query_match_percent >= util.VPDQ_QUERY_MATCH_THRESHOLD_PERCENT and r.compared_match_percent >= util.VPDQ_INDEX_MATCH_THRESHOLD_PERCENT
    return r.query_match_percent, r.compared_match_percent, passed


def test_same_decisions_as_vpdq_on_every_pair_of_sample_videos():
    """Vigil's hashes compared by Vigil (with each other, and with the reference's hashes as a bank) against pytx's
    matcher on the reference's own hashes, 196 ordered pairs."""
    root = need_reference()
    videos = sorted((root / "tmk" / "sample-videos").glob("*.mp4"))
    reference = {v.stem: reference_frames(root / "vpdq" / "sample-hashes" / f"{v.stem}.txt") for v in videos}
    ours = {v.stem: _hash(v) for v in videos}
    banked = {name: encode([Frame(*f) for f in frames]) for name, frames in reference.items()}
    differ, matched = [], 0
    for a in ours:
        for b in ours:
            decision = _pytx_decision(reference[a], reference[b])[2]
            matched += decision
            mine = compare(ours[a], ours[b])
            assert mine.matches() == (VPDQ.distance(ours[a], ours[b]) <= VPDQ.default_threshold)
            # and against a bank of the reference's hashes (interoperability), both ways
            against_bank = compare(ours[a], banked[b]).matches()
            bank_query = compare(banked[a], ours[b]).matches()
            if (mine.matches(), against_bank, bank_query) != (decision, decision, decision):
                differ.append((a, b, decision, mine.matches(), against_bank, bank_query))
    assert len(ours) ** 2 == 196 and 0 < matched < 196
    assert not differ


def test_pytx_chair_20_expectation():
    """pytx's own vpdq test: chair-20-sd-bar against its 21 expected frame hashes, 100 % both ways."""
    root = need_reference()
    test_file = root / "python-threatexchange" / "threatexchange" / "extensions" / "vpdq" / "tests" / "test_vpdq_hash_and_match.py"
    if not test_file.is_file():
        pytest.skip(f"{test_file.relative_to(root)} is not in the reference copy")
    import re

    expected = re.findall(r"\"([0-9a-f]{64})\"", test_file.read_text())
    assert len(expected) == 21
    ours = [(f.pdq, f.quality, f.timestamp) for f in decode(_hash(root / "tmk" / "sample-videos" / "chair-20-sd-bar.mp4"))]
    assert _pytx_decision(ours, [(h, 100, float(i)) for i, h in enumerate(expected)])[:2] == (100, 100)


features = st.lists(
    st.tuples(st.sampled_from(["0" * 64, "f" * 64, "0f" * 32, "ff00" * 16]) | st.binary(min_size=32, max_size=32).map(bytes.hex),
              st.integers(0, 100), st.floats(0, 1e4, allow_nan=False)),
    min_size=1, max_size=12,
)


def _near(fs: list, rng: np.random.Generator) -> list:
    """fs with a few bits flipped in each hash (so some frames match and some do not)."""
    out = []
    for pdq, quality, t in fs:
        bits = int(pdq, 16) ^ sum(1 << int(b) for b in rng.choice(256, size=int(rng.integers(0, 60)), replace=False))
        out.append((f"{bits:064x}", quality, t))
    return out


@settings(max_examples=200, deadline=None)
@given(features, features, st.integers(0, 2**32 - 1))
def test_compare_is_pytx_brute_matcher(a, b, seed):
    """Dedupe, quality filter, <= 31, the 80 % rule: the same shares and decision as pytx's own code."""
    b = b + _near(a, np.random.default_rng(seed))
    q, c = encode([Frame(*f) for f in a]), encode([Frame(*f) for f in b])
    mine = compare(q, c)
    util, _ = pytx_vpdq()
    usable = lambda fs: util.quality_filter(util.dedupe([util.VpdqCompactFeature(*f) for f in fs]), QUALITY_TOLERANCE)
    if not usable(a) or not usable(b):
        assert not mine.matches()  # pytx divides by zero here; no usable frame matches nothing
        return
    query_pct, compared_pct, decision = _pytx_decision(a, b)
    assert math.isclose(mine.query_share * 100, query_pct) and math.isclose(mine.candidate_share * 100, compared_pct)
    assert mine.matches() == decision == (VPDQ.distance(q, c) <= VPDQ.default_threshold)
    assert MATCH_SHARE == 0.8


def test_duplicate_frames_count_once():
    good, other = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22", "e64cc9d91c623842f8d1f1d9a398e78c9f199b3bd83924f2b7e11e0bf861b064"
    query = encode([Frame(good, 90, 0), Frame(good, 90, 1), Frame(good, 90, 2), Frame(good, 90, 3), Frame(other, 90, 4)])
    # 4 of 5 frames are in the candidate, but only 1 of the 2 unique ones: pytx says 50 %, not a match
    assert compare(query, encode([Frame(good, 90, 0)])).query_share == 0.5


# --- pytx's vpdq value ---------------------------------------------------------------------------------


def test_to_pytx_is_pytx_serialisation_byte_for_byte():
    util, _ = pytx_vpdq()
    frames = [Frame("f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22", 100, t) for t in (0.0, 1 / 30, 1.935271, 100.0, 1234.5)]
    text = to_pytx(encode(frames))
    assert text == util.vpdq_to_json([util.VpdqCompactFeature(f.pdq, f.quality, f.timestamp) for f in decode(encode(frames))])
    assert json.loads(text)[3] == "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22,100,1e+02"
    assert from_pytx(text) == encode([Frame(f.pdq, f.quality, float(f"{f.timestamp:.3}")) for f in frames])


seconds = st.just(0.0) | st.floats(1e-4, 1e5)
"""Timestamps of real frames: 0, or at least 0.1 ms (pytx's 3 significant digits then fit Vigil's microseconds)."""
pytx_texts = st.lists(st.tuples(st.binary(min_size=32, max_size=32).map(bytes.hex), st.integers(0, 100), seconds),
                      min_size=1, max_size=20)


@given(pytx_texts)
def test_pytx_values_round_trip_exactly(items):
    util, _ = pytx_vpdq()
    text = util.vpdq_to_json([util.VpdqCompactFeature(*item) for item in items])
    value = from_pytx(text)
    assert VPDQ.validate(value) == value
    assert to_pytx(value) == text
    assert [(f.pdq_hex, f.quality) for f in util.json_to_vpdq(to_pytx(value))] == [(p, q) for p, q, _ in items]


@given(st.lists(st.builds(Frame, st.binary(min_size=32, max_size=32).map(bytes.hex), st.integers(0, 100),
                          st.floats(0, 1e5, allow_nan=False).map(lambda t: round(t, 6))), min_size=1, max_size=20))
def test_vigil_values_round_trip(frames):
    value = encode(frames)
    assert decode(value) == [Frame(f.pdq, f.quality, float(f"{f.timestamp:.6f}")) for f in frames]
    back = decode(from_pytx(to_pytx(value)))
    assert [(f.pdq, f.quality) for f in back] == [(f.pdq, f.quality) for f in frames]
    assert all(math.isclose(b.timestamp, f.timestamp, rel_tol=0.006, abs_tol=1e-6) for b, f in zip(back, frames))


@pytest.mark.parametrize("bad", ["", "{}", "[]", "[1]", '["abc,1,0"]', '["' + "f" * 64 + ',101,0"]', '["' + "f" * 64 + ',1,-1"]',
                                 '["' + "f" * 64 + ',1"]', '["' + "f" * 64 + ',1,0,0"]', "not json", '["' + "f" * 64 + ',1,nan"]'])
def test_from_pytx_rejects(bad):
    from vigil.signals import InvalidSignal

    with pytest.raises(InvalidSignal):
        from_pytx(bad)


def test_old_values_without_timestamps_are_read():
    old = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22:87;e64cc9d91c623842f8d1f1d9a398e78c9f199b3bd83924f2b7e11e0bf861b064:90"
    assert [f.timestamp for f in decode(old)] == [0.0, 1.0]
    assert VPDQ.validate(old).endswith(":90:1")


# --- letterbox variants and decoding budgets ----------------------------------------------------------


def _video(seeds: list[int], bars: int = 0, fps: int = 10, seconds: float = 1.0) -> bytes:
    buf = io.BytesIO()
    size = (320, 240)
    with av.open(buf, "w", format="mp4") as container:
        stream = container.add_stream("mpeg4", rate=fps)
        stream.width, stream.height, stream.pix_fmt = size[0], size[1] + 2 * bars, "yuv420p"
        for seed in seeds:
            canvas = Image.new("RGB", (size[0], size[1] + 2 * bars))
            canvas.paste(varied_image(seed, size), (0, bars))
            frame = av.VideoFrame.from_image(canvas)
            for _ in range(round(fps * seconds)):
                for packet in stream.encode(frame):
                    container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return buf.getvalue()


def test_letterbox_variant_matches_the_clean_video_the_reference_hash_does_not():
    clean = hash_video(io.BytesIO(_video([40, 41, 42, 43, 44])))
    boxed = hash_video(io.BytesIO(_video([40, 41, 42, 43, 44], bars=60)))
    assert clean.variants == () and len(boxed.variants) == 1
    assert not compare(boxed.value, clean.value).matches()  # the reference hash keeps the bars
    assert compare(boxed.variants[0], clean.value).query_share == 1.0


def test_frame_budget_counts_decoded_frames():
    data = _video([3, 4, 5], fps=10)  # 30 frames decoded, 3 hashed
    assert len(decode(hash_video(io.BytesIO(data), max_decoded_frames=30).value)) == 3
    assert len(decode(hash_video(io.BytesIO(data), seconds_per_hash=0).value)) == 30  # vPDQ's 0: every frame
    with pytest.raises(MediaError, match="after 29 frames"):
        hash_video(io.BytesIO(data), max_decoded_frames=29)
    assert MAX_DECODED_FRAMES == 200_000


def test_time_budget(monkeypatch):
    from vigil.signals import video

    clock = iter(range(10_000))  # each reading of the clock one second later
    monkeypatch.setattr(video, "_now", lambda: float(next(clock)))
    data = _video([3, 4, 5], fps=10)
    with pytest.raises(MediaError, match=r"after 5 s, the time limit .* \(5 frames decoded\)"):
        hash_video(io.BytesIO(data), max_seconds=5)
    assert MAX_DECODE_SECONDS == 120
