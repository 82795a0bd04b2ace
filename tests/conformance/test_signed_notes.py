"""Signed notes and checkpoints against the references' own vectors, in both verifiers.

The vectors (tests/conformance/data/note, see SOURCE.md there) come from golang.org/x/mod/sumdb/note's
tests, transparency-dev/formats' log tests and the C2SP examples. Vigil's `vigil.ledger.checkpoint` and the
outside auditor `tools/verify_ledger.py` must reject what the references reject and accept what they
accept, except where Vigil is deliberately stricter; each such place is listed below with its reason.
The malformed notes of the conformance review (R1-R23) are built here, signed by the formats "Log" key,
so that only their form is wrong.
"""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from vigil.ledger import checkpoint as cp

from . import load_auditor

DATA = Path(__file__).parent / "data" / "note"
GO = json.loads((DATA / "go_sumdb_note.json").read_text(encoding="utf-8"))
FORMATS = json.loads((DATA / "formats_log.json").read_text(encoding="utf-8"))
C2SP = json.loads((DATA / "c2sp_examples.json").read_text(encoding="utf-8"))
TOOL = load_auditor()
ROOT = hashlib.sha256(b"a 32-byte root for the adapted vectors").digest()
ROOT64 = base64.b64encode(ROOT).decode()
SKEYS = {name: k["skey"] for name, k in FORMATS["keys"].items()}
SIGNER_VAR = {"lns": "Log", "k1ns": "Known", "k2ns": "KnownAgain", "uns": "Unknown"}  # formats' test variables


def signer(skey: str) -> cp.Signer:
    """Vigil's Signer for a Go note signer key `PRIVATE+KEY+<name>+<hex id>+<base64(0x01 || seed)>`."""
    _, _, name, _, b64 = skey.split("+", 4)
    raw = base64.b64decode(b64)
    assert raw[0] == 1
    return cp.Signer(name, Ed25519PrivateKey.from_private_bytes(raw[1:]))


def sign(text: str, *skeys: str) -> str:
    """The text, a blank line and one signature line per key, in order (sumdb/note.Sign's layout)."""
    return text + "\n" + "".join(signer(k).sign(text)[len(text) + 1:] for k in skeys)


def vkeys(*names: str, keys=FORMATS["keys"]) -> list[cp.Verifier]:
    return [cp.Verifier.parse(keys[n]["vkey"]) for n in names]


def tool_key(vkey: str):
    return TOOL.parse_verifier(vkey)


def note_of(case: dict) -> str | bytes:
    return case["note"] if "note" in case else base64.b64decode(case["note_base64"])


def with_root(text: str) -> str:
    """The checkpoint text with its root line replaced by a 32-byte root (the vectors' roots are shorter)."""
    lines = text.split("\n")
    lines[2] = ROOT64
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------------
# golang.org/x/mod/sumdb/note


def test_vigil_signs_exactly_as_go_TestSign():
    vector = GO["TestSign"]
    s = signer(vector["skey"])
    assert s.sign(vector["text"]) == vector["want"]
    assert str(s.verifier) == GO["keys"]["PeterNeumann"]["vkey"]


def all_vkeys() -> list[str]:
    found = [k["vkey"] for k in GO["keys"].values()] + [k["vkey"] for k in FORMATS["keys"].values()]
    found += [FORMATS["TestSumDBNoteParsing"]["vkey"], C2SP["signed_note_example"]["vkey"]]
    found += [v for case in FORMATS["BenchmarkParse"]["cases"] for v in case["verifiers"]]
    return sorted(set(found))


@pytest.mark.parametrize("vkey", all_vkeys())
def test_reference_verifier_keys_parse_and_print_back(vkey):
    assert str(cp.Verifier.parse(vkey)) == vkey
    name, kid, _ = tool_key(vkey)
    assert vkey.startswith(f"{name}+{kid.hex()}+")


def mangled_vkeys() -> list[str]:
    """Go's TestNewVerifier: every proper substring, every one-byte increment, and its two bad keys."""
    vector = GO["TestNewVerifier"]
    b = vector["vkey"].encode()
    out = [b[i:j] for i in range(len(b) + 1) for j in range(i + 1, len(b) + 1) if (i, j) != (0, len(b))]
    out += [b[:i] + bytes([b[i] + 1]) + b[i + 1:] for i in range(len(b))]
    return [m.decode() for m in out] + [k["vkey"] for k in vector["bad_keys"]]


def test_every_mangled_verifier_key_go_rejects_is_rejected():
    bad = mangled_vkeys()
    assert len(bad) == 2278
    accepted_vigil, accepted_tool = [], []
    for text in bad:
        try:
            cp.Verifier.parse(text)
            accepted_vigil.append(text)
        except cp.CheckpointError:
            pass
        try:
            tool_key(text)
            accepted_tool.append(text)
        except TOOL.Unusable:
            pass
    assert accepted_vigil == [] and accepted_tool == []


# What Vigil says where Go says "malformed note" (or another error): the message must name the problem.
GO_OPEN_MESSAGES = {
    "both unverified": "no valid signature by a trusted key",
    "duplicated verifier": r"ambiguous key EnochRoot\+af0cfe78",
    "too many signatures (101), verifier known": "101 signature lines; at most 100",
    "too many signatures (101), no verifiers": "101 signature lines; at most 100",
    "invalid signature": r"signature by trusted key PeterNeumann\+c74f20a3 does not verify",
    "malformed: text only": "no blank line between its text and its signatures",
    "malformed: text and blank line, no signature": "no signature line after its blank line",
    "malformed: last signature line without final newline": "last signature line does not end with a newline",
    "malformed: U+0001 before the text": "line 1 contains the control character U\\+0001",
    "malformed: 0xFF (not UTF-8) before the text": "not valid UTF-8",
    "malformed: key name with a space ('Bad Name'), no final newline": "does not end with a newline",
    "malformed: a line after the signature": "line 5 follows the blank line but is not a signature line",
    # Go reaches its error only through a Verifiers lookup that answers for another key; Vigil looks keys up
    # by name and key id, so for Vigil these are signatures by unknown keys, and the note has no trusted one.
    "signature under another name (Go: verifier lookup answers PeterNeumann anyway)": "no valid signature by a trusted key",
    "signature under another key id (Go: verifier lookup answers PeterNeumann anyway)": "no valid signature by a trusted key",
}


@pytest.mark.parametrize("case", GO["TestOpen"], ids=lambda c: c["desc"])
def test_go_TestOpen(case):
    verifiers = vkeys(*case["verifiers"], keys=GO["keys"])
    note = note_of(case)
    if case["expect"] == "ok":
        split, verified = cp.open_signed(note, verifiers)
        assert split.text == case["text"]
        shown = [{"name": s.name, "key_id": s.key_id.hex(), "base64": base64.b64encode(s.key_id + s.signature).decode()}
                 for s in verified]
        assert shown == case["sigs"]
        known = {(v.name, v.key_id) for v in verifiers}
        unverified = [s for s in dict.fromkeys(split.signatures) if (s.name, s.key_id) not in known]
        assert [base64.b64encode(s.key_id + s.signature).decode() for s in unverified] == \
            [u["base64"] for u in case["unverified"]]
        return
    with pytest.raises(cp.CheckpointError, match=GO_OPEN_MESSAGES[case["desc"]]):
        cp.open_signed(note, verifiers)
    if case["error"] == "malformed note":
        with pytest.raises(TOOL.Failed):
            TOOL.open_checkpoint(note, tool_key(GO["keys"]["PeterNeumann"]["vkey"]))


def test_go_TestOpen_covers_every_malformed_message():
    descs = [c["desc"] for c in GO["TestOpen"]]
    assert sum(d.startswith("malformed: ") for d in descs) == 7 and set(GO_OPEN_MESSAGES) < set(descs)


# ---------------------------------------------------------------------------------------------------
# transparency-dev/formats log


@pytest.mark.parametrize("case", FORMATS["TestParseCheckpoint"]["cases"], ids=lambda c: c["desc"])
def test_formats_TestParseCheckpoint(case):
    """As published: the signature counts agree; the checkpoints themselves have a 6-byte root ("abcdef").

    formats does not check the root's length. c2sp.org/tlog-checkpoint's root is an RFC 6962 (SHA-256)
    root, so Vigil refuses a 6-byte one: every case is an error for Vigil's open_note.
    """
    note = case["note"]
    everyone = vkeys("Log", "Known", "KnownAgain")
    if case["wantSigs"]:
        assert len(cp.open_signed(note, everyone)[1]) == case["wantSigs"]
    else:
        with pytest.raises(cp.CheckpointError):
            cp.open_signed(note, everyone)
    with pytest.raises(cp.CheckpointError) as err:
        cp.open_note(note, vkeys("Log"), expected_origin=case["logID"])
    if not case["wantErr"]:
        assert "root has 6 bytes" in str(err.value)


@pytest.mark.parametrize("case", FORMATS["TestParseCheckpoint"]["cases"], ids=lambda c: c["desc"])
def test_formats_TestParseCheckpoint_with_a_sha256_root(case):
    """The same matrix over a 32-byte root, re-signed by the same keys: Vigil and the auditor give formats' answers."""
    text = case["note"][:case["note"].rfind("\n\n") + 1]
    if text.count("\n") >= 3:
        text = with_root(text)
    note = sign(text, *(SKEYS[SIGNER_VAR[s]] for s in case["signers"]))
    if case["wantSigs"]:
        assert len(cp.open_signed(note, vkeys("Log", "Known", "KnownAgain"))[1]) == case["wantSigs"]
    if case["wantErr"]:
        with pytest.raises(cp.CheckpointError):
            cp.open_note(note, vkeys("Log"), expected_origin=case["logID"])
        with pytest.raises(TOOL.Failed):
            TOOL.open_checkpoint(note, tool_key(FORMATS["keys"]["Log"]["vkey"]), origin=case["logID"])
    else:
        opened = cp.open_note(note, vkeys("Log"), expected_origin=case["logID"])
        assert (opened.origin, opened.size, opened.root) == ("TestParseCheckpoint", 42, ROOT)
        assert TOOL.open_checkpoint(note, tool_key(FORMATS["keys"]["Log"]["vkey"]), origin=case["logID"]) == \
            ("TestParseCheckpoint", 42, ROOT)


def test_formats_signature_layout_is_reproduced():
    """The stored notes are sumdb/note.Sign's output; Vigil's Signer gives them byte for byte."""
    for case in FORMATS["TestParseCheckpoint"]["cases"]:
        text = case["note"][:case["note"].rfind("\n\n") + 1]
        assert sign(text, *(SKEYS[SIGNER_VAR[s]] for s in case["signers"])) == case["note"]


@pytest.mark.parametrize("case", FORMATS["TestSumDBNoteParsing"]["cases"], ids=lambda c: c["desc"])
def test_formats_TestSumDBNoteParsing(case):
    vector = FORMATS["TestSumDBNoteParsing"]
    verifier = cp.Verifier.parse(vector["vkey"])
    if case["wantErr"]:
        with pytest.raises(cp.CheckpointError, match="origin is 'go.sum database tree', not the expected"):
            cp.open_note(vector["note"], [verifier], expected_origin=case["logID"])
        with pytest.raises(TOOL.Failed):
            TOOL.open_checkpoint(vector["note"], tool_key(vector["vkey"]), origin=case["logID"])
        return
    opened = cp.open_note(vector["note"], [verifier], expected_origin=case["logID"])
    assert (opened.origin, opened.size) == (case["want"]["origin"], case["want"]["size"])
    origin, size, _ = TOOL.open_checkpoint(vector["note"], tool_key(vector["vkey"]), origin=case["logID"])
    assert (origin, size) == (case["want"]["origin"], case["want"]["size"])


@pytest.mark.parametrize("case", FORMATS["BenchmarkParse"]["cases"], ids=lambda c: c["desc"])
def test_formats_cosigned_sumdb_checkpoints(case):
    """The sum.golang.org checkpoint with witness cosignatures (and two lines reusing one under other names)."""
    vector = FORMATS["BenchmarkParse"]
    log_key = cp.Verifier.parse(vector["log_vkey"])
    witnesses = [cp.Verifier.parse(v) for v in case["verifiers"]]
    assert cp.open_note(case["note"], [log_key], expected_origin=vector["logID"]).size == 6476701
    assert cp.open_note(case["note"], [log_key, *witnesses]).size == 6476701
    assert len(cp.open_signed(case["note"], [log_key, *witnesses])[1]) == 1 + len(witnesses)
    assert TOOL.open_checkpoint(case["note"], tool_key(vector["log_vkey"]), origin=vector["logID"])[1] == 6476701


def formats_body_cases():
    return [pytest.param(c, id=c["desc"]) for c in FORMATS["TestUnmarshalLogState"]]


@pytest.mark.parametrize("case", formats_body_cases())
def test_formats_TestUnmarshalLogState(case):
    """formats' rejections are Vigil's; formats' accepted bodies all have short roots, which Vigil refuses."""
    with pytest.raises(cp.CheckpointError) as err:
        cp.parse_text(case["text"])
    note = sign(case["text"], SKEYS["Log"])
    with pytest.raises(cp.CheckpointError):
        cp.open_note(note, vkeys("Log"))
    with pytest.raises(TOOL.Failed):
        TOOL.open_checkpoint(note, tool_key(FORMATS["keys"]["Log"]["vkey"]))
    if not case["wantErr"]:
        hash_len = len(base64.b64decode(case["want"]["hash_base64"]))
        assert f"root has {hash_len} bytes" in str(err.value)


@pytest.mark.parametrize("case", [c for c in formats_body_cases() if not c.values[0]["wantErr"]])
def test_formats_TestUnmarshalLogState_with_a_sha256_root(case):
    """With a 32-byte root, the bodies formats accepts are accepted, extension lines and all; except empty
    extension lines ("trailing newlines"), which c2sp.org/tlog-checkpoint says MUST NOT be."""
    text = with_root(case["text"])
    note = sign(text, SKEYS["Log"])
    rest = tuple(case["wantRest"].split("\n")[:-1])
    if "" in rest:
        with pytest.raises(cp.CheckpointError, match="line 4 of the checkpoint is empty"):
            cp.parse_text(text)
        with pytest.raises(cp.CheckpointError, match="extension lines must not be"):
            cp.open_note(note, vkeys("Log"))
        with pytest.raises(TOOL.Failed, match="empty extension line"):
            TOOL.open_checkpoint(note, tool_key(FORMATS["keys"]["Log"]["vkey"]))
        return
    want = (case["want"]["origin"], case["want"]["size"], ROOT)
    assert cp.parse_text(text) == (*want, rest)
    opened = cp.open_note(note, vkeys("Log"))
    assert (opened.origin, opened.size, opened.root) == want
    assert TOOL.open_checkpoint(note, tool_key(FORMATS["keys"]["Log"]["vkey"])) == want


def test_formats_TestExtendCheckpoint():
    vector = FORMATS["TestExtendCheckpoint"]
    with pytest.raises(cp.CheckpointError, match="root has 16 bytes"):
        cp.parse_text(vector["text"])
    origin, size, root, extensions = cp.parse_text(with_root(vector["text"]))
    assert (origin, size, root) == (vector["want"]["origin"], vector["want"]["size"], ROOT)
    assert "\n".join(extensions) + "\n" == vector["want"]["rest"]


# ---------------------------------------------------------------------------------------------------
# C2SP examples


def test_c2sp_signed_note_example_verifies():
    vector = C2SP["signed_note_example"]
    split, verified = cp.open_signed(vector["note"], [cp.Verifier.parse(vector["vkey"])])
    assert split.text == vector["text"] and [s.name for s in verified] == ["example.com/foo"]
    with pytest.raises(cp.CheckpointError, match="origin line, a size line and a root line"):
        cp.open_note(vector["note"], [cp.Verifier.parse(vector["vkey"])])  # a note, not a checkpoint
    tampered = vector["note"].replace("example message", "exemplary message")
    with pytest.raises(cp.CheckpointError, match="does not verify"):
        cp.open_signed(tampered, [cp.Verifier.parse(vector["vkey"])])


def test_c2sp_note_with_a_blank_line_in_its_text():
    """The text is separated from the signatures by the last blank line."""
    split = cp.split_note(C2SP["signed_note_intro"]["note"])
    assert split.text.endswith("sole:\n\ned \u00e8 subito sera.\n")
    assert [s.name for s in split.signatures] == ["quasimodo.example/salvatore"]


def test_c2sp_checkpoint_example_parses():
    vector = C2SP["checkpoint_example"]
    checkpoint, signatures = cp.parse(vector["note"])
    assert (checkpoint.origin, checkpoint.size, base64.b64encode(checkpoint.root).decode()) == \
        (vector["want"]["origin"], vector["want"]["size"], vector["want"]["root_base64"])
    assert [name for name, _, _ in signatures] == ["example.com/behind-the-sofa"]


# ---------------------------------------------------------------------------------------------------
# The review's malformed notes (R1-R23 and the ones both verifiers already refused), signed by formats' Log key

LOG = SKEYS["Log"]
BODY = f"Log\n7\n{ROOT64}\n"
VALID = sign(BODY, LOG)
LOG_LINE = VALID[len(BODY) + 1:]
LOG_SIG = LOG_LINE.split(" ")[2].strip()


def _corrupt(sig_b64: str) -> str:
    raw = bytearray(base64.b64decode(sig_b64))
    raw[10] ^= 1
    return base64.b64encode(bytes(raw)).decode()


def _with_size(size: str) -> str:
    return sign(f"Log\n{size}\n{ROOT64}\n", LOG)


MALFORMED = {
    # id: (note, what Vigil's message says, what the auditor's says)
    "R1 no final newline": (VALID[:-1], "last signature line does not end with a newline", "does not end with a newline"),
    "R2 U+0001 in the origin": (sign(f"Lo\x01g\n7\n{ROOT64}\n", LOG), "line 1 contains the control character U\\+0001",
                                "U\\+0001 on line 1"),
    "R3 key name with a space beside a valid line": (VALID + f"\u2014 Bad Name {LOG_SIG}\n",
                                                     "key name 'Bad Name' contains a space", "key name contains a space"),
    "R3 key name with a no-break space": (VALID + f"\u2014 Bad\u00a0Name {LOG_SIG}\n",
                                          "key name 'Bad\\\\xa0Name' contains a space \\(U\\+00A0\\)", "key name contains a space"),
    "R3 key name with an ideographic space": (VALID + f"\u2014 Bad\u3000Name {LOG_SIG}\n", "contains a space \\(U\\+3000\\)",
                                              "key name contains a space"),
    "R3 key name with '+'": (VALID + f"\u2014 Log+1 {LOG_SIG}\n", "key name 'Log\\+1' contains '\\+'", "contains '\\+'"),
    "R4 empty origin": (sign(f"\n7\n{ROOT64}\n", LOG), "origin line is empty", "origin line is empty"),
    "R5 full-width digit in the size": (_with_size("\uff17"), "size '\uff17' is not ASCII decimal digits", "size"),
    "R5 Arabic-Indic digit in the size": (_with_size("\u0667"), "is not ASCII decimal digits", "size"),
    "R5 superscript digit in the size": (_with_size("\u2077"), "is not ASCII decimal digits", "size"),
    "R6 leading zero": (_with_size("07"), "size '07' has a leading zero", "size '07'"),
    "R7 sign": (_with_size("+7"), "size '\\+7' is not ASCII decimal digits", "size"),
    "negative size": (_with_size("-34"), "size '-34' is not ASCII decimal", "size"),
    "size 'bananas'": (_with_size("bananas"), "is not ASCII decimal", "size"),
    "size with a space": (_with_size("7 "), "is not ASCII decimal", "size"),
    "empty size": (_with_size(""), "size '' is not ASCII decimal", "size"),
    "R20 size 2^64": (_with_size(str(2**64)), "too large \\(2\\^64 or more\\)", "below 2\\^64"),
    "R21 a line after the signatures": (VALID + "Unexpected line.\n", "line 6 follows the blank line but is not a signature",
                                        "not a signature line"),
    "R22 31-byte root": (sign(f"Log\n7\n{base64.b64encode(ROOT[:31]).decode()}\n", LOG), "root has 31 bytes",
                         "root has 31 bytes"),
    "33-byte root": (sign(f"Log\n7\n{base64.b64encode(ROOT + b'x').decode()}\n", LOG), "root has 33 bytes", "33 bytes"),
    "R8/R23 root not base64": (sign("Log\n7\nThisIsn'tBase64\n", LOG), "root .ThisIsn't.* is not base64", "not base64"),
    "root without padding": (sign(f"Log\n7\n{ROOT64.rstrip('=')}\n", LOG), "is not base64", "not base64"),
    "root with excess padding": (sign(f"Log\n7\n{ROOT64}==\n", LOG), "is not base64", "not base64"),
    "R18 a failing signature by the trusted key after a valid one": (VALID + f"\u2014 Log {_corrupt(LOG_SIG)}\n",
                                                                     "by trusted key Log\\+2271c621 does not verify",
                                                                     "signature by Log is invalid"),
    "R18 a failing signature by the trusted key before a valid one": (
        BODY + f"\n\u2014 Log {_corrupt(LOG_SIG)}\n" + LOG_LINE, "does not verify", "is invalid"),
    "R19 101 signature lines": (VALID + LOG_LINE * 100, "101 signature lines", "101 signature lines"),
    "two-line checkpoint": (sign("Log\n7\n", LOG), "origin line, a size line and a root line", "origin line, a size line"),
    "CRLF line endings": (VALID.replace("\n", "\r\n"), "U\\+000D \\(carriage return", "U\\+000D"),
    "hyphen instead of em dash": (VALID.replace("\u2014", "-"), "not a signature line", "not a signature line"),
    "em dash without its space": (VALID.replace("\u2014 ", "\u2014"), "not a signature line", "not a signature line"),
    "empty extension line": (sign(BODY + "ext\n\nmore\n", LOG), "line 5 of the checkpoint is empty", "empty extension line"),
    "signature that is not base64": (VALID.replace(LOG_SIG, LOG_SIG[:-2] + "!!"), "signature by Log is not base64", "not base64"),
    "signature of 4 bytes": (BODY + "\n\u2014 Log IhxpIQ==\n", "has 4 bytes", "too short"),
    "signature line without a signature": (BODY + "\n\u2014 Log\n", "no signature after the key name", "too short"),
    "no signature lines": (BODY + "\n", "no signature line after its blank line", "no signature line"),
    "signed by an unknown key only": (sign(BODY, SKEYS["Known"]), "no valid signature by a trusted key", "no signature by the trusted key"),
    "the Log signature renamed": (VALID.replace("\u2014 Log ", "\u2014 Other "), "no valid signature by a trusted key",
                                  "no signature by the trusted key"),
    "the body changed after signing": (VALID.replace("\n7\n", "\n8\n"), "does not verify", "is invalid"),
    "tab in the origin": (sign(f"Log\tx\n7\n{ROOT64}\n", LOG), "U\\+0009 \\(tab\\)", "U\\+0009"),
    "lone surrogate": (sign(BODY, LOG).replace("Log\n", "Lo\ud800\n", 1), "lone surrogate", "U\\+D800"),
}


@pytest.mark.parametrize("note,vigil_says,tool_says", MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_notes_are_refused_with_the_reason(note, vigil_says, tool_says):
    with pytest.raises(cp.CheckpointError, match=vigil_says):
        cp.open_note(note, vkeys("Log"))
    with pytest.raises(TOOL.Failed, match=tool_says):
        TOOL.open_checkpoint(note, tool_key(FORMATS["keys"]["Log"]["vkey"]))


def test_a_note_that_is_not_utf8_is_refused():
    raw = VALID.encode().replace(b"Log\n7", b"L\xffg\n7", 1)
    with pytest.raises(cp.CheckpointError, match="not valid UTF-8"):
        cp.open_note(raw, vkeys("Log"))
    with pytest.raises(TOOL.Failed, match="not valid UTF-8"):
        TOOL.open_checkpoint(raw, tool_key(FORMATS["keys"]["Log"]["vkey"]))


WELL_FORMED = {
    "plain": (VALID, 7),
    "as bytes": (VALID.encode(), 7),
    "unknown key first": (sign(BODY, SKEYS["Unknown"], LOG), 7),
    "extension lines": (sign(BODY + "6086d1a9\nWaxing gibbous\n", LOG), 7),
    "doubly signed": (sign(BODY, LOG, SKEYS["Known"]), 7),
    "signed twice by the log": (VALID + LOG_LINE, 7),
    "100 signature lines": (VALID + LOG_LINE * 99, 7),
    "size 0, empty root": (sign(f"Log\n0\n{base64.b64encode(hashlib.sha256(b'').digest()).decode()}\n", LOG), 0),
    "size 2^64 - 1": (_with_size(str(2**64 - 1)), 2**64 - 1),
    "origin with spaces and non-ASCII": (sign(f"Moon Log \u263e\n7\n{ROOT64}\n", LOG), 7),
    "unknown signer with an odd but valid name": (VALID + "\u2014 \u00e9t\u00e9/\u2603 AAAAAAAA\n", 7),
}


@pytest.mark.parametrize("note,size", WELL_FORMED.values(), ids=WELL_FORMED.keys())
def test_well_formed_notes_are_accepted(note, size):
    assert cp.open_note(note, vkeys("Log")).size == size
    assert TOOL.open_checkpoint(note, tool_key(FORMATS["keys"]["Log"]["vkey"]))[1] == size


def test_doubly_signed_checkpoint_verifies_both_signatures():
    note = WELL_FORMED["doubly signed"][0]
    assert [str(s) for s in cp.open_signed(note, vkeys("Log", "Known"))[1]] == ["Log+2271c621", "Known+451c786d"]
    assert cp.open_note(note, vkeys("Known")).size == 7  # either trusted key suffices for open_note


def test_vigils_own_checkpoints_verify(tmp_path):
    s = cp.load_signer(tmp_path, name="vigil.local/ledger")
    note = s.sign(cp.body("vigil.local/ledger", 39, ROOT))
    opened = cp.open_note(note, [s.verifier], expected_origin="vigil.local/ledger")
    assert (opened.size, opened.root, opened.note) == (39, ROOT, note)
    assert TOOL.open_checkpoint(note, tool_key(str(s.verifier)), origin="vigil.local/ledger") == \
        ("vigil.local/ledger", 39, ROOT)
    checkpoint, signatures = cp.parse(note)
    assert checkpoint == opened and [(n, k) for n, k, _ in signatures] == [("vigil.local/ledger", s.verifier.key_id)]


def test_two_trusted_keys_with_one_name_and_key_id_are_ambiguous():
    log = vkeys("Log")[0]
    with pytest.raises(cp.CheckpointError, match=r"ambiguous key Log\+2271c621"):
        cp.open_note(VALID, [log, log])
    assert cp.open_note(sign(BODY, SKEYS["Known"]), [log, log, *vkeys("Known")]).size == 7  # unused: no matter


# ---------------------------------------------------------------------------------------------------
# End to end: `vigil ledger verify --checkpoint` (the review's N16)


@pytest.fixture
def saved_checkpoint(db_url, tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from vigil.banks import service as banks
    from vigil.cli import app
    from vigil.store.db import session_scope

    monkeypatch.setenv("VIGIL_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("VIGIL_LEDGER_ORIGIN", "test.vigil/ledger")
    with session_scope(db_url) as s:
        bank = banks.create_bank(s, "tvec")
        banks.add_entry(s, bank, "md5", "0" * 32)
    runner = CliRunner()
    saved = tmp_path / "cp.txt"
    assert runner.invoke(app, ["ledger", "checkpoint", "--db", db_url, "-o", str(saved)]).exit_code == 0
    key = runner.invoke(app, ["ledger", "key"]).output.strip()

    def verify(note: str | bytes):
        path = tmp_path / "given.txt"
        path.write_bytes(note if isinstance(note, bytes) else note.encode())
        r = runner.invoke(app, ["ledger", "verify", "--db", db_url, "--checkpoint", str(path), "--key", key, "--json"])
        return r.exit_code, (json.loads(r.stdout)["findings"] if r.exit_code in (0, 1) else r.output)

    return saved.read_bytes().decode(), verify


def test_cli_verify_names_what_is_wrong_with_a_given_checkpoint(saved_checkpoint):
    note, verify = saved_checkpoint
    assert verify(note) == (0, [])
    _, name, sig = note.split("\n")[4].split(" ")
    cases = {
        note[:-1]: "does not end with a newline",
        note + f"\u2014 Bad Name {sig}\n": "key name 'Bad Name' contains a space",
        note.replace("\n", "\r\n"): "carriage return",
        note + "Unexpected line.\n": "not a signature line",
        note + f"\u2014 {name} {_corrupt(sig)}\n": "does not verify",
        note + f"\u2014 {name} {sig}\n" * 100: "101 signature lines",
    }
    for given, problem in cases.items():
        code, findings = verify(given)
        assert code == 1, (given, findings)
        assert [f["kind"] for f in findings] == ["checkpoint_signature"]
        assert problem in findings[0]["message"] and findings[0]["message"].startswith("given checkpoint 1: ")
    code, output = verify(note.encode().replace(b"test", b"t\xffst", 1))
    assert code == 2 and "not valid UTF-8" in output
