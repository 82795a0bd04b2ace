"""`vigil bank ...` end to end through the CLI runner, on the test database."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from vigil.cli import app

A = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"
runner = CliRunner()


def vigil(db_url: str, *args: str):
    return runner.invoke(app, [*args, "--db", db_url])


def test_bank_commands_end_to_end(db_url, tmp_path):
    assert vigil(db_url, "bank", "create", "gifct", "--threshold", "20").exit_code == 0
    assert vigil(db_url, "bank", "create", "fp", "--negative", "--no-dihedral").exit_code == 0
    listing = vigil(db_url, "bank", "list")
    assert "gifct" in listing.output and "20" in listing.output
    hashes = tmp_path / "list.csv"
    hashes.write_text(f"signal_type,signal_str,collab,category,tags\npdq,{A},GIFCT,POSITIVE_CLASS,\npdq,nothex,GIFCT,POSITIVE_CLASS,\n")
    result = vigil(db_url, "bank", "import", "gifct", str(hashes), "--format", "te_csv")
    assert result.exit_code == 0, result.output
    assert "added 1" in result.output and "rejected 1" in result.output and "line 3:" in result.output
    out = tmp_path / "out.json"
    assert vigil(db_url, "bank", "export", "gifct", "--format", "tat_json", "-o", str(out)).exit_code == 0
    assert json.loads(out.read_text())["results"][0]["hash_digest"] == A
    assert "entry 1 disabled" in vigil(db_url, "bank", "disable", "gifct", "1").output
    assert json.loads(vigil(db_url, "bank", "export", "gifct", "--format", "hma").output)["content"] == []
    assert vigil(db_url, "bank", "enable", "gifct", "1").exit_code == 0


def test_usage_errors_exit_2_with_a_hint(db_url, tmp_path):
    missing = vigil(db_url, "bank", "import", "nope", str(tmp_path / "absent.csv"), "--format", "te_csv")
    assert missing.exit_code == 2
    (tmp_path / "x.csv").write_text("pdq " + A)
    unknown = vigil(db_url, "bank", "import", "nope", str(tmp_path / "x.csv"), "--format", "te_csv")
    assert unknown.exit_code == 2 and "hint:" in unknown.output
    assert vigil(db_url, "bank", "import", "nope", str(tmp_path / "x.csv"), "--format", "xml").exit_code == 2
    vigil(db_url, "bank", "create", "b")
    assert vigil(db_url, "bank", "create", "b").exit_code == 2
    assert vigil(db_url, "bank", "disable", "b", "99").exit_code == 2
    assert vigil(db_url, "bank", "create", "bad;name").exit_code == 2


def test_bank_add_hashes_files_and_skips_broken_ones(db_url, tmp_path):
    from PIL import Image

    img = tmp_path / "a.png"
    Image.effect_mandelbrot((256, 256), (-2, -1.5, 1, 1.5), 100).convert("RGB").save(img)
    (tmp_path / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated")
    vigil(db_url, "bank", "create", "b")
    result = vigil(db_url, "bank", "add", "b", str(img), str(tmp_path / "broken.jpg"), "--entity", "E", "--behaviour", "propaganda")
    assert result.exit_code == 0, result.output
    assert "pdq entry" in result.output and "md5 entry" in result.output and "broken.jpg: skipped" in result.output
    from vigil.banks import service
    from vigil.store.db import session_scope

    with session_scope(db_url) as s:
        entries = service.list_entries(s, "b")
    assert {e.signal_type for e in entries} == {"pdq", "md5", "sha256"}
    assert all(e.labels == {"entity": "E", "behaviour": "propaganda"} for e in entries)
