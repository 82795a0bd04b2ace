"""The ledger over HTTP: public checkpoint and proofs, leaves for auditors, and the standalone auditor script
run against a real uvicorn server on loopback."""

import ast
import base64
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
import uvicorn

from vigil import keys
from vigil.ledger import checkpoint as cp
from vigil.ledger import log, merkle
from vigil.roles import Role
from vigil.store.db import connect, session_scope

from .conftest import local_signer, ORIGIN

SCRIPT = Path(__file__).resolve().parents[2] / "tools" / "verify_ledger.py"


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


@pytest.fixture
def ledger_db(things_db, add_things):
    add_things(things_db, 9)
    return things_db


@pytest.fixture
def auditor_key(ledger_db):
    with session_scope(ledger_db) as s:
        return {"auditor": keys.create_key(s, "audit", Role.AUDITOR).key,
                "reviewer": keys.create_key(s, "rev", Role.REVIEWER).key}


@pytest.fixture
def client(ledger_db, make_app):
    from fastapi.testclient import TestClient

    with TestClient(make_app(ledger_db), raise_server_exceptions=False) as c:
        yield c


def bearer(key):
    return {"Authorization": f"Bearer {key}"}


def test_checkpoint_is_public_and_publishing_needs_an_auditor(client, auditor_key):
    assert client.get("/v1/ledger/checkpoint").status_code == 404
    assert client.post("/v1/ledger/checkpoint").status_code == 401
    assert client.post("/v1/ledger/checkpoint", headers=bearer(auditor_key["reviewer"])).status_code == 403
    published = client.post("/v1/ledger/checkpoint", headers=bearer(auditor_key["auditor"]))
    assert published.status_code == 200 and published.json()["tree_size"] == 9
    body = client.get("/v1/ledger/checkpoint").json()
    verifier = cp.Verifier.parse(client.get("/v1/ledger/key").json()["verifier_key"])
    opened = cp.open_note(body["note"], [verifier])
    assert (opened.size, b64(opened.root)) == (body["tree_size"], body["root_hash"]) == (9, body["root_hash"])


def test_inclusion_and_consistency_proofs_verify(client, ledger_db, auditor_key):
    client.post("/v1/ledger/checkpoint", headers=bearer(auditor_key["auditor"]))
    with session_scope(ledger_db) as s:
        hashes = [leaf.leaf_hash for leaf in log.leaves(s, 0, 9)]
    root9 = merkle.root(hashes)
    for i in range(9):
        p = client.get("/v1/ledger/proof/inclusion", params={"index": i}).json()
        assert p["tree_size"] == 9 and p["root_hash"] == b64(root9)
        assert merkle.verify_inclusion(i, 9, hashes[i], [base64.b64decode(h) for h in p["proof"]], root9)
    by_hex = client.get("/v1/ledger/proof/inclusion", params={"leaf_hash": hashes[4].hex(), "size": 6}).json()
    by_b64 = client.get("/v1/ledger/proof/inclusion", params={"leaf_hash": b64(hashes[4]), "size": 6}).json()
    assert by_hex == by_b64 and by_hex["leaf_index"] == 4
    assert merkle.verify_inclusion(4, 6, hashes[4], [base64.b64decode(h) for h in by_hex["proof"]], merkle.root(hashes[:6]))
    for first in range(10):
        c = client.get("/v1/ledger/proof/consistency", params={"first": first}).json()
        assert merkle.verify_consistency(first, 9, base64.b64decode(c["first_root"]), root9,
                                         [base64.b64decode(h) for h in c["proof"]]) is (first > 0)  # none from 0
        assert c["first_root"] == b64(merkle.root(hashes[:first]))


@pytest.mark.parametrize("path,params,status", [
    ("/v1/ledger/proof/inclusion", {"index": 9, "size": 9}, 422),
    ("/v1/ledger/proof/inclusion", {"index": 0, "size": 10}, 422),
    ("/v1/ledger/proof/inclusion", {}, 422),
    ("/v1/ledger/proof/inclusion", {"index": 1, "leaf_hash": "00" * 32, "size": 2}, 422),
    ("/v1/ledger/proof/inclusion", {"leaf_hash": "zz", "size": 2}, 422),
    ("/v1/ledger/proof/inclusion", {"leaf_hash": "00" * 32, "size": 2}, 404),
    ("/v1/ledger/proof/inclusion", {"index": -1, "size": 2}, 422),
    ("/v1/ledger/proof/inclusion", {"index": "x", "size": 2}, 422),
    ("/v1/ledger/proof/inclusion", {"index": 10**30, "size": 2}, 422),
    ("/v1/ledger/proof/inclusion", {"leaf_hash": "x" * 10_000, "size": 2}, 422),
    ("/v1/ledger/proof/consistency", {"first": 1, "second": 2**63}, 422),
    ("/v1/ledger/proof/consistency", {"first": 5, "second": 4}, 422),
    ("/v1/ledger/proof/consistency", {"first": 1, "second": 99}, 422),
    ("/v1/ledger/proof/consistency", {"first": 1}, 404),  # no checkpoint yet to default to
])
def test_bad_proof_requests_get_clear_errors(client, path, params, status):
    r = client.get(path, params=params)
    assert r.status_code == status, r.text
    assert r.json()["error"]["message"]


def test_leaves_need_an_auditor_and_are_paged(client, auditor_key, ledger_db):
    assert client.get("/v1/ledger/leaves").status_code == 401
    assert client.get("/v1/ledger/leaves", headers=bearer(auditor_key["reviewer"])).status_code == 403
    r = client.get("/v1/ledger/leaves", params={"start": 2, "end": 5}, headers=bearer(auditor_key["auditor"]))
    page = r.json()
    assert [leaf["index"] for leaf in page] == [2, 3, 4]
    for leaf in page:
        assert base64.b64decode(leaf["leaf_hash"]) == merkle.leaf_hash(leaf["data"].encode())
    big = client.get("/v1/ledger/leaves", params={"start": 0, "end": 10**9}, headers=bearer(auditor_key["auditor"]))
    assert len(big.json()) == 9
    assert client.get("/v1/ledger/leaves", params={"start": 5, "end": 2}, headers=bearer(auditor_key["auditor"])).status_code == 422
    assert client.get("/v1/ledger/leaves", params={"start": 2**62}, headers=bearer(auditor_key["auditor"])).json() == []
    assert client.get("/v1/ledger/leaves", params={"start": 2**64}, headers=bearer(auditor_key["auditor"])).status_code == 422


# --- the standalone auditor script against a real server -------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(ledger_db, make_app):
    port = free_port()
    srv = uvicorn.Server(uvicorn.Config(make_app(ledger_db), host="127.0.0.1",
                                        port=port, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/v1/ledger/key", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.1)
    yield url
    srv.should_exit = True
    thread.join(timeout=10)


def audit(url, *args):
    proc = subprocess.run([sys.executable, "-I", str(SCRIPT), "--url", url, *args], capture_output=True, text=True, timeout=120)
    return proc.returncode, proc.stdout + proc.stderr


def publish(db_url):
    with session_scope(db_url) as s:
        cp.publish(s, local_signer())


def test_auditor_script_uses_only_the_standard_library_and_cryptography():
    tree = ast.parse(SCRIPT.read_text())
    roots = {(n.module or "").split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    roots |= {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    assert roots - {"cryptography", "__future__"} <= set(sys.stdlib_module_names)


def test_auditor_follows_the_ledger_and_catches_a_rewrite(server, ledger_db, add_things, auditor_key, tmp_path):
    state = tmp_path / "saved-checkpoint.txt"
    key = str(local_signer().verifier)
    publish(ledger_db)
    code, out = audit(server, "--key", key, "--state", str(state), "--leaves", "--api-key", auditor_key["auditor"])
    assert code == 0, out
    assert "size 9" in out and "all 9 leaves rehashed" in out and state.read_text().split("\n")[1] == "9"

    add_things(ledger_db, 4, start=9)
    publish(ledger_db)
    code, out = audit(server, "--key", key, "--state", str(state))
    assert code == 0, out
    assert "consistent with the saved checkpoint of size 9" in out and state.read_text().split("\n")[1] == "13"

    # The operator rewrites leaf 3 and re-signs: internally consistent, but not with what the auditor saved.
    with session_scope(ledger_db) as s:
        forged = [(leaf.kind, leaf.ref_table, leaf.ref_id, {"rewritten": leaf.idx == 3, "data": leaf.data})
                  for leaf in log.leaves(s, 0, 13)]
    with connect(ledger_db) as conn:
        for table in ("ledger_leaves", "ledger_nodes", "ledger_head", "ledger_checkpoints"):
            conn.execute(sa.text(f"DELETE FROM {table}"))
    with session_scope(ledger_db) as s:
        log.append_many(s, forged)
    add_things(ledger_db, 1, start=20)
    publish(ledger_db)
    code, out = audit(server, "--key", key, "--state", str(state))
    assert code == 1 and "not consistent with the saved one (size 13)" in out, out
    assert state.read_text().split("\n")[1] == "13"  # a failed audit keeps the old checkpoint


def test_auditor_catches_a_changed_leaf_and_a_foreign_key(server, ledger_db, auditor_key, tmp_path):
    publish(ledger_db)
    with connect(ledger_db) as conn:
        conn.execute(sa.text("UPDATE ledger_leaves SET data = REPLACE(data, 'c-2', 'c-X') WHERE idx = 2"))
    code, out = audit(server, "--key", str(local_signer().verifier), "--leaves", "--api-key", auditor_key["auditor"])
    assert code == 1 and "leaf 2" in out, out
    stranger = str(cp.load_signer(tmp_path / "stranger", ORIGIN).verifier)
    code, out = audit(server, "--key", stranger)
    assert code == 1 and "no signature by the trusted key" in out, out


def test_auditor_reports_usage_and_network_errors(tmp_path):
    code, out = audit(f"http://127.0.0.1:{free_port()}", "--key", "x+00+AA==")
    assert code == 2 and "error:" in out
    code, out = audit(f"http://127.0.0.1:{free_port()}")
    assert code == 2 and "cannot reach" in out


def test_auditor_notices_a_shrunken_ledger_and_accepts_an_unchanged_one(server, ledger_db, tmp_path):
    state = tmp_path / "saved.txt"
    key = str(local_signer().verifier)
    publish(ledger_db)
    assert audit(server, "--key", key, "--state", str(state))[0] == 0
    code, out = audit(server, "--key", key, "--state", str(state))  # nothing new: still consistent
    assert code == 0 and "consistent with the saved checkpoint of size 9" in out
    with session_scope(ledger_db) as s:
        kept = [(leaf.kind, leaf.ref_table, leaf.ref_id, {"data": leaf.data}) for leaf in log.leaves(s, 0, 5)]
    with connect(ledger_db) as conn:
        for table in ("ledger_leaves", "ledger_nodes", "ledger_head", "ledger_checkpoints"):
            conn.execute(sa.text(f"DELETE FROM {table}"))
    with session_scope(ledger_db) as s:
        log.append_many(s, kept)
    publish(ledger_db)
    code, out = audit(server, "--key", key, "--state", str(state))
    assert code == 1 and "the ledger shrank" in out
