"""Signed checkpoints: the ledger's size and root in the C2SP signed-note format, signed with Ed25519.

A checkpoint is what an outsider keeps. Once they hold one, the operator cannot rewrite any leaf
below its size without the change showing in a consistency proof. The signing key lives in a file
under Vigil's home folder (never in the database), so whoever can edit the database still cannot
sign a rewritten history.

Format (c2sp.org/tlog-checkpoint, c2sp.org/signed-note):

    <origin>
    <tree size>
    <base64 root hash>
                                                    (blank line)
    — <key name> <base64(key id[4] || Ed25519 signature)>

Verification is strict: a note the specifications call malformed is refused with a message naming the
problem, whoever signed it (see `split_note`, `parse_text` and `open_note`).
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy.orm import Session

from vigil.clock import now
from vigil.errors import InvalidInput
from vigil.ledger import log
from vigil.store.db import Database
from vigil.store.ledger import LedgerCheckpoint

DEFAULT_ORIGIN = "vigil.local/ledger"
KEY_FILE = "ledger-signing-key.pem"
ALG_ED25519 = b"\x01"  # signed-note signature type for Ed25519 (c2sp.org/signed-note)
SIGNATURE_PREFIX = "\u2014 "  # an em dash and a space start every signature line


class CheckpointError(InvalidInput):
    """A note that is malformed, or not signed by a trusted key."""


MAX_SIGNATURES = 100  # c2sp.org/signed-note: SHOULD limit, MUST take 16; 100 as golang.org/x/mod/sumdb/note
MAX_TREE_SIZE = 2**64 - 1  # tree sizes are uint64 in every reference implementation
HASH_SIZE = 32  # an RFC 6962 root: SHA-256
# Unicode White_Space: none may appear in a key name (c2sp.org/signed-note), as Go's unicode.IsSpace
_SPACES = frozenset("\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
                    "\u2028\u2029\u202f\u205f\u3000")
_BASE64 = re.compile(r"(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?")  # RFC 4648 section 4, padded
_DECIMAL = re.compile(r"0|[1-9][0-9]*")  # ASCII digits, no leading zero
_HEX_ID = re.compile(r"[0-9a-fA-F]{8}")
_FORBIDDEN = re.compile("[\x00-\x09\x0b-\x1f\ud800-\udfff]")  # control characters but newline; lone surrogates


def _b64decode(text: str) -> bytes:
    """Standard, padded base64 and nothing else (no whitespace, no excess padding); ValueError otherwise."""
    if not _BASE64.fullmatch(text):
        raise ValueError("not standard base64")
    return base64.b64decode(text)


def _char(c: str) -> str:
    names = {"\r": " (carriage return: CRLF line endings?)", "\t": " (tab)", "\x00": " (NUL)"}
    return f"U+{ord(c):04X}{names.get(c, '')}"


def key_id(name: str, public_key: bytes) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + ALG_ED25519 + public_key).digest()[:4]


def _name_problem(name: str) -> str | None:
    if not name:
        return "is empty"
    for c in name:
        if c in _SPACES or c.isspace():
            return f"contains a space ({_char(c)})"
    if "+" in name:
        return "contains '+'"
    if any("\ud800" <= c <= "\udfff" for c in name):
        return "is not valid UTF-8"
    return None


def _check_name(name: str) -> str:
    problem = _name_problem(name)
    if problem:
        raise CheckpointError(f"key name {name!r} {problem}: key names must be non-empty, without spaces or '+'")
    return name


class Verifier:
    """A public key and its name: `<name>+<hex key id>+<base64(0x01 || public key)>` as a string."""

    def __init__(self, name: str, public_key: bytes) -> None:
        self.name = _check_name(name)
        self.public_key = public_key
        self.key_id = key_id(name, public_key)
        self._key = Ed25519PublicKey.from_public_bytes(public_key)

    @classmethod
    def parse(cls, text: str) -> Verifier:
        """A verifier key as c2sp.org/signed-note writes it; surrounding whitespace (a file's newline) is ignored."""
        shown = text.strip()[:80]
        parts = text.strip().split("+", 2)
        if len(parts) != 3:
            raise CheckpointError(f"not a verifier key (<name>+<hex id>+<base64 key>): {shown!r}")
        name, hex_id, b64 = parts
        problem = _name_problem(name)
        if problem:
            raise CheckpointError(f"verifier key {shown!r}: its name {problem}")
        if not _HEX_ID.fullmatch(hex_id):
            raise CheckpointError(f"verifier key {shown!r}: the key id {hex_id!r} is not 8 hex digits")
        try:
            raw = _b64decode(b64)
        except ValueError:
            raise CheckpointError(f"verifier key {shown!r}: the key is not base64") from None
        if raw[:1] != ALG_ED25519:
            raise CheckpointError(f"verifier key {shown!r} is not an Ed25519 key (signature type "
                                  f"{raw[:1].hex() or 'missing'}, expected 01)")
        if len(raw) != 33:
            raise CheckpointError(f"verifier key {shown!r}: an Ed25519 key has 32 bytes, this one {len(raw) - 1}")
        if key_id(name, raw[1:]).hex() != hex_id.lower():
            raise CheckpointError(f"verifier key id {hex_id} does not match its name and key")
        try:
            return cls(name, raw[1:])
        except ValueError:
            raise CheckpointError(f"verifier key {shown!r} is not a valid Ed25519 public key") from None

    def __str__(self) -> str:
        return f"{self.name}+{self.key_id.hex()}+{base64.b64encode(ALG_ED25519 + self.public_key).decode()}"

    def verify(self, body: bytes, signature: bytes) -> bool:
        try:
            self._key.verify(signature, body)
        except InvalidSignature:
            return False
        return True


class Signer:
    def __init__(self, name: str, private_key: Ed25519PrivateKey) -> None:
        self.name = _check_name(name)
        self._key = private_key
        raw = private_key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        self.verifier = Verifier(name, raw)

    def sign(self, body: str) -> str:
        """The signed note: body, blank line, one signature line."""
        sig = self.verifier.key_id + self._key.sign(body.encode())
        return f"{body}\n{SIGNATURE_PREFIX}{self.name} {base64.b64encode(sig).decode()}\n"


def key_path(home: Path) -> Path:
    return home / KEY_FILE


def load_signer(home: Path, name: str = DEFAULT_ORIGIN, create: bool = True) -> Signer:
    """The ledger's signing key, generated on first use as a 0600 file outside the database."""
    path = key_path(home)
    if not path.exists():
        if not create:
            raise CheckpointError(f"no ledger signing key at {path}")
        pem = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(pem)
            f.flush()
            os.fsync(f.fileno())
        try:
            os.link(tmp, path)  # atomic and never overwrites: two first uses agree on one key
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (ValueError, TypeError) as exc:
        raise CheckpointError(f"{path} is not a readable private key ({exc}); restore it from backup") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise CheckpointError(f"{path} does not hold an Ed25519 private key")
    return Signer(name, key)


def local_verifier(home: Path, name: str = DEFAULT_ORIGIN) -> Verifier | None:
    """The verifier key of this installation's signing key, if it exists."""
    if not key_path(home).exists():
        return None
    return load_signer(home, name, create=False).verifier


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes
    note: str


def body(origin_line: str, size: int, root: bytes) -> str:
    return f"{origin_line}\n{size}\n{base64.b64encode(root).decode()}\n"


@dataclass(frozen=True)
class Signature:
    """One signature line of a signed note: the key name, the 4-byte key id and the signature proper."""

    name: str
    key_id: bytes
    signature: bytes

    def __str__(self) -> str:
        return f"{self.name}+{self.key_id.hex()}"


@dataclass(frozen=True)
class SignedNote:
    """A note split by c2sp.org/signed-note: the text (final newline included) and its signature lines."""

    text: str
    signatures: tuple[Signature, ...]


def _as_text(note: str | bytes) -> str:
    if isinstance(note, (bytes, bytearray)):
        try:
            return bytes(note).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise CheckpointError(f"the note is not valid UTF-8 (byte {exc.start})") from None
    if not isinstance(note, str):
        raise CheckpointError(f"a note is text, not {type(note).__name__}")
    return note


def split_note(note: str | bytes) -> SignedNote:
    """Check everything c2sp.org/signed-note asks of a note's form and split it; no signature is checked.

    The note must be UTF-8 without control characters other than newline; its text ends in a newline and is
    followed by a blank line and 1 to MAX_SIGNATURES lines `— <name> <base64(key id || signature)>`, each
    ending in a newline, with nothing after them. The last blank line separates text and signatures.
    """
    note = _as_text(note)
    bad = _FORBIDDEN.search(note)
    if bad:
        c, number = bad.group(), note.count("\n", 0, bad.start()) + 1
        if c >= "\ud800":
            raise CheckpointError(f"line {number} is not valid UTF-8 (a lone surrogate U+{ord(c):04X})")
        raise CheckpointError(f"line {number} contains the control character {_char(c)}; "
                              "a signed note may contain no control character but newline")
    split = note.rfind("\n\n")
    if split < 0:
        raise CheckpointError("the note has no blank line between its text and its signatures")
    text, block = note[:split + 1], note[split + 2:]
    if not block:
        raise CheckpointError("the note has no signature line after its blank line")
    if not block.endswith("\n"):
        raise CheckpointError("the last signature line does not end with a newline")
    lines = block[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise CheckpointError(f"the note has {len(lines)} signature lines; at most {MAX_SIGNATURES} are accepted")
    first = text.count("\n") + 2  # the note's line number of the first signature line
    signatures = []
    for number, line in enumerate(lines, first):
        if not line.startswith(SIGNATURE_PREFIX):
            raise CheckpointError(f"line {number} follows the blank line but is not a signature line "
                                  f"('\u2014 <key name> <signature>'): {line[:60]!r}")
        rest = line[len(SIGNATURE_PREFIX):]
        name, space, b64 = rest.partition(" ")
        if not space:
            raise CheckpointError(f"signature line {number} has no signature after the key name: {line[:60]!r}")
        if " " in b64:
            raise CheckpointError(f"signature line {number}: key name {rest.rpartition(' ')[0][:60]!r} contains "
                                  "a space; key names must not")
        problem = _name_problem(name)
        if problem:
            raise CheckpointError(f"signature line {number}: key name {name[:60]!r} {problem}")
        try:
            raw = _b64decode(b64)
        except ValueError:
            raise CheckpointError(f"signature line {number}: the signature by {name} is not base64") from None
        if len(raw) < 5:
            raise CheckpointError(f"signature line {number}: the signature by {name} has {len(raw)} bytes; "
                                  "it needs a 4-byte key id and a signature")
        signatures.append(Signature(name, raw[:4], raw[4:]))
    return SignedNote(text, tuple(signatures))


def parse_text(text: str) -> tuple[str, int, bytes, tuple[str, ...]]:
    """(origin, tree size, root, extension lines) of a checkpoint's note text (c2sp.org/tlog-checkpoint).

    The text ends in a newline; its lines are the origin (non-empty), the tree size (ASCII decimal, no leading
    zero, below 2^64), the root (base64 of 32 bytes) and any extension lines, none of them empty.
    """
    if not text.endswith("\n"):
        raise CheckpointError("the checkpoint text does not end with a newline")
    lines = text[:-1].split("\n")
    if len(lines) < 3:
        raise CheckpointError("a checkpoint has an origin line, a size line and a root line")
    origin_line, size_line, root_line, *extensions = lines
    if not origin_line:
        raise CheckpointError("the checkpoint's origin line is empty")
    if not _DECIMAL.fullmatch(size_line):
        why = ("has a leading zero" if size_line[:1] == "0" and size_line.isascii() and size_line.isdigit()
               else "is not ASCII decimal digits")
        raise CheckpointError(f"checkpoint size {size_line[:40]!r} {why}")
    size = int(size_line)
    if size > MAX_TREE_SIZE:
        raise CheckpointError(f"checkpoint size {size_line[:40]} is too large (2^64 or more)")
    try:
        root = _b64decode(root_line)
    except ValueError:
        raise CheckpointError(f"checkpoint root {root_line[:60]!r} is not base64") from None
    if len(root) != HASH_SIZE:
        raise CheckpointError(f"checkpoint root has {len(root)} bytes; a SHA-256 Merkle root has {HASH_SIZE}")
    for number, line in enumerate(extensions, 4):
        if not line:
            raise CheckpointError(f"line {number} of the checkpoint is empty; extension lines must not be")
    return origin_line, size, root, tuple(extensions)


def parse(note: str | bytes) -> tuple[Checkpoint, list[tuple[str, bytes, bytes]]]:
    """Split a signed note into its checkpoint and its signatures (name, key id, signature); nothing verified.

    Raises CheckpointError for anything c2sp.org/signed-note or c2sp.org/tlog-checkpoint calls malformed.
    """
    note = _as_text(note)
    split = split_note(note)
    origin_line, size, root, _ = parse_text(split.text)
    return Checkpoint(origin_line, size, root, note), [(s.name, s.key_id, s.signature) for s in split.signatures]


def _verified(split: SignedNote, verifiers: list[Verifier]) -> list[Signature]:
    signed = split.text.encode()
    verified: list[Signature] = []
    for sig in split.signatures:
        matching = [v for v in verifiers if v.name == sig.name and v.key_id == sig.key_id]
        if len(matching) > 1:
            raise CheckpointError(f"ambiguous key {sig}: {len(matching)} trusted keys have that name and key id")
        if not matching:
            continue  # an unknown key (name or key id), to be ignored
        if not matching[0].verify(signed, sig.signature):
            raise CheckpointError(f"the signature by trusted key {sig} does not verify: the note was altered "
                                  "or the signature is corrupt")
        if sig not in verified:
            verified.append(sig)
    if not verified:
        names = ", ".join(dict.fromkeys(s.name for s in split.signatures))
        raise CheckpointError(f"the note has no valid signature by a trusted key "
                              f"(signed by: {names}; trusted: {', '.join(v.name for v in verifiers) or 'none'})")
    return verified


def open_signed(note: str | bytes, verifiers: list[Verifier]) -> tuple[SignedNote, list[Signature]]:
    """The note and the signatures on it by trusted keys, all of which verify (c2sp.org/signed-note).

    Signatures by unknown keys (name or key id unknown) are ignored. Every signature whose name and key id
    match a trusted key is checked, and one that fails rejects the whole note, even beside a valid one.
    A note without a valid signature by a trusted key is rejected, and so is one whose signature names a
    key that two trusted keys share.
    """
    split = split_note(note)
    return split, _verified(split, verifiers)


def open_note(note: str | bytes, verifiers: list[Verifier], expected_origin: str | None = None) -> Checkpoint:
    """The checkpoint in `note` if it is well-formed and a trusted key signed it; CheckpointError otherwise.

    The signatures are checked before the text is read. With `expected_origin`, a checkpoint of another log
    (another origin line) is refused too.
    """
    note = _as_text(note)
    split = split_note(note)
    _verified(split, verifiers)
    origin_line, size, root, _ = parse_text(split.text)
    if expected_origin is not None and origin_line != expected_origin:
        raise CheckpointError(f"the checkpoint's origin is {origin_line!r}, not the expected {expected_origin!r}")
    return Checkpoint(origin_line, size, root, note)


def publish(session: Session, signer: Signer) -> LedgerCheckpoint:
    """Sign the current head, unless the latest checkpoint already covers it. Holds the append lock."""
    frontier = log.lock_head(session)
    latest = latest_checkpoint(session)
    if latest is not None and latest.tree_size == frontier.size:
        return latest
    root = frontier.root()
    row = LedgerCheckpoint(tree_size=frontier.size, root_hash=root, note=signer.sign(body(signer.name, frontier.size, root)),
                           key_name=signer.name, created_at=now())
    session.add(row)
    session.flush()
    return row


def latest_checkpoint(session: Session) -> LedgerCheckpoint | None:
    return session.scalars(sa.select(LedgerCheckpoint).order_by(LedgerCheckpoint.tree_size.desc()).limit(1)).first()


def publish_if_due(db: Database, signer: Signer | None, interval: float, *, home: Path | None = None,
                   name: str = DEFAULT_ORIGIN) -> LedgerCheckpoint | None:
    """Publish when the ledger grew and the last checkpoint is older than `interval` seconds.

    `signer=None` loads the key from `home` only when there is something to sign (the service runs this
    every `checkpoint_interval` seconds, vigil.runtime).
    """
    with db.session() as s:
        size = log.size(s)
        latest = latest_checkpoint(s)
        if size == 0 or (latest is not None and latest.tree_size == size):
            return None
        if latest is not None and now() - latest.created_at < timedelta(seconds=interval):
            return None
        if signer is None:
            if home is None:
                raise CheckpointError("no signer and no home folder to load the signing key from")
            signer = load_signer(home, name)
        return publish(s, signer)
