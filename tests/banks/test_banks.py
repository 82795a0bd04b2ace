"""Banks, imports and exports in all three formats, and the Matcher, on a real database (SQLite or PostgreSQL)."""

from __future__ import annotations

import json
import time

import pytest
import sqlalchemy as sa

from vigil.banks import service
from vigil.match import Matcher as _Matcher
from vigil.signals import InvalidSignal, Signal
from vigil.store.banks import BankChange
from vigil.store.db import Database, session_scope


def Matcher(db_url: str) -> _Matcher:  # noqa: N802 (stands for the class, as a worker process builds it)
    """A matcher on its own engine, saving snapshots under $VIGIL_HOME/index when the test sets a home."""
    import os
    from pathlib import Path

    home = os.environ.get("VIGIL_HOME")
    return _Matcher(Database(db_url), Path(home) / "index" if home else None)

A = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"
B = "e64cc9d91c623882f8d1f1d9a398e78c9f199b3bd83924f2b7e11e0bf861b064"
MD5 = "d41d8cd98f00b204e9800998ecf8427e"
SHA = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


def flip(h: str, bits: int) -> str:
    """`h` with its lowest `bits` bits inverted: exactly `bits` away."""
    return f"{int(h, 16) ^ ((1 << bits) - 1):064x}"


def pdq(value: str, quality: int | None = 100, variants: tuple[str, ...] = ()) -> Signal:
    return Signal("pdq", value, quality, variants)


def test_create_bank_defaults_and_errors(db_url):
    with session_scope(db_url) as s:
        bank = service.create_bank(s, "gifct")
        assert (bank.threshold, bank.negative, bank.dihedral) == (31, False, True)
        with pytest.raises(service.BankError, match="already exists"):
            service.create_bank(s, "gifct")
        for bad in ("", " lead", "x" * 201, "semi;colon"):
            with pytest.raises(service.BankError):
                service.create_bank(s, bad)
        with pytest.raises(service.BankError, match="threshold"):
            service.create_bank(s, "t", threshold=-1)
        with pytest.raises(service.BankError, match="cannot change"):
            service.update_bank(s, "gifct", title="other")
        with pytest.raises(service.UnknownBank):
            service.get_bank(s, "missing")


def test_every_change_is_logged_and_ledgered(db_url):
    from vigil.store.ledger import LedgerLeaf

    with session_scope(db_url) as s:
        service.create_bank(s, "b")
        e = service.add_entry(s, "b", "pdq", A.upper(), labels={"Behavior": "propaganda", "entity": "X"})
        assert e.value == A and e.labels == {"behaviour": "propaganda", "entity": "X"}
        service.set_entry_enabled(s, e.id, False)
        service.set_entry_enabled(s, e.id, False)
        service.update_bank(s, "b", threshold=20)
    with session_scope(db_url) as s:
        kinds = s.scalars(sa.select(BankChange.kind).order_by(BankChange.id)).all()
        assert kinds == ["create", "add", "disable", "update"]
        leaves = s.scalars(sa.select(LedgerLeaf).where(LedgerLeaf.kind == "bank_change")).all()
        assert len(leaves) == 4
        assert all("labels" not in leaf.data and "note" not in leaf.data for leaf in leaves)


def test_add_rejects_malformed_hashes(db_url):
    with session_scope(db_url) as s:
        service.create_bank(s, "b")
        for bad in (A[:-1], "g" * 64, "", A + "00"):
            with pytest.raises(InvalidSignal):
                service.add_entry(s, "b", "pdq", bad)
        with pytest.raises(service.BankError, match="unknown signal type"):
            service.add_entry(s, "b", "tmk", A)


TE_CSV = f"""signal_type,signal_str,collab,category,tags
pdq,{A},GIFCT,POSITIVE_CLASS,entity:Islamic%20State behaviour:propaganda extra
pdq,{A[:60]},GIFCT,POSITIVE_CLASS,
video_md5,{MD5},GIFCT,POSITIVE_CLASS,content_type:video
url,http://example.org,GIFCT,POSITIVE_CLASS,
pdq,{"x" * 64},GIFCT,POSITIVE_CLASS,
pdq,{B},GIFCT,SOMETHING,
pdq,{B}
""".encode()


def test_te_csv_import_reports_rejections_with_lines_and_round_trips(db_url):
    with session_scope(db_url) as s:
        service.create_bank(s, "b")
        report = service.import_entries(s, "b", "te_csv", TE_CSV)
        assert (report.added, report.updated) == (2, 0)
        assert [line for line, _ in report.rejected] == [3, 5, 6, 7, 8]
        assert "64 hex" in report.rejected[0][1] and "url" in report.rejected[1][1] and "hexadecimal" in report.rejected[2][1]
        out = service.export_entries(s, "b", "te_csv")
        service.create_bank(s, "c")
        again = service.import_entries(s, "c", "te_csv", out)
        assert (again.added, again.rejected) == (2, [])
        first = {(e.signal_type, e.value): (e.labels, e.source) for e in service.list_entries(s, "b")}
        second = {(e.signal_type, e.value): (e.labels, e.source) for e in service.list_entries(s, "c")}
        assert first == second
        assert first[("pdq", A)] == ({"entity": "Islamic State", "behaviour": "propaganda", "tags": ["extra"]}, "GIFCT")
        assert service.import_entries(s, "b", "te_csv", out).unchanged == 2


def test_large_import_in_one_transaction_adds_then_leaves_everything_unchanged(db_url):
    """Past a few batches the import refreshes the planner's statistics inside its transaction (PostgreSQL);
    every entry still lands once, and importing the same file again changes nothing."""
    import random

    rng = random.Random(4)
    rows = [f"pdq,{rng.randbytes(32).hex()},collab,POSITIVE_CLASS,entity:x" for _ in range(2600)]
    data = ("signal_type,signal_str,collab,category,tags\n" + "\n".join(rows) + "\n").encode()
    with session_scope(db_url) as s:
        service.create_bank(s, "big")
        assert service.import_entries(s, "big", "te_csv", data).added == 2600
    with session_scope(db_url) as s:
        report = service.import_entries(s, "big", "te_csv", data)
        assert (report.added, report.unchanged) == (0, 2600)
        assert s.scalar(sa.select(sa.func.count()).select_from(BankChange).where(BankChange.kind == "add")) == 2600


def test_te_csv_reads_file_exchange_lines(db_url):
    with session_scope(db_url) as s:
        service.create_bank(s, "b")
        report = service.import_entries(s, "b", "te_csv", f"pdq {A}\n\nvideo_md5 {MD5}\nlonely\n".encode())
        assert report.added == 2 and report.rejected == [(4, report.rejected[0][1])]


def test_tat_json_import_deletes_and_round_trips(db_url):
    page = {
        "count": 4, "next": None, "previous": None, "checkpoint": "1704085200,124",
        "results": [
            {"id": 1, "hash_digest": A, "algorithm": "PDQ", "ideology": "far-right", "file_type": "jpg", "deleted": False, "updated_on": 1.0, "created_on": "2024-01-01T00:00:00Z"},
            {"id": 2, "hash_digest": MD5, "algorithm": "MD5", "ideology": "islamist", "file_type": "mp4", "deleted": False},
            {"id": 3, "hash_digest": SHA, "algorithm": "SHA256", "ideology": "islamist", "file_type": "pdf", "deleted": False},
            {"id": 4, "hash_digest": "abc", "algorithm": "PDQ", "ideology": "islamist", "file_type": "jpg", "deleted": False},
            {"id": 5, "hash_digest": A, "algorithm": "TMK", "deleted": False},
        ],
    }
    data = json.dumps(page, indent=1).encode()
    with session_scope(db_url) as s:
        service.create_bank(s, "tat")
        report = service.import_entries(s, "tat", "tat_json", data)
        assert report.added == 3
        lines = data.decode().splitlines()
        assert [line for line, _ in report.rejected] == [i + 1 for i, text in enumerate(lines) if text.strip() == "{"][4:]
        entry = next(e for e in service.list_entries(s, "tat") if e.value == A)
        assert entry.labels == {"ideology": "far-right"} and entry.meta["file_type"] == "jpg" and entry.source == "tat"
        exported = json.loads(service.export_entries(s, "tat", "tat_json"))
        assert {r["hash_digest"] for r in exported["results"]} == {A, MD5, SHA}
        tombstone = [{"hash_digest": A, "algorithm": "PDQ", "deleted": True}, {"hash_digest": B, "algorithm": "PDQ", "deleted": True}]
        gone = service.import_entries(s, "tat", "tat_json", json.dumps(tombstone).encode())
        assert (gone.deleted, gone.unchanged) == (1, 1)
        assert {e.value for e in service.list_entries(s, "tat")} == {MD5, SHA}
        service.create_bank(s, "copy")
        assert service.import_entries(s, "copy", "tat_json", service.export_entries(s, "tat", "tat_json")).added == 2


def test_hma_round_trip_keeps_labels_note_and_metadata(db_url):
    with session_scope(db_url) as s:
        service.create_bank(s, "b")
        service.add_entry(s, "b", "pdq", A, labels={"entity": "E", "content_type": "image"}, source="local", note="from a review", metadata={"case": "c-1"})
        service.add_entry(s, "b", "sha256", SHA)
        data = service.export_entries(s, "b", "hma")
        service.create_bank(s, "c")
        report = service.import_entries(s, "c", "hma", data)
        assert (report.added, report.rejected) == (2, [])
        [e] = [e for e in service.list_entries(s, "c") if e.signal_type == "pdq"]
        assert (e.labels, e.source, e.note, e.meta) == ({"entity": "E", "content_type": "image"}, "local", "from a review", {"case": "c-1"})
        hma_items = (
            '[{"id": 7, "signals": {"pdq": "' + B + '", "video_md5": "' + MD5 + '"}, "metadata": {"content_id": "x1"}},\n'
            ' {"id": 8, "signals": {}},\n {"id": 9, "signals": {"tmk": "00"}}]'
        )
        report = service.import_entries(s, "c", "hma", hma_items.encode())
        assert report.added == 2 and [line for line, _ in report.rejected] == [2, 3]


@pytest.mark.parametrize("fmt", ["te_csv", "tat_json", "hma"])
@pytest.mark.parametrize("junk", [b"", b"\xff\xfe\x00garbage", b"[{\"a\": 1}, {broken", b"\x00" * 100, b"not,a,header\n1,2,3"])
def test_junk_input_never_crashes(db_url, fmt, junk):
    with session_scope(db_url) as s:
        service.create_bank(s, "b")
        report = service.import_entries(s, "b", fmt, junk)
        assert report.added == 0 and all(line >= 1 for line, _ in report.rejected)
        if junk.strip(b"\x00 \n"):
            assert report.rejected


def test_matcher_labels_metadata_threshold_and_quality(db_url):
    with session_scope(db_url) as s:
        service.create_bank(s, "strict", threshold=5)
        service.create_bank(s, "loose")
        service.add_entry(s, "strict", "pdq", A, labels={"entity": "S"}, metadata={"k": 1})
        service.add_entry(s, "loose", "pdq", A, labels={"entity": "L"})
        service.add_entry(s, "loose", "md5", MD5)
    m = Matcher(db_url)
    near = {m.bank: m.distance for m in m.match([pdq(flip(A, 4))])}
    assert near == {"strict": 4, "loose": 4}
    far = m.match([pdq(flip(A, 20))])
    assert [(x.bank, x.distance, x.labels) for x in far] == [("loose", 20, {"entity": "L"})]
    assert m.match([pdq(flip(A, 32))]) == []
    assert m.match([pdq(A, quality=49)]) == []
    assert m.match([pdq(A)], banks=["strict"])[0].metadata == {"k": 1}
    assert m.match([Signal("md5", MD5.upper())])[0].to_dict()["signal_type"] == "md5"
    with pytest.raises(InvalidSignal):
        m.match([pdq("zz")])
    with pytest.raises(service.UnknownBank):
        m.match([pdq(A)], banks=["nope"])
    assert m.stats()["loose/pdq"] == 1


def test_dihedral_variants_follow_the_bank_setting(db_url):
    with session_scope(db_url) as s:
        service.create_bank(s, "on")
        service.create_bank(s, "off", dihedral=False)
        service.add_entry(s, "on", "pdq", A)
        service.add_entry(s, "off", "pdq", A)
    rotated = pdq(B, variants=(flip(B, 100), flip(A, 3)))
    assert [(x.bank, x.distance) for x in Matcher(db_url).match([rotated])] == [("on", 3)]


def test_negative_bank_suppresses_overlapping_matches(db_url):
    with session_scope(db_url) as s:
        service.create_bank(s, "pos")
        service.create_bank(s, "fp", negative=True, threshold=10)
        service.add_entry(s, "pos", "pdq", A)
        service.add_entry(s, "pos", "pdq", B)
        service.add_entry(s, "fp", "pdq", flip(A, 8))
    m = Matcher(db_url)
    assert [x.value for x in m.match([pdq(A), pdq(B)])] == [B]
    assert m.match([pdq(flip(A, 25))])[0].value == A
    assert m.match([pdq(A)], banks=["fp"]) == []


def test_enable_disable_and_adds_apply_on_next_query_across_matchers(db_url):
    """Two Matchers on one database stand for two worker processes."""
    with session_scope(db_url) as s:
        service.create_bank(s, "b")
        entry_id = service.add_entry(s, "b", "pdq", A).id
    first, second = Matcher(db_url), Matcher(db_url)
    assert first.match([pdq(A)]) and second.match([pdq(A)])

    def visible_within_a_second(check) -> bool:
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline:
            if check():
                return True
            time.sleep(0.05)
        return False

    with session_scope(db_url) as s:
        service.set_entry_enabled(s, entry_id, False)
    assert visible_within_a_second(lambda: not first.match([pdq(A)]) and not second.match([pdq(A)]))
    with session_scope(db_url) as s:
        service.set_entry_enabled(s, entry_id, True)
        service.add_entry(s, "b", "pdq", B, labels={"entity": "new"})
        service.create_bank(s, "later")
        service.add_entry(s, "later", "sha256", SHA)
    assert visible_within_a_second(
        lambda: {x.value for x in first.match([pdq(A), pdq(B)])} == {A, B} and second.match([Signal("sha256", SHA)])
    )
    with session_scope(db_url) as s:
        service.add_entry(s, "b", "pdq", B, labels={"behaviour": "edited"})
    assert visible_within_a_second(lambda: second.match([pdq(B)])[0].labels == {"entity": "new", "behaviour": "edited"})


def test_matcher_builds_from_many_entries_and_matches_like_brute_force(db_url):
    import numpy as np

    rng = np.random.default_rng(5)
    values = [rng.bytes(32).hex() for _ in range(300)]
    with session_scope(db_url) as s:
        service.create_bank(s, "big", threshold=40)
        body = "signal_type,signal_str,collab,category,tags\n" + "".join(f"pdq,{v},x,POSITIVE_CLASS,\n" for v in values)
        assert service.import_entries(s, "big", "te_csv", body.encode()).added == 300
    m = Matcher(db_url)
    for v in values[:20]:
        q = flip(v, 10)
        expected = {w for w in values if (int(w, 16) ^ int(q, 16)).bit_count() <= 40}
        assert {x.value for x in m.match([pdq(q)])} == expected


def test_saved_snapshot_is_loaded_and_brought_up_to_date(db_url, tmp_path, monkeypatch):
    import vigil.match as match_module

    monkeypatch.setenv("VIGIL_HOME", str(tmp_path / "home"))
    monkeypatch.setattr(match_module, "SNAPSHOT_MIN", 1)
    with session_scope(db_url) as s:
        service.create_bank(s, "b")
        first_id = service.add_entry(s, "b", "pdq", A).id
    assert Matcher(db_url).match([pdq(A)])
    assert list((tmp_path / "home" / "index").rglob("*.npy"))
    assert not any(f.suffix == ".pkl" for f in (tmp_path / "home").rglob("*"))
    with session_scope(db_url) as s:
        service.set_entry_enabled(s, first_id, False)
        service.add_entry(s, "b", "pdq", B)

    def no_rebuild(*args):
        raise AssertionError("the snapshot should have been used")

    monkeypatch.setattr(_Matcher, "_build", no_rebuild)
    m = Matcher(db_url)
    assert [x.value for x in m.match([pdq(A), pdq(B)])] == [B]
    cursor_file = next((tmp_path / "home" / "index").rglob("cursor.json"))
    with session_scope(db_url) as s:
        newest = s.scalar(sa.select(sa.func.max(BankChange.id)))
    assert json.loads(cursor_file.read_text())["change_id"] == newest, "a long replay is folded into a fresh snapshot"
    assert [x.value for x in Matcher(db_url).match([pdq(A), pdq(B)])] == [B]


def test_snapshot_that_disagrees_with_the_database_is_rebuilt(db_url, tmp_path, monkeypatch):
    import vigil.match as match_module
    from vigil.store.banks import BankEntry

    monkeypatch.setenv("VIGIL_HOME", str(tmp_path / "home"))
    monkeypatch.setattr(match_module, "SNAPSHOT_MIN", 1)
    with session_scope(db_url) as s:
        service.create_bank(s, "b")
        service.add_entry(s, "b", "pdq", A)
    Matcher(db_url).match([pdq(A)])
    with session_scope(db_url) as s:
        s.execute(sa.update(BankEntry).values(enabled=False))
    assert Matcher(db_url).match([pdq(A)]) == []


@pytest.mark.parametrize("fmt", ["te_csv", "tat_json", "hma"])
def test_hostile_input_is_rejected_line_by_line(db_url, fmt):
    huge = "a" * (10 * 1024 * 1024)
    good = {
        "te_csv": f"pdq {A}",
        "tat_json": json.dumps({"hash_digest": A, "algorithm": "PDQ", "deleted": False}),
        "hma": json.dumps({"signals": {"pdq": A}}),
    }[fmt]
    bad_lines = {
        "te_csv": [f"pdq {huge}", "pdq\x00" + A, f"{huge} {A}"],
        "tat_json": [json.dumps({"hash_digest": huge, "algorithm": "PDQ"}), "[" * 100_000, '{"hash_digest": 5, "algorithm": "PDQ"}'],
        "hma": [json.dumps({"signals": {"pdq": huge}}), "[" * 100_000, json.dumps({"signals": {"pdq": A}, "metadata": {"json": {"labels": {"entity": huge}}}})],
    }[fmt]
    body = "\n".join([bad_lines[0], good.replace(A, B), *bad_lines[1:], good]).encode()
    with session_scope(db_url) as s:
        service.create_bank(s, "b")
        report = service.import_entries(s, "b", fmt, body)
        assert report.added == 2
        assert [line for line, _ in report.rejected] == [1, 3, 4]
        assert all(len(reason) < 300 for _, reason in report.rejected)


def test_video_bank_matches_by_share_of_frames(db_url):
    from vigil.signals.video import Frame, encode

    frames = [f"{(i * 0x9E3779B97F4A7C15 * 0x100000001) % (1 << 256):064x}" for i in range(1, 11)]
    bank_video = encode([Frame(h, 90) for h in frames])
    with session_scope(db_url) as s:
        service.create_bank(s, "videos")
        service.add_entry(s, "videos", "vpdq", bank_video, labels={"content_type": "video"})
    m = Matcher(db_url)
    clip = encode([Frame(flip(h, 5), 80) for h in frames[2:7]])
    [hit] = m.match([Signal("vpdq", clip)])
    assert (hit.bank, hit.distance, hit.labels) == ("videos", 0, {"content_type": "video"})
    mostly_other = encode([Frame(flip(h, 5), 80) for h in frames[:3]] + [Frame(flip(h, 128), 80) for h in frames[3:5]])
    assert m.match([Signal("vpdq", mostly_other)]) == []
    low_quality = encode([Frame(h, 10) for h in frames])
    assert m.match([Signal("vpdq", low_quality)]) == []


def test_a_writer_committing_late_is_not_skipped(db_url):
    """Change ids must become visible in order, or a matcher that read past a late writer's id would skip it."""
    import threading

    with session_scope(db_url) as s:
        service.create_bank(s, "b")
    m = Matcher(db_url)
    assert m.match([pdq(A)]) == []
    holding = threading.Event()

    def slow_writer():
        with session_scope(db_url) as s:
            service.add_entry(s, "b", "pdq", A)
            holding.set()
            time.sleep(1.0)

    def fast_writer():
        with session_scope(db_url) as s:
            service.add_entry(s, "b", "pdq", B)

    slow = threading.Thread(target=slow_writer)
    slow.start()
    holding.wait(10)
    fast = threading.Thread(target=fast_writer)
    fast.start()
    time.sleep(0.4)
    m.refresh()
    slow.join()
    fast.join()
    m.refresh()
    assert {x.value for x in m.match([pdq(A), pdq(B)])} == {A, B}
