"""`vigil ledger verify|checkpoint|show|key`: exit codes, readable findings, usage errors."""

import json

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from vigil.banks import service as banks
from vigil.cli import app
from vigil.ledger import checkpoint as cp
from vigil.store.db import connect, session_scope

from .conftest import local_signer, ORIGIN

runner = CliRunner()


@pytest.fixture
def bank_db(db_url):
    with session_scope(db_url) as s:
        bank = banks.create_bank(s, "tvec")
        for i in range(5):
            banks.add_entry(s, bank, "md5", f"{i:032x}")
    return db_url


def vigil(*args):
    return runner.invoke(app, list(args))


def test_checkpoint_show_key_and_a_clean_verify(bank_db, tmp_path):
    saved = tmp_path / "cp.txt"
    r = vigil("ledger", "checkpoint", "--db", bank_db, "-o", str(saved))
    assert r.exit_code == 0, r.output
    assert r.output.split("\n")[1] == "6" and saved.read_text() == r.output
    assert vigil("ledger", "key").output.strip() == str(local_signer().verifier)
    shown = vigil("ledger", "show", "--db", bank_db, "--leaves", "2")
    assert "ledger size: 6" in shown.output and "latest checkpoint: size 6" in shown.output
    assert "bank_changes #6" in shown.output
    r = vigil("ledger", "verify", "--db", bank_db, "--checkpoint", str(saved))
    assert r.exit_code == 0, r.output
    assert "ledger verified" in r.output and "6 leaves" in r.output


def test_verify_names_tampering_and_exits_1(bank_db):
    vigil("ledger", "checkpoint", "--db", bank_db)
    with connect(bank_db) as conn:
        conn.execute(sa.text("UPDATE bank_changes SET value = 'ffffffffffffffffffffffffffffffff' WHERE id = 3"))
        conn.execute(sa.text("DELETE FROM ledger_leaves WHERE idx = 4"))
    r = vigil("ledger", "verify", "--db", bank_db, "--json")
    assert r.exit_code == 1
    report = json.loads(r.stdout)
    assert report["ok"] is False
    found = {(f["kind"], f["leaf"], f["table"], f["row_id"]) for f in report["findings"]}
    assert ("row_changed", 2, "bank_changes", "3") in found
    assert ("leaf_missing", 4, None, None) in found
    assert ("row_unledgered", None, "bank_changes", "5") in found
    text = vigil("ledger", "verify", "--db", bank_db)
    assert text.exit_code == 1 and "bank_changes #3" in text.output and "findings" in text.output


def test_verify_with_an_untrusted_key_flags_every_checkpoint(bank_db, tmp_path):
    vigil("ledger", "checkpoint", "--db", bank_db)
    stranger = cp.load_signer(tmp_path / "stranger", ORIGIN).verifier
    r = vigil("ledger", "verify", "--db", bank_db, "--key", str(stranger), "--json")
    assert r.exit_code == 1
    assert [f["kind"] for f in json.loads(r.stdout)["findings"]] == ["checkpoint_signature"]


@pytest.mark.parametrize("args,message", [
    (["--key", "not-a-key"], "not a verifier key"),
    (["--checkpoint", "/nonexistent/cp.txt"], "cannot read checkpoint"),
])
def test_usage_errors_exit_2(bank_db, args, message):
    r = vigil("ledger", "verify", "--db", bank_db, *args)
    assert r.exit_code == 2 and message in r.output


def test_an_unreachable_database_is_a_usage_error():
    r = vigil("ledger", "show", "--db", "postgresql://nobody@127.0.0.1:1/none")
    assert r.exit_code == 2 and "cannot open the database" in r.output
