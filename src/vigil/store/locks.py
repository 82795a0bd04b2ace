"""Serialising writers that must not interleave: notice intake and bank changes.

PostgreSQL gets a transaction-scoped advisory lock (released at commit or rollback); SQLite has one writer
at a time anyway, and taking its write lock with the first statement makes every later read current.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from vigil.store.db import is_postgres

INTAKE = 0x5649_4749_4C01
"""Notice intake ("VIGIL" + 1): two batches never open two cases for the same content."""
BANK_CHANGES = 0x5647_4B01
"""Bank writers: change ids become visible in increasing order, so a reader at id 6 never skips a late 5."""


def hold(session: Session, key: int) -> None:
    """Hold the lock `key` until this transaction ends (PostgreSQL); SQLite's single writer needs none."""
    if is_postgres(session):
        session.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": key})


def hold_writer(session: Session, key: int, table: sa.Table) -> None:
    """Like `hold`, and on SQLite take the database's write lock now (waiting on busy_timeout), so everything
    read below is current until commit: a no-op UPDATE on `table` as the first write."""
    if is_postgres(session):
        hold(session, key)
    else:
        session.execute(sa.update(table).where(table.c.id == -1).values(id=table.c.id))


def allocate_ids(session: Session, table: sa.Table, n: int) -> list[int]:
    """Ids for `n` new rows in one round trip, so bulk inserts need no RETURNING (which would go row by row).

    On SQLite the caller must hold the write lock (`hold_writer`), so max(id) cannot move.
    """
    if n == 0:
        return []
    if is_postgres(session):
        return list(session.scalars(sa.text(f"SELECT nextval(pg_get_serial_sequence('{table.name}', 'id')) "
                                            "FROM generate_series(1, :n)"), {"n": n}))
    top = session.scalar(sa.select(sa.func.max(table.c.id))) or 0
    return list(range(top + 1, top + n + 1))
