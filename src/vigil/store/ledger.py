"""Tables for the Merkle decision ledger: leaves, stored node hashes, the head, and signed checkpoints.

Leaves are never updated or deleted. `ledger_nodes` keeps every completed perfect subtree hash
(level >= 1; level 0 is the leaf hash itself), so an append costs O(log n) and a proof or a root at
any earlier size is a handful of lookups. `ledger_head` is a single row holding the size and the
right-edge frontier; appenders lock it, which gives every leaf a unique, gap-free index even with
several writer processes.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from vigil.store.db import Base

HEAD_ID = 1


class LedgerHead(Base):
    __tablename__ = "ledger_head"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=False)
    size: Mapped[int] = mapped_column(sa.BigInteger)
    frontier: Mapped[bytes] = mapped_column(sa.LargeBinary)


class LedgerLeaf(Base):
    """One ledgered fact: canonical JSON (`data`) of a decision, appeal outcome, bank change, ..."""

    __tablename__ = "ledger_leaves"
    __table_args__ = (sa.Index("ix_ledger_leaves_ref", "ref_table", "ref_id"),)

    idx: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True, autoincrement=False)
    kind: Mapped[str] = mapped_column(sa.String(32))
    ref_table: Mapped[str] = mapped_column(sa.String(64))
    ref_id: Mapped[str] = mapped_column(sa.String(64))
    data: Mapped[str] = mapped_column(sa.Text)
    leaf_hash: Mapped[bytes] = mapped_column(sa.LargeBinary, index=True)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))


class LedgerNode(Base):
    """The hash of the perfect subtree covering leaves [idx * 2**level, (idx + 1) * 2**level)."""

    __tablename__ = "ledger_nodes"

    level: Mapped[int] = mapped_column(sa.SmallInteger, primary_key=True, autoincrement=False)
    idx: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True, autoincrement=False)
    hash: Mapped[bytes] = mapped_column(sa.LargeBinary)


class LedgerCheckpoint(Base):
    """A signed checkpoint (C2SP signed note) as it was published."""

    __tablename__ = "ledger_checkpoints"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    tree_size: Mapped[int] = mapped_column(sa.BigInteger, unique=True)
    root_hash: Mapped[bytes] = mapped_column(sa.LargeBinary)
    note: Mapped[str] = mapped_column(sa.Text)
    key_name: Mapped[str] = mapped_column(sa.String(200))
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
