"""Signed-note and checkpoint vectors, extracted at test time from the references' own files.

Each function takes the text of upstream files (read by tests/references.py at the commit a test names) and
returns plain values: str for text that is UTF-8, bytes where Go's test builds bytes that are not. Nothing here
holds a key, note, hash or signature: they all come from the upstream files.

- `go_vectors`: golang.org/x/mod sumdb/note/note_test.go (TestSign, TestNewVerifier, TestOpen) and note.go (the
  text of the errors TestOpen compares against).
- `formats_vectors`: transparency-dev/formats log/note_test.go (TestParseCheckpoint, TestSumDBNoteParsing,
  BenchmarkParse) and log/checkpoint_test.go (TestMarshal, TestUnmarshalLogState, TestExtendCheckpoint).
- `c2sp_vectors`: the examples of C2SP's signed-note.md and tlog-checkpoint.md.
"""

from __future__ import annotations

import base64

from . import gosource as go
from . import mdblocks


class ExtractionError(ValueError):
    """An upstream file does not have the shape the extractor expects (another commit, or a wrong path)."""


def _str(value) -> str:
    if not isinstance(value, bytes):
        raise ExtractionError(f"expected a Go string, found {value!r}")
    return value.decode("utf-8")


def _text_or_bytes(value: bytes) -> str | bytes:
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return value


def key_name(key: str) -> str:
    """The key name of a note verifier key `name+hash+key` or signer key `PRIVATE+KEY+name+hash+key`."""
    return key.removeprefix("PRIVATE+KEY+").split("+")[0]


def _key_of(value, fn: str) -> str:
    """The key string given to note.NewVerifier / note.NewSigner (recorded as a go.Call)."""
    if not (isinstance(value, go.Call) and value.fn.split(".")[-1] == fn and len(value.args) == 1):
        raise ExtractionError(f"expected {fn}(key), found {value!r}")
    return _str(value.args[0])


def _signature(value) -> dict:
    """A sumdb/note Signature{Name, Hash, Base64} literal as {"name", "key_id", "base64"}."""
    if not (isinstance(value, go.Struct) and value.type == "Signature"):
        raise ExtractionError(f"expected a Signature literal, found {value!r}")
    fields = dict(zip(("Name", "Hash", "Base64"), value.positional, strict=False)) | value.fields
    return {"name": _str(fields["Name"]), "key_id": f"{fields['Hash']:08x}", "base64": _str(fields["Base64"])}


# --- golang.org/x/mod/sumdb/note --------------------------------------------------------------------------------------


def go_vectors(note_test: bytes, note_go: bytes) -> dict:
    source = go.GoFile(note_test)
    errors = {name: value.text for name, value in go.GoFile(note_go).globals.items() if isinstance(value, go.GoError)}

    sign = source.variables("TestSign")
    test_sign = {"skey": _str(sign["skey"]), "text": _str(sign["text"]), "want": _str(sign["want"])}

    new_verifier = source.variables("TestNewVerifier")
    bad_keys = [_str(call.args[0].value) for call in source.calls("TestNewVerifier", "badKey")
                if isinstance(call.args[0], go.Lit)]
    if len(bad_keys) != 2:
        raise ExtractionError(f"TestNewVerifier: expected two badKey literals, found {len(bad_keys)}")

    opened = source.variables("TestOpen")
    keys = {}
    for vkey in (_str(opened["peterKey"]), _str(opened["enochKey"])):
        keys[key_name(vkey)] = {"vkey": vkey}
    keys[key_name(test_sign["skey"])]["skey"] = test_sign["skey"]

    return {"keys": keys, "TestSign": test_sign,
            "TestNewVerifier": {"vkey": _str(new_verifier["vkey"]), "bad_keys": bad_keys},
            "TestOpen": _go_open_cases(source, errors)}


def _go_open_cases(source: go.GoFile, errors: dict[str, str]) -> list[dict]:
    """Every Open call of TestOpen, in order (a call in a range loop once per element), with the checks after it."""
    cases: list[dict] = []
    current: list[dict] = []
    for stmt, env in source.trace("TestOpen"):
        call = _open_call(stmt)
        if call is not None:
            current = _open_calls(source, call, env)
            cases += current
        elif isinstance(stmt, go.If) and stmt.cond is not None:
            for case in current:
                _read_check(source, stmt.cond, env, case, errors)
    for case in cases:
        case["expect"] = "error" if case["error"] is not None else "ok" if case.pop("fatal_on_error") else "unstated"
        for which in ("sigs", "unverified"):
            stated, length = case.pop(which), case.pop(which + "_len")
            case[which] = [stated[i] for i in range(length)] if length is not None and set(stated) == set(range(length)) else None
    return cases


def _open_call(stmt) -> go.CallExpr | None:
    exprs = stmt.rhs if isinstance(stmt, go.Assign) else [stmt.x] if isinstance(stmt, go.ExprStmt) else []
    for expr in exprs:
        if isinstance(expr, go.CallExpr) and go._dotted(expr.fn) in ("Open", "note.Open"):
            return expr
    return None


def _open_calls(source: go.GoFile, call: go.CallExpr, env: dict) -> list[dict]:
    message = source.evaluate(call.args[0], env)
    verifiers = source.evaluate(call.args[1], env)
    if isinstance(verifiers, go.Call) and verifiers.fn.split(".")[-1] == "VerifierList":
        lookup, keys = "list", [_key_of(v, "NewVerifier") for v in verifiers.args]
    elif isinstance(verifiers, go.Struct) and len(verifiers.positional) == 1:
        lookup, keys = "fixed", [_key_of(verifiers.positional[0], "NewVerifier")]  # answers this key for any name
    else:
        raise ExtractionError(f"TestOpen line {call.line}: verifiers {verifiers!r}")
    messages = message.values if isinstance(message, go.Each) else [message]
    return [{"line": call.line, "note": _text_or_bytes(m), "verifiers": keys, "lookup": lookup, "error": None,
             "fatal_on_error": False, "text": None, "sigs": {}, "sigs_len": None, "unverified": {}, "unverified_len": None,
             "variables": _variables(env)} for m in messages]


def _variables(env: dict) -> dict:
    """The test's strings and Signature values at a call, by their names in the test."""
    found = {}
    for name, value in env.items():
        if isinstance(value, bytes):
            found[name] = _text_or_bytes(value)
        elif isinstance(value, go.Struct) and value.type == "Signature":
            found[name] = _signature(value)
    return found


def _read_check(source: go.GoFile, cond, env: dict, case: dict, errors: dict[str, str]) -> None:
    """What one `if` after an Open call says the call must give."""
    for node in go.nodes(cond):
        if not (isinstance(node, go.Binary) and node.op == "!="):
            continue
        left, right = node.left, node.right
        if _is_call_of(left, "err.Error") and isinstance(right, go.Lit):  # err.Error() != "text"
            case["error"] = case["error"] or _str(right.value)
        elif _is_name(left, "err") and isinstance(right, go.Name) and right.name in errors:  # err != errSentinel
            case["error"] = case["error"] or errors[right.name]
        elif _is_name(left, "err") and _is_name(right, "nil"):  # if err != nil { t.Fatal(err) }
            case["fatal_on_error"] = True
        elif _is_selector(left, "n", "Text"):
            case["text"] = _str(source.evaluate(right, env))
        elif isinstance(left, go.IndexExpr) and isinstance(left.index, go.Lit):
            for which, name in (("sigs", "Sigs"), ("unverified", "UnverifiedSigs")):
                if _is_selector(left.x, "n", name):
                    case[which][left.index.value] = _signature(source.evaluate(right, env))
        elif isinstance(left, go.CallExpr) and go._dotted(left.fn) == "len" and isinstance(right, go.Lit):
            for which, name in (("sigs", "Sigs"), ("unverified", "UnverifiedSigs")):
                if _is_selector(left.args[0], "n", name):
                    case[which + "_len"] = right.value


def _is_name(node, name: str) -> bool:
    return isinstance(node, go.Name) and node.name == name


def _is_selector(node, x: str, name: str) -> bool:
    return isinstance(node, go.Selector) and _is_name(node.x, x) and node.name == name


def _is_call_of(node, dotted: str) -> bool:
    return isinstance(node, go.CallExpr) and go._dotted(node.fn) == dotted and not node.args


# --- transparency-dev/formats, package log ----------------------------------------------------------------------------


def marshal_checkpoint(checkpoint: go.Struct) -> bytes:
    """log.Checkpoint's text as c2sp.org/tlog-checkpoint lays it out: origin, size, base64 root, one per line.

    Checked against formats' own TestMarshal whenever the vectors are extracted."""
    f = checkpoint.fields
    return b"%s\n%d\n%s\n" % (f.get("Origin", b""), f.get("Size", 0), base64.b64encode(f.get("Hash", b"")))


METHODS = {"log.Checkpoint.Marshal": marshal_checkpoint}


def _checkpoint(value) -> dict | None:
    if value is None:
        return None
    if not isinstance(value, go.Struct):
        raise ExtractionError(f"expected a log.Checkpoint, found {value!r}")
    f = value.fields
    return {"origin": _str(f.get("Origin", b"")), "size": f.get("Size", 0), "hash": f.get("Hash", b"")}


def _table(source: go.GoFile, func: str) -> list[dict]:
    tables = source.ranges(func)
    if not tables or not all(isinstance(row, go.Struct) for row in tables[0]):
        raise ExtractionError(f"{func}: no test table")
    return [row.fields for row in tables[0]]


def formats_vectors(note_test: bytes, checkpoint_test: bytes) -> dict:
    notes = go.GoFile(note_test, METHODS)
    checkpoints = go.GoFile(checkpoint_test, METHODS)

    for row in _table(checkpoints, "TestMarshal"):  # our marshal_checkpoint is formats' Marshal
        if marshal_checkpoint(row["c"]) != row["want"]:
            raise ExtractionError(f"TestMarshal: {row['want']!r} is not what marshal_checkpoint gives")

    keys: dict[str, dict] = {}
    for value in notes.globals.values():
        if isinstance(value, bytes) and value.count(b"+") >= 2:
            key = _str(value)
            keys.setdefault(key_name(key), {})["skey" if key.startswith("PRIVATE+KEY+") else "vkey"] = key

    parse = notes.variables("TestParseCheckpoint")
    (call,) = notes.calls("TestParseCheckpoint", "log.ParseCheckpoint")
    verifiers = [_key_of(notes.evaluate(arg, parse), "NewVerifier") for arg in call.args[2:]]
    test_parse = {
        "log_verifier": verifiers[0], "other_verifiers": verifiers[1:], "checkpoint": _checkpoint(parse["cp"]),
        "cases": [{"desc": _str(row["desc"]), "logID": _str(row["logID"]), "body": _str(row["noteBody"]),
                   "signers": [_key_of(s, "NewSigner") for s in row.get("sigs") or []],
                   "wantErr": row.get("wantErr", False), "wantSigs": row.get("wantSigs", 0)}
                  for row in _table(notes, "TestParseCheckpoint")]}

    sumdb = notes.variables("TestSumDBNoteParsing")
    want = {}
    for stmt in go.walk(notes.funcs["TestSumDBNoteParsing"].body):
        if isinstance(stmt, go.Assign) and [getattr(t, "name", None) for t in stmt.lhs] == ["got", "want"]:
            got, value = stmt.rhs
            if _is_selector(got, "cp", got.name if isinstance(got, go.Selector) else ""):
                want[got.name.lower()] = notes.evaluate(value, {})
    test_sumdb = {"vkey": _key_of(sumdb["logVerifier"], "NewVerifier"), "note": _str(sumdb["noteString"]),
                  "want": {k: _str(v) if isinstance(v, bytes) else v for k, v in want.items()},
                  "cases": [{"desc": _str(row["desc"]), "logID": _str(row["logID"]), "wantErr": row.get("wantErr", False)}
                            for row in _table(notes, "TestSumDBNoteParsing")]}

    bench = notes.variables("BenchmarkParse")
    (call,) = notes.calls("BenchmarkParse", "log.ParseCheckpoint")
    base = _str(bench["baseNote"])
    test_bench = {
        "log_vkey": _key_of(bench["logVerifier"], "NewVerifier"), "logID": _str(notes.evaluate(call.args[1], {})),
        # each signature line is appended with its newline, as the benchmark's Sprintf("%s%s\n", note, s) does
        "cases": [{"desc": _str(row["desc"]), "verifiers": [_str(v) for v in row.get("verifiers") or []],
                   "note": base + "".join(_str(s) + "\n" for s in row.get("sigs") or [])}
                  for row in _table(notes, "BenchmarkParse")]}

    unmarshal = [{"desc": _str(row["desc"]), "text": _str(row["m"]), "wantErr": row.get("wantErr", False),
                  "want": _checkpoint(row.get("want")), "wantRest": _str(row.get("wantRest") or b"")}
                 for row in _table(checkpoints, "TestUnmarshalLogState")]

    extend = checkpoints.variables("TestExtendCheckpoint")
    moon = extend["want"].fields
    test_extend = {"text": _str(extend["raw"]),
                   # the extension lines as the test's moonLogCheckpoint.Marshal writes them: "%x\n%s\n"
                   "want": _checkpoint(moon["Checkpoint"]) | {"rest": f"{moon['Timestamp']:x}\n{_str(moon['Phase'])}\n"}}

    return {"keys": keys, "TestParseCheckpoint": test_parse, "TestSumDBNoteParsing": test_sumdb,
            "BenchmarkParse": test_bench, "TestUnmarshalLogState": unmarshal, "TestExtendCheckpoint": test_extend}


# --- C2SP ------------------------------------------------------------------------------------------------------------


def _note(block: mdblocks.Block) -> dict:
    """A signed note shown in a code block: the note (lines and a final newline) and its text (up to the last blank line)."""
    lines = list(block.lines)
    blank = len(lines) - 1 - lines[::-1].index("")
    return {"note": "\n".join(lines) + "\n", "text": "\n".join(lines[:blank]) + "\n", "lines": lines}


def c2sp_vectors(signed_note_md: str, checkpoint_md: str) -> dict:
    fenced = [b for b in mdblocks.blocks(signed_note_md) if b.kind == "fenced"]
    keys = mdblocks.under(signed_note_md, "Verifier keys", "Example", kind="indented")
    notes = mdblocks.under(signed_note_md, "Verifier keys", "Example", kind="fenced")
    checkpoints = [b for b in mdblocks.blocks(checkpoint_md) if b.kind == "fenced"]
    if not (fenced and len(keys) == 1 and len(keys[0].lines) == 1 and len(notes) == 1 and checkpoints):
        raise ExtractionError("the C2SP examples are not where they were")
    checkpoint = _note(checkpoints[0])
    origin, size, root = checkpoint["lines"][:3]
    return {
        "signed_note_intro": _note(fenced[0]),  # the note that opens signed-note.md (no key is published for it)
        "signed_note_example": _note(notes[0]) | {"vkey": keys[0].lines[0].strip()},
        "checkpoint_example": checkpoint | {"want": {"origin": origin, "size": int(size), "root_base64": root}},
    }
