"""vpdq: frame sampling, vPDQ-style matching, the value codec, bad input."""

from __future__ import annotations

import io

import pytest
from hypothesis import given
from hypothesis import strategies as st

from _images import video_bytes
from vigil.signals import InvalidSignal, MediaError, get, hash_bytes, hash_path
from vigil.signals.video import MATCH_SHARE, MAX_FRAMES, Frame, compare, decode, encode

VIDEO = get("vpdq")


@pytest.fixture(scope="module")
def full() -> str:
    return hash_bytes(video_bytes([3, 4, 5, 6, 7], seconds_per_seed=1.4))[0].value


def test_one_frame_per_second():
    value = hash_bytes(video_bytes([3, 4, 5], fps=10, seconds_per_seed=1.2))[0].value
    frames = decode(value)
    assert len(frames) == 4  # 3.6 s: frames at 0, 1, 2 and 3 s
    assert all(f.quality >= 50 for f in frames)


def test_signals_of_a_video_file(tmp_path):
    data = video_bytes([3, 4])
    path = tmp_path / "clip.bin"
    path.write_bytes(data)
    assert [s.type for s in hash_path(path)] == ["vpdq", "md5", "sha256"]
    assert hash_path(path) == hash_bytes(data)


def test_clip_matches_the_video_it_was_cut_from(full):
    clip = hash_bytes(video_bytes([4, 5, 6], seconds_per_seed=1.4))[0].value
    assert VIDEO.distance(clip, full) <= VIDEO.default_threshold
    assert compare(clip, full).matches()
    assert VIDEO.distance(full, clip) > VIDEO.default_threshold  # the full video is not in the clip


def test_reencoded_copy_matches(full):
    copy = hash_bytes(video_bytes([3, 4, 5, 6, 7], fps=25, seconds_per_seed=1.4, codec="libx264"))[0].value
    assert VIDEO.distance(copy, full) == 0


def test_unrelated_video_does_not_match(full):
    other = hash_bytes(video_bytes([60, 61, 62, 63]))[0].value
    assert VIDEO.distance(other, full) == 100


def test_match_share_is_configurable(full):
    half = hash_bytes(video_bytes([3, 4, 60, 61]))[0].value  # 4 frames, 2 of them from the full video
    result = compare(half, full)
    assert result.query_share == 0.5
    assert not result.matches() and result.matches(match_share=0.5)
    assert MATCH_SHARE == 0.8


def test_low_quality_frames_are_ignored():
    good = Frame("f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22", 90)
    blank = Frame("0" * 64, 0)
    assert compare(encode([good, blank]), encode([good])).query_share == 1.0
    assert VIDEO.distance(encode([blank]), encode([blank])) == 100  # a blank video matches nothing


frames = st.lists(st.builds(Frame, st.binary(min_size=32, max_size=32).map(bytes.hex), st.integers(0, 100)), min_size=1, max_size=50)


@given(frames)
def test_codec_round_trips(fs):
    value = encode(fs)
    assert decode(value) == fs
    assert VIDEO.validate(value) == value
    assert "," not in value


@given(frames)
def test_codec_normalises_case_and_spaces(fs):
    value = encode(fs)
    assert VIDEO.validate(" " + value.upper().replace(";", " ; ") + "\n") == value


@pytest.mark.parametrize("bad", ["f" * 64 + ":101", "f" * 64 + ":-1", "f" * 64 + ":1000", "f" * 64, "f" * 64 + ":50;;" + "f" * 64 + ":50"])
def test_codec_rejects(bad):
    with pytest.raises(InvalidSignal):
        VIDEO.validate(bad)


def test_too_many_frames_are_rejected():
    with pytest.raises(InvalidSignal, match="limit"):
        VIDEO.validate(";".join(["a" * 64 + ":90"] * (MAX_FRAMES + 1)))


@pytest.mark.parametrize("cut", [0.05, 0.5, 0.95])
def test_truncated_video(cut):
    data = video_bytes([3, 4, 5])
    with pytest.raises(MediaError, match="video"):
        hash_bytes(data[: int(len(data) * cut)])


def test_garbage_after_a_video_signature():
    with pytest.raises(MediaError, match="corrupt"):
        hash_bytes(b"\x00\x00\x00\x18ftypisom" + b"\x17" * 4000)


def test_audio_only_file_has_no_video_stream():
    import av

    buf = io.BytesIO()
    with av.open(buf, "w", format="mp4") as container:
        stream = container.add_stream("aac", rate=8000)
        frame = av.AudioFrame(format="fltp", layout="mono", samples=1024)
        frame.sample_rate = 8000
        for plane in frame.planes:
            plane.update(bytes(plane.buffer_size))
        for packet in stream.encode(frame):
            container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    with pytest.raises(MediaError, match="no video stream"):
        hash_bytes(buf.getvalue())


def test_frames_over_the_pixel_limit_are_refused(monkeypatch):
    from vigil.signals import video

    data = video_bytes([3])
    monkeypatch.setattr(video, "MAX_FRAME_PIXELS", 320 * 240 - 1)
    with pytest.raises(MediaError, match="decompression bomb"):
        hash_bytes(data)
