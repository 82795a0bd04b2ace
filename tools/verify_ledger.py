#!/usr/bin/env python3
"""Audit a running Vigil's decision ledger from the outside, with only the standard library and `cryptography`.

It fetches the latest signed checkpoint, checks its Ed25519 signature against a verifier key you
trust, proves with a consistency proof that it extends the checkpoint you saved last time (so
nothing below that size was rewritten), and, with an auditor API key, downloads every leaf,
rehashes it, rebuilds the root and checks inclusion proofs. On success it saves the new checkpoint.

    python tools/verify_ledger.py --url http://127.0.0.1:8000 --key 'vigil.local/ledger+1a2b3c4d+AS...' \\
        --state ledger-checkpoint.txt [--api-key KEY --leaves]

Exit status: 0 verified, 1 verification failed, 2 usage or network error.
Hashing follows RFC 9162 section 2.1 (proof checks as transparency-dev/merkle); notes follow c2sp.org/signed-note
and c2sp.org/tlog-checkpoint, strictly: a malformed note is refused even when the trusted key signed it.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import re
import sys
import urllib.error
import urllib.parse
import urllib.request

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

PAGE = 1000
HASH = 32  # SHA-256
EMPTY_ROOT = hashlib.sha256(b"").digest()
MAX_SIGNATURE_LINES = 100  # as golang.org/x/mod/sumdb/note (c2sp.org/signed-note: verifiers SHOULD set a limit)
EM_DASH = "\u2014 "
B64 = re.compile(r"(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?")
SIZE = re.compile(r"0|[1-9][0-9]*")
KEY_ID = re.compile(r"[0-9a-fA-F]{8}")
BAD_CHAR = re.compile("[\x00-\x09\x0b-\x1f\ud800-\udfff]")  # control characters but newline; lone surrogates
# Unicode White_Space, none of which a key name may contain
SPACES = set("\t\n\v\f\r \x85\xa0\u1680\u2028\u2029\u202f\u205f\u3000") | {chr(c) for c in range(0x2000, 0x200B)}


class Failed(Exception):
    """Verification failed: the ledger is not what the checkpoints promise."""


class Unusable(Exception):
    """Usage or network trouble: nothing was verified."""


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def merkle_root(hashes: list[bytes]) -> bytes:
    if not hashes:
        return hashlib.sha256(b"").digest()
    stack: list[tuple[int, bytes]] = []  # (height, hash) of perfect subtrees, left to right
    for h in hashes:
        height = 0
        while stack and stack[-1][0] == height:
            h = node_hash(stack.pop()[1], h)
            height += 1
        stack.append((height, h))
    root = stack[-1][1]
    for _, left in reversed(stack[:-1]):
        root = node_hash(left, root)
    return root


def is_hash(*values: bytes) -> bool:
    return all(isinstance(v, (bytes, bytearray)) and len(v) == HASH for v in values)


def verify_inclusion(index: int, size: int, leaf: bytes, proof: list[bytes], root: bytes) -> bool:
    """RFC 9162 2.1.3.2; the leaf and every proof hash must be 32 bytes."""
    if not 0 <= index < size or not is_hash(leaf, *proof):
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while fn and not fn & 1:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(first: int, second: int, first_root: bytes, second_root: bytes, proof: list[bytes]) -> bool:
    """RFC 9162 2.1.4.2, for 0 < first <= second only (as transparency-dev/merkle): there is no proof from size 0.

    Equal sizes need an empty proof and equal roots; otherwise every hash must be 32 bytes and the proof
    must use up the second size exactly.
    """
    if not 0 < first <= second:
        return False
    if first == second:
        return not proof and first_root == second_root
    if not proof or not is_hash(first_root, second_root, *proof):
        return False
    path = ([first_root] if first & (first - 1) == 0 else []) + list(proof)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            while fn and not fn & 1:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == first_root and sr == second_root


def b64decode(text: str) -> bytes:
    """Standard padded base64 (RFC 4648 section 4) and nothing else; ValueError otherwise."""
    if not isinstance(text, str) or not B64.fullmatch(text):
        raise ValueError(f"not base64: {str(text)[:60]!r}")
    return base64.b64decode(text)


def name_problem(name: str) -> str | None:
    if not name:
        return "is empty"
    if any(c in SPACES or c.isspace() for c in name):
        return "contains a space"
    if "+" in name:
        return "contains '+'"
    return None


def parse_verifier(text: str) -> tuple[str, bytes, Ed25519PublicKey]:
    """(name, key id, public key) of a verifier key `<name>+<8 hex digits>+<base64(0x01 || 32-byte key)>`."""
    shown = text.strip()[:80]
    parts = text.strip().split("+", 2)
    if len(parts) != 3:
        raise Unusable(f"not a verifier key (<name>+<hex id>+<base64 key>): {shown!r}")
    name, hex_id, b64 = parts
    if name_problem(name) or BAD_CHAR.search(name):
        raise Unusable(f"the verifier key's name {name!r} {name_problem(name) or 'contains a control character'}")
    if not KEY_ID.fullmatch(hex_id):
        raise Unusable(f"the verifier key's id {hex_id!r} is not 8 hex digits")
    try:
        raw = b64decode(b64)
    except ValueError:
        raise Unusable(f"the verifier key {shown!r} is not base64 after its id") from None
    if len(raw) != 33 or raw[0] != 1:
        raise Unusable("the verifier key is not an Ed25519 key (type 0x01 and 32 bytes)")
    key_id = hashlib.sha256(name.encode() + b"\n" + raw).digest()[:4]
    if key_id.hex() != hex_id.lower():
        raise Unusable("the verifier key's id does not match its name and key")
    try:
        return name, key_id, Ed25519PublicKey.from_public_bytes(raw[1:])
    except ValueError:
        raise Unusable("the verifier key is not a valid Ed25519 public key") from None


def open_checkpoint(note: str | bytes, verifier: tuple[str, bytes, Ed25519PublicKey],
                    origin: str | None = None) -> tuple[str, int, bytes]:
    """(origin, size, root) of a well-formed checkpoint signed by the trusted key; Failed otherwise.

    c2sp.org/signed-note: UTF-8 without control characters but newline; text, blank line, 1..100 signature
    lines `— <name> <base64(key id || signature)>` each ending in a newline. Signatures by other keys are
    ignored; every signature by the trusted key (name and key id) must verify. c2sp.org/tlog-checkpoint:
    non-empty origin, ASCII decimal size without leading zero below 2^64, base64 32-byte root, non-empty
    extension lines. With `origin`, the checkpoint must be that log's.
    """
    name, key_id, key = verifier
    if isinstance(note, (bytes, bytearray)):
        try:
            note = bytes(note).decode("utf-8")
        except UnicodeDecodeError:
            raise Failed("the checkpoint is not valid UTF-8") from None
    bad = BAD_CHAR.search(note)
    if bad:
        what = "a lone surrogate (not UTF-8)" if bad.group() >= "\ud800" else "a control character other than newline"
        raise Failed(f"the checkpoint contains U+{ord(bad.group()):04X} on line {note.count(chr(10), 0, bad.start()) + 1}: "
                     f"{what}, which a signed note may not")
    cut = note.rfind("\n\n")
    if cut < 0:
        raise Failed("the checkpoint is not a signed note: no blank line before the signatures")
    text, block = note[:cut + 1], note[cut + 2:]
    if not block.endswith("\n"):
        raise Failed("the checkpoint's last signature line does not end with a newline" if block
                     else "the checkpoint has no signature line")
    lines = block[:-1].split("\n")
    if len(lines) > MAX_SIGNATURE_LINES:
        raise Failed(f"the checkpoint has {len(lines)} signature lines (at most {MAX_SIGNATURE_LINES} accepted)")
    signed = 0
    for line in lines:
        if not line.startswith(EM_DASH):
            raise Failed(f"a line after the checkpoint's blank line is not a signature line: {line[:60]!r}")
        signer, _, b64 = line[len(EM_DASH):].partition(" ")
        if " " in b64:
            raise Failed(f"a signature line's key name contains a space: {line[:60]!r}")
        if name_problem(signer):
            raise Failed(f"a signature line's key name {name_problem(signer)}: {line[:60]!r}")
        try:
            raw = b64decode(b64)
        except ValueError:
            raise Failed(f"the signature by {signer} is not base64") from None
        if len(raw) < 5:
            raise Failed(f"the signature by {signer} is too short ({len(raw)} bytes)")
        if signer == name and raw[:4] == key_id:
            try:
                key.verify(raw[4:], text.encode())
            except InvalidSignature:
                raise Failed(f"the checkpoint's signature by {name} is invalid") from None
            signed += 1
    if not signed:
        raise Failed(f"the checkpoint carries no signature by the trusted key {name}")
    body = text[:-1].split("\n")
    if len(body) < 3:
        raise Failed("the checkpoint needs an origin line, a size line and a root line")
    log_origin, size_line, root_line, *extensions = body
    if not log_origin:
        raise Failed("the checkpoint's origin line is empty")
    if not SIZE.fullmatch(size_line) or int(size_line) >= 2**64:
        raise Failed(f"the checkpoint's size {size_line[:40]!r} is not a decimal number below 2^64 without leading zeros")
    try:
        root = b64decode(root_line)
    except ValueError:
        raise Failed(f"the checkpoint's root {root_line[:60]!r} is not base64") from None
    if len(root) != HASH:
        raise Failed(f"the checkpoint's root has {len(root)} bytes, not {HASH}")
    if "" in extensions:
        raise Failed("the checkpoint has an empty extension line")
    if origin is not None and log_origin != origin:
        raise Failed(f"the checkpoint is for log {log_origin!r}, not {origin!r}")
    return log_origin, int(size_line), root


class Vigil:
    def __init__(self, url: str, api_key: str | None) -> None:
        self.url, self.api_key = url.rstrip("/"), api_key

    def get(self, path: str, **params) -> object:
        query = urllib.parse.urlencode({k: v for k, v in params.items() if v is not None})
        request = urllib.request.Request(f"{self.url}{path}{'?' + query if query else ''}",
                                         headers={"Accept": "application/json"})
        if self.api_key:
            request.add_header("Authorization", f"Bearer {self.api_key}")
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return json.load(response)
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode("utf-8", "replace")[:300]
            raise Unusable(f"GET {path} answered HTTP {exc.code}: {detail}") from exc
        except (urllib.error.URLError, OSError) as exc:
            raise Unusable(f"cannot reach {self.url}: {exc}") from exc


def b64list(items: list[str]) -> list[bytes]:
    try:
        return [b64decode(x) for x in items]
    except ValueError as exc:
        raise Failed(f"the server sent a proof hash that is not base64 ({exc})") from None


def audit(vigil: Vigil, verifier, previous_note: str | None, check_leaves: bool, log=print) -> str:
    """Run every check; return the new signed note. Raises Failed or Unusable."""
    current = vigil.get("/v1/ledger/checkpoint")
    note = current.get("note") if isinstance(current, dict) else None
    if not isinstance(note, str):
        raise Failed("the server's checkpoint answer has no signed note")
    origin, size, root = open_checkpoint(note, verifier)
    log(f"checkpoint: {origin}, size {size}, root {root.hex()} (signature valid)")

    if size == 0 and root != EMPTY_ROOT:
        raise Failed("the checkpoint of size 0 does not carry the empty tree's root")

    if previous_note:
        _, old_size, old_root = open_checkpoint(previous_note, verifier, origin=origin)
        if size < old_size:
            raise Failed(f"the ledger shrank: the saved checkpoint has size {old_size}, the current one {size}")
        if old_size == 0:
            # Every tree extends the empty one: RFC 9162 defines no proof from size 0, so only its root is checked.
            if old_root != EMPTY_ROOT:
                raise Failed("the saved checkpoint of size 0 does not carry the empty tree's root")
            log("the saved checkpoint is of the empty ledger, which every ledger extends")
        else:
            proof = vigil.get("/v1/ledger/proof/consistency", first=old_size, second=size)
            if not verify_consistency(old_size, size, old_root, root, b64list(proof["proof"])):
                raise Failed(f"the current checkpoint (size {size}) is not consistent with the saved one "
                             f"(size {old_size}): the ledger was rewritten")
            log(f"consistent with the saved checkpoint of size {old_size}")

    if check_leaves:
        hashes = []
        while len(hashes) < size:
            page = vigil.get("/v1/ledger/leaves", start=len(hashes), end=min(size, len(hashes) + PAGE))
            if not page:
                raise Failed(f"the server has no leaf {len(hashes)}, but the checkpoint covers {size}")
            for leaf in page:
                if leaf["index"] != len(hashes):
                    raise Failed(f"expected leaf {len(hashes)}, the server sent leaf {leaf['index']}")
                h = leaf_hash(leaf["data"].encode("utf-8"))
                if b64list([leaf["leaf_hash"]]) != [h]:
                    raise Failed(f"leaf {leaf['index']}: its data does not hash to the leaf hash served")
                hashes.append(h)
                if len(hashes) == size:
                    break
        if merkle_root(hashes) != root:
            raise Failed(f"the {size} leaves served do not produce the signed root")
        for index in sorted({0, size // 2, size - 1} if size else set()):
            proof = vigil.get("/v1/ledger/proof/inclusion", index=index, size=size)
            if not verify_inclusion(index, size, hashes[index], b64list(proof["proof"]), root):
                raise Failed(f"the inclusion proof for leaf {index} does not verify")
        log(f"all {size} leaves rehashed; they produce the signed root; inclusion proofs verify")
    return note


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Audit a Vigil decision ledger over HTTP.")
    parser.add_argument("--url", required=True, help="Base URL of the Vigil service")
    parser.add_argument("--key", help="Trusted verifier key (from `vigil ledger key`), or a file holding it")
    parser.add_argument("--state", help="File with the checkpoint saved last time; updated on success")
    parser.add_argument("--api-key", default=os.environ.get("VIGIL_API_KEY"), help="Auditor API key (env VIGIL_API_KEY), for --leaves")
    parser.add_argument("--leaves", action="store_true", help="Download and rehash every leaf (needs an auditor key)")
    args = parser.parse_args(argv)
    vigil = Vigil(args.url, args.api_key)
    try:
        if args.key:
            text = open(args.key).read() if os.path.isfile(args.key) else args.key
        else:
            text = vigil.get("/v1/ledger/key")["verifier_key"]
            print(f"warning: trusting the key the server presents ({text}); pass --key to pin it", file=sys.stderr)
        verifier = parse_verifier(text)
        previous = None
        if args.state and os.path.exists(args.state):
            with open(args.state, encoding="utf-8", newline="") as f:  # as saved: no newline translation
                previous = f.read()
        note = audit(vigil, verifier, previous, args.leaves)
    except Unusable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except Failed as exc:
        print(f"FAILED: {exc}", file=sys.stderr)
        return 1
    if args.state:
        with open(args.state, "w", encoding="utf-8", newline="") as f:
            f.write(note)
    print("ledger verified")
    return 0


if __name__ == "__main__":
    sys.exit(main())
