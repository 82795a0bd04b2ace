"""Signed-note checkpoints: the exact C2SP format, the key kept outside the database, and forgeries refused."""

import base64
import hashlib
import os
import stat
import subprocess
import sys

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from vigil.ledger import checkpoint as cp
from vigil.ledger import merkle

from .conftest import local_signer, ORIGIN

ROOT = merkle.root([merkle.leaf_hash(b"x")])


def test_note_format_and_key_id(vigil_home):
    signer = local_signer()
    note = signer.sign(cp.body("test.vigil/ledger", 1, ROOT))
    lines = note.split("\n")
    assert lines[:4] == ["test.vigil/ledger", "1", base64.b64encode(ROOT).decode(), ""]
    assert lines[4].startswith("\u2014 test.vigil/ledger ") and lines[5] == "" and len(lines) == 6
    sig = base64.b64decode(lines[4].rsplit(" ", 1)[1])
    pub = signer.verifier.public_key
    assert sig[:4] == hashlib.sha256(b"test.vigil/ledger\n\x01" + pub).digest()[:4]
    # the signature covers exactly the checkpoint body, trailing newline included
    Ed25519PublicKey.from_public_bytes(pub).verify(sig[4:], "\n".join(lines[:3]).encode() + b"\n")
    opened = cp.open_note(note, [signer.verifier])
    assert (opened.origin, opened.size, opened.root) == ("test.vigil/ledger", 1, ROOT)


def test_key_is_created_once_outside_the_database_with_owner_only_mode(vigil_home):
    first = local_signer()
    path = cp.key_path(vigil_home)
    assert path.parent == vigil_home and path.exists()
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert str(local_signer().verifier) == str(first.verifier)


def test_concurrent_first_use_agrees_on_one_key(vigil_home):
    code = ("from vigil.ledger.checkpoint import load_signer; from vigil.settings import Settings; s = Settings(); "
            "print(load_signer(s.home, s.ledger_origin).verifier)")
    procs = [subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True) for _ in range(4)]
    keys = {p.communicate(timeout=60)[0].strip() for p in procs}
    assert len(keys) == 1 and keys == {str(local_signer().verifier)}


def test_verifier_keys_whose_base64_holds_a_plus_parse(tmp_path):
    """The key part is split off at the first two '+' only: standard base64 may itself contain '+'."""
    texts = [str(cp.load_signer(tmp_path / str(i), ORIGIN).verifier) for i in range(40)]
    with_plus = [t for t in texts if "+" in t.split("+", 2)[2]]
    assert with_plus
    for text in with_plus:
        assert str(cp.Verifier.parse(text)) == text


def test_verifier_key_round_trips_and_rejects_garbage(vigil_home):
    v = local_signer().verifier
    text = str(v)
    name, hex_id, b64 = text.split("+", 2)
    assert name == "test.vigil/ledger" and hex_id == v.key_id.hex() and base64.b64decode(b64)[0] == 1
    assert cp.Verifier.parse(text).public_key == v.public_key
    for bad in ("", "name+00+AA==", f"{name}+deadbeef+{b64}", "a+b", f"{name}+{hex_id}+!!!"):
        with pytest.raises(cp.CheckpointError):
            cp.Verifier.parse(bad)


def test_forged_or_altered_checkpoints_are_refused(vigil_home, tmp_path):
    signer = local_signer()
    note = signer.sign(cp.body(signer.name, 5, ROOT))
    other = cp.load_signer(tmp_path / "other-home", ORIGIN)  # another key under the same name
    forged = other.sign(cp.body(signer.name, 5, ROOT))
    with pytest.raises(cp.CheckpointError, match="no valid signature"):
        cp.open_note(forged, [signer.verifier])
    altered = note.replace("\n5\n", "\n6\n")
    with pytest.raises(cp.CheckpointError):
        cp.open_note(altered, [signer.verifier])
    sig_line = note.split("\n")[4]
    raw = bytearray(base64.b64decode(sig_line.rsplit(" ", 1)[1]))
    raw[10] ^= 1
    flipped = note.replace(sig_line, sig_line.rsplit(" ", 1)[0] + " " + base64.b64encode(bytes(raw)).decode())
    with pytest.raises(cp.CheckpointError):
        cp.open_note(flipped, [signer.verifier])
    with pytest.raises(cp.CheckpointError):
        cp.open_note(note, [])  # nobody trusted
    for garbage in ("", "x\n1\nAA==\n", "x\nnot-a-number\n" + base64.b64encode(ROOT).decode() + "\n\n",
                    "x\n1\n" + base64.b64encode(b"short").decode() + "\n\n\u2014 x AAAA\n", "\x00" * 100):
        with pytest.raises(cp.CheckpointError):
            cp.open_note(garbage, [signer.verifier])


def test_a_corrupt_key_file_is_a_clear_error(vigil_home):
    vigil_home.mkdir(parents=True, exist_ok=True)
    cp.key_path(vigil_home).write_bytes(b"not a key")
    with pytest.raises(cp.CheckpointError, match="not a readable private key"):
        local_signer()


def test_periodic_publishing_signs_only_when_the_ledger_grew_and_the_interval_passed(things_db, add_things, vigil_home):
    from vigil.store.db import Database, session_scope

    db = Database(things_db)

    def due(interval):
        return cp.publish_if_due(db, None, interval, home=vigil_home, name=ORIGIN)

    assert due(0) is None  # nothing to sign yet
    assert not cp.key_path(vigil_home).exists()  # and no key was made for nothing
    add_things(things_db, 3)
    first = due(0)
    assert first is not None and first.tree_size == 3
    assert due(0) is None  # no growth
    add_things(things_db, 2, start=3)
    assert due(3600) is None  # too soon
    assert due(0).tree_size == 5
    db.dispose()
    with session_scope(things_db) as s:
        again = cp.publish(s, local_signer())  # on demand, nothing new: the same checkpoint
        assert again.tree_size == 5


def test_the_service_publishes_checkpoints_in_the_background(things_db, add_things, make_app, vigil_home):
    import time

    from fastapi.testclient import TestClient

    add_things(things_db, 4)
    with TestClient(make_app(things_db, checkpoint_interval=0.2, home=vigil_home)) as client:
        deadline = time.monotonic() + 20
        while client.get("/v1/ledger/checkpoint").status_code != 200 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert client.get("/v1/ledger/checkpoint").json()["tree_size"] == 4


@pytest.mark.parametrize("text,expected", [("off", None), ("0", None), ("2.5", 2.5), ("-1", None)])
def test_interval_setting(monkeypatch, text, expected):
    from vigil.settings import Settings

    monkeypatch.setenv("VIGIL_CHECKPOINT_INTERVAL", text)
    assert Settings().checkpoint_interval == expected


def test_a_bad_interval_setting_is_a_clear_error(monkeypatch):
    from pydantic import ValidationError

    from vigil.settings import Settings

    monkeypatch.setenv("VIGIL_CHECKPOINT_INTERVAL", "soon")
    with pytest.raises(ValidationError, match="checkpoint_interval"):
        Settings()
