"""`vigil hash` and `vigil scan` as a user runs them: real processes, a real database, the demo data."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "demo"
VIGIL = str(Path(sys.executable).with_name("vigil"))


def vigil(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([VIGIL, *args], capture_output=True, text=True, timeout=300)


def json_lines(out: str) -> dict[str, dict]:
    rows = [json.loads(line) for line in out.splitlines() if line.strip()]
    return {Path(r["path"]).name: r for r in rows}


@pytest.fixture
def demo_bank(db_url) -> str:
    from vigil.banks import service
    from vigil.store.db import session_scope

    with session_scope(db_url) as s:
        service.create_bank(s, "demo")
        data = (DEMO / "bank.csv").read_bytes()
        report = service.import_entries(s, "demo", "te_csv", data)
    assert report.added == len(data.splitlines()) - 1 and not report.rejected
    return db_url


def test_hash_prints_signals_and_errors(tmp_path):
    (tmp_path / "empty.png").write_bytes(b"")
    result = vigil("hash", "--json", str(DEMO / "images" / "poster-a.jpg"), str(DEMO / "scan" / "corrupt.jpg"), str(tmp_path / "empty.png"))
    assert result.returncode == 0, result.stderr
    rows = json_lines(result.stdout)
    poster = rows["poster-a.jpg"]
    assert [s["type"] for s in poster["signals"]][-3:] == ["pdq", "md5", "sha256"] and poster["error"] is None
    assert poster["signals"][0]["quality"] >= 50
    assert "truncated" in rows["corrupt.jpg"]["error"] and rows["corrupt.jpg"]["signals"] == []
    assert "empty" in rows["empty.png"]["error"]


def test_hash_human_output():
    result = vigil("hash", str(DEMO / "video" / "broadcast.mp4"))
    assert result.returncode == 0
    assert "vpdq" in result.stdout and "frames)" in result.stdout


def test_hash_missing_file_is_a_usage_error(tmp_path):
    result = vigil("hash", str(tmp_path / "nope.jpg"))
    assert result.returncode == 2
    assert "no such file or folder" in result.stderr and "hint:" in result.stderr


EXPECTED = {
    "poster-a-small.jpg": "pdq",
    "poster-b-mirrored.jpg": "pdq",
    "poster-c-letterboxed.jpg": "pdq",
    "poster-d-rotated.png": "pdq",
    "flyer-e-copy.jpg": "md5",
    "broadcast-clip.mp4": "vpdq",
}


@pytest.mark.parametrize("workers", ["1", "2"])
def test_scan_demo_folder(demo_bank, workers):
    result = vigil("scan", str(DEMO / "scan"), "--bank", "demo", "--json", "--workers", workers, "--db", demo_bank)
    assert result.returncode == 0, result.stderr
    rows = json_lines(result.stdout)
    assert len(rows) == 11
    for name, signal_type in EXPECTED.items():
        matches = rows[name]["matches"]
        assert signal_type in {m["signal_type"] for m in matches}, name
        for m in matches:
            assert m["bank"] == "demo" and m["labels"]["entity"] == "Fictional Front (demo)"
            assert set(m) == {"bank", "entry_id", "signal_type", "distance", "labels"}
    for name in ("holiday.jpg", "chart.jpg", "cat-meme.jpg", "flyer-f-not-in-bank.jpg"):
        assert rows[name]["matches"] == [] and rows[name]["error"] is None and rows[name]["signals"]
    assert "truncated" in rows["corrupt.jpg"]["error"]
    assert set(rows["poster-a-small.jpg"]) == {"path", "signals", "matches", "error"}


def test_scan_human_report(demo_bank):
    result = vigil("scan", str(DEMO / "scan"), "--bank", "demo", "--db", demo_bank)
    assert result.returncode == 0
    assert "11 files scanned, 6 matched, 1 could not be hashed" in result.stdout
    assert "corrupt.jpg" in result.stdout


def test_scan_goes_on_after_hostile_files(demo_bank, tmp_path):
    folder = tmp_path / "in"
    (folder / "deep" / "deeper").mkdir(parents=True)
    shutil.copyfile(DEMO / "images" / "poster-a.jpg", folder / "deep" / "deeper" / "\x1b[31mred;rm -rf.jpg")
    (folder / "zero.jpg").write_bytes(b"")
    (folder / "notes.txt").write_text("not media")
    (folder / "fake.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 100)
    result = vigil("scan", str(folder), "--json", "--db", demo_bank)
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(rows) == 4
    by_error = {Path(r["path"]).name: r["error"] for r in rows}
    assert "empty" in by_error["zero.jpg"] and "unsupported" in by_error["notes.txt"] and "corrupt" in by_error["fake.png"]
    hit = next(r for r in rows if r["path"].endswith("rm -rf.jpg"))
    assert hit["error"] is None and hit["matches"]


def test_scan_unknown_bank_is_a_usage_error(demo_bank):
    result = vigil("scan", str(DEMO / "scan"), "--bank", "nope", "--db", demo_bank)
    assert result.returncode == 2
    assert "no bank named 'nope'" in result.stderr and "vigil bank list" in result.stderr


def test_scan_missing_path_is_a_usage_error(demo_bank, tmp_path):
    result = vigil("scan", str(tmp_path / "gone"), "--bank", "demo", "--db", demo_bank)
    assert result.returncode == 2 and "no such file or folder" in result.stderr


def test_scan_sees_a_bank_change_without_rebuild(demo_bank, tmp_path):
    """An entry disabled in the database stops matching on the next scan."""
    from vigil.banks import service
    from vigil.store.db import session_scope

    target = DEMO / "scan" / "reuploads" / "flyer-e-copy.jpg"
    before = json_lines(vigil("scan", str(target), "--json", "--db", demo_bank).stdout)["flyer-e-copy.jpg"]["matches"]
    with session_scope(demo_bank) as s:
        for m in before:
            service.set_entry_enabled(s, m["entry_id"], False)
    after = json_lines(vigil("scan", str(target), "--json", "--db", demo_bank).stdout)["flyer-e-copy.jpg"]["matches"]
    assert before and after == []


def test_scan_with_an_unreachable_database_is_a_usage_error():
    result = vigil("scan", str(DEMO / "scan"), "--db", "postgresql://nobody@127.0.0.1:1/none")
    assert result.returncode == 2
    assert "cannot use the database" in result.stderr and "--db" in result.stderr
