"""The ledger for outside auditors: signed checkpoints, inclusion and consistency proofs, and the leaves.

The service also publishes checkpoints periodically (the runtime's checkpoints loop, vigil.runtime).
Checkpoints, proofs and the verifier key are public: a checkpoint is meant to be checked by anyone,
and a proof only reveals hashes. Leaves (content ids and decision facts) need an auditor key.
Hashes are standard base64, as in the checkpoint note and RFC 6962's get-proof-by-hash.
"""

from __future__ import annotations

import base64
import binascii
from datetime import datetime

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel
from sqlalchemy.orm import Session

from vigil.api.auth import public, require
from vigil.errors import InvalidInput, NotFound
from vigil.ledger import checkpoint, log
from vigil.roles import Permission
from vigil.store.ledger import LedgerCheckpoint
from vigil.web.deps import CurrentRuntime, DbSession



router = APIRouter(prefix="/v1/ledger", tags=["ledger"])

MAX_LEAVES_PER_PAGE = 1000
MAX_INDEX = 2**62  # indexes are 64-bit in the database; larger numbers are refused as input errors


class CheckpointOut(BaseModel):
    origin: str
    tree_size: int
    root_hash: str
    note: str
    created_at: datetime


class VerifierKeyOut(BaseModel):
    name: str
    verifier_key: str


class InclusionOut(BaseModel):
    leaf_index: int
    tree_size: int
    leaf_hash: str
    root_hash: str
    proof: list[str]


class ConsistencyOut(BaseModel):
    first: int
    second: int
    first_root: str
    second_root: str
    proof: list[str]


class LeafOut(BaseModel):
    index: int
    kind: str
    ref_table: str
    ref_id: str
    data: str
    leaf_hash: str
    created_at: datetime


def _b64(h: bytes) -> str:
    return base64.b64encode(h).decode()


def _checkpoint_out(row: LedgerCheckpoint) -> CheckpointOut:
    return CheckpointOut(origin=row.key_name, tree_size=row.tree_size, root_hash=_b64(row.root_hash),
                         note=row.note, created_at=row.created_at)


def _default_size(session: Session, size: int | None) -> int:
    if size is not None:
        return size
    latest = checkpoint.latest_checkpoint(session)
    if latest is None:
        raise NotFound("No checkpoint has been published yet; give the tree size explicitly, "
                       "or publish one with `vigil ledger checkpoint`.", code="no_checkpoint")
    return latest.tree_size


def _ledger_error(exc: log.LedgerError, field: str) -> InvalidInput:
    return InvalidInput(str(exc), code="invalid", field=field)


@router.get("/checkpoint", response_model=CheckpointOut, summary="The latest signed checkpoint (public)",
            dependencies=[Depends(public)])
def get_checkpoint(session: DbSession) -> CheckpointOut:
    latest = checkpoint.latest_checkpoint(session)
    if latest is None:
        raise NotFound("No checkpoint has been published yet; POST /v1/ledger/checkpoint "
                       "or run `vigil ledger checkpoint`.", code="no_checkpoint")
    return _checkpoint_out(latest)


@router.post("/checkpoint", response_model=CheckpointOut, summary="Sign and publish a checkpoint of the current ledger",
             dependencies=[Depends(require(Permission.AUDIT))])
def post_checkpoint(session: DbSession, rt: CurrentRuntime) -> CheckpointOut:
    return _checkpoint_out(checkpoint.publish(session, rt.signer()))


@router.get("/key", response_model=VerifierKeyOut, summary="The verifier key that checks checkpoint signatures (public)",
            dependencies=[Depends(public)])
def get_key(rt: CurrentRuntime) -> VerifierKeyOut:
    signer = rt.signer()
    return VerifierKeyOut(name=signer.name, verifier_key=str(signer.verifier))


@router.get("/proof/inclusion", response_model=InclusionOut, summary="Proof that a leaf is in the tree of a given size (public)",
            dependencies=[Depends(public)])
def get_inclusion(session: DbSession, index: int | None = Query(None, ge=0, le=MAX_INDEX, description="Leaf index; or give leaf_hash"),
                  leaf_hash: str | None = Query(None, description="Leaf hash, base64 or hex"),
                  size: int | None = Query(None, ge=1, le=MAX_INDEX, description="Tree size; default: the latest checkpoint's")) -> InclusionOut:
    if (index is None) == (leaf_hash is None):
        raise InvalidInput("Give exactly one of index or leaf_hash.", code="invalid", field="index")
    if leaf_hash is not None:
        leaf = log.find_leaf(session, _parse_hash(leaf_hash))
        if leaf is None:
            raise NotFound("No leaf has this hash.", field="leaf_hash")
        index = leaf.idx
    tree_size = _default_size(session, size)
    try:
        proof = log.inclusion_proof(session, index, tree_size)
        root = log.root_at(session, tree_size)
        (found,) = log.leaves(session, index, index + 1)
    except log.LedgerError as exc:
        raise _ledger_error(exc, "size") from exc
    return InclusionOut(leaf_index=index, tree_size=tree_size, leaf_hash=_b64(found.leaf_hash), root_hash=_b64(root),
                        proof=[_b64(h) for h in proof])


@router.get("/proof/consistency", response_model=ConsistencyOut, summary="Proof that a smaller tree is a prefix of a larger one (public)",
            dependencies=[Depends(public)])
def get_consistency(session: DbSession, first: int = Query(..., ge=0, le=MAX_INDEX), second: int | None = Query(None, ge=0, le=MAX_INDEX, description="Default: the latest checkpoint's size")) -> ConsistencyOut:
    second = _default_size(session, second)
    try:
        proof = log.consistency_proof(session, first, second)
        roots = log.root_at(session, first), log.root_at(session, second)
    except log.LedgerError as exc:
        raise _ledger_error(exc, "first") from exc
    return ConsistencyOut(first=first, second=second, first_root=_b64(roots[0]), second_root=_b64(roots[1]),
                          proof=[_b64(h) for h in proof])


@router.get("/leaves", response_model=list[LeafOut], summary="Leaves [start, end) with their data (auditors)",
            dependencies=[Depends(require(Permission.AUDIT))])
def get_leaves(session: DbSession, start: int = Query(0, ge=0, le=MAX_INDEX), end: int | None = Query(None, ge=0, le=MAX_INDEX)) -> list[LeafOut]:
    end = min(end if end is not None else start + MAX_LEAVES_PER_PAGE, start + MAX_LEAVES_PER_PAGE)
    if end < start:
        raise InvalidInput(f"end ({end}) must not be before start ({start}).", code="invalid", field="end")
    return [LeafOut(index=row.idx, kind=row.kind, ref_table=row.ref_table, ref_id=row.ref_id, data=row.data,
                    leaf_hash=_b64(row.leaf_hash), created_at=row.created_at)
            for row in log.leaves(session, start, end)]


def _parse_hash(text: str) -> bytes:
    text = text.replace(" ", "+")  # a '+' in base64 arrives as a space when the client did not escape it
    try:
        raw = bytes.fromhex(text) if len(text) == 64 else base64.b64decode(text, validate=True)
    except (ValueError, binascii.Error):
        raw = b""
    if len(raw) != 32:
        raise InvalidInput("leaf_hash must be a SHA-256 hash in hex or base64.", code="invalid", field="leaf_hash")
    return raw
