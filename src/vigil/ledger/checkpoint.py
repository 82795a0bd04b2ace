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
"""

from __future__ import annotations

import base64
import hashlib
import os
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


def key_id(name: str, public_key: bytes) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + ALG_ED25519 + public_key).digest()[:4]


def _check_name(name: str) -> str:
    if not name or any(c.isspace() for c in name) or "+" in name:
        raise CheckpointError(f"key name {name!r} must be non-empty, without spaces or '+'")
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
        try:
            name, hex_id, b64 = text.strip().split("+", 2)
            raw = base64.b64decode(b64, validate=True)
        except ValueError as exc:
            raise CheckpointError(f"not a verifier key (<name>+<hex id>+<base64 key>): {text.strip()[:80]!r}") from exc
        if len(raw) != 33 or raw[:1] != ALG_ED25519:
            raise CheckpointError("verifier key is not an Ed25519 key")
        verifier = cls(name, raw[1:])
        if verifier.key_id.hex() != hex_id.lower():
            raise CheckpointError(f"verifier key id {hex_id} does not match its name and key")
        return verifier

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


def parse(note: str) -> tuple[Checkpoint, list[tuple[str, bytes, bytes]]]:
    """Split a signed note into its checkpoint and its signatures (name, key id, signature)."""
    text, sep, sigs = note.partition("\n\n")
    if not sep:
        raise CheckpointError("a signed note needs a blank line between the checkpoint and its signatures")
    lines = text.split("\n")
    if len(lines) < 3:
        raise CheckpointError("a checkpoint has an origin line, a size line and a root line")
    origin_line, size_line, root_line = lines[:3]
    if not size_line.isdigit() or (size_line != "0" and size_line.startswith("0")):
        raise CheckpointError(f"checkpoint size {size_line!r} is not a decimal number")
    try:
        root = base64.b64decode(root_line, validate=True)
    except ValueError as exc:
        raise CheckpointError("checkpoint root is not base64") from exc
    if len(root) != 32:
        raise CheckpointError("checkpoint root is not a SHA-256 hash")
    signatures = []
    for line in sigs.split("\n"):
        if not line:
            continue
        if not line.startswith(SIGNATURE_PREFIX):
            raise CheckpointError(f"not a signature line: {line[:80]!r}")
        name, _, b64 = line[len(SIGNATURE_PREFIX):].rpartition(" ")
        try:
            raw = base64.b64decode(b64, validate=True)
        except ValueError as exc:
            raise CheckpointError(f"signature of {name} is not base64") from exc
        if len(raw) < 5:
            raise CheckpointError(f"signature of {name} is too short")
        signatures.append((name, raw[:4], raw[4:]))
    return Checkpoint(origin_line, int(size_line), root, note), signatures


def open_note(note: str, verifiers: list[Verifier]) -> Checkpoint:
    """The checkpoint in `note` if a trusted key signed it; CheckpointError otherwise."""
    checkpoint, signatures = parse(note)
    signed_body = note.partition("\n\n")[0] + "\n"
    for name, kid, sig in signatures:
        for v in verifiers:
            if v.name == name and v.key_id == kid and v.verify(signed_body.encode(), sig):
                return checkpoint
    names = ", ".join(name for name, _, _ in signatures) or "nobody"
    raise CheckpointError(f"checkpoint of size {checkpoint.size} has no valid signature by a trusted key "
                          f"(signed by: {names}; trusted: {', '.join(v.name for v in verifiers) or 'none'})")


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
