"""Set-based SQL: many rows in one statement, many keys in one lookup, and one way to cut a list into chunks.

PostgreSQL gets inserts, updates and key lists as one JSON parameter: an executemany INSERT costs a
round trip per row even when pipelined, and an IN list of thousands of bound parameters costs more to
compile than to run. SQLite runs in-process, where executemany and IN are already cheap.
"""

from __future__ import annotations

from typing import Iterable, Iterator, Sequence, TypeVar

import orjson
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSON
from sqlalchemy.orm import Session

from vigil.store.db import is_postgres

T = TypeVar("T")


def insert_rows(session: Session, table: sa.Table, rows: list[dict]) -> None:
    """Insert `rows` (dicts with the same keys) inside the session's transaction."""
    if not rows:
        return
    if not is_postgres(session):
        session.execute(sa.insert(table), rows)
        return
    # One JSON document, expanded into rows by the server: far less Python work per row than COPY or executemany.
    cols = ", ".join(f'"{c}"' for c in rows[0])
    picked = ", ".join(f'v."{c}"' for c in rows[0])
    session.execute(sa.text(f'INSERT INTO "{table.name}" ({cols}) SELECT {picked} '
                            f'FROM json_populate_recordset(NULL::"{table.name}", CAST(:rows AS json)) AS v'),
                    {"rows": _json(rows)})


def _json(value) -> str:
    """orjson writes datetimes as RFC 3339, which PostgreSQL reads back exactly."""
    return orjson.dumps(value).decode()


def one_of(session: Session, column: sa.ColumnElement, values: Sequence) -> sa.ColumnElement[bool]:
    """`column IN values`, as one JSON parameter on PostgreSQL (a bound list of thousands is slow to compile and dump)."""
    if is_postgres(session):
        elements = sa.func.json_array_elements_text(sa.cast(sa.bindparam(None, _json(list(values)), type_=sa.Text), JSON))
        return column.in_(sa.select(sa.cast(elements, column.type)).scalar_subquery())
    return column.in_(list(values))


def chunks(items: Iterable[T], n: int) -> Iterator[list[T]]:
    """Consecutive lists of at most `n` items (the last may be shorter); works on any iterable, lazily."""
    batch: list[T] = []
    for item in items:
        batch.append(item)
        if len(batch) == n:
            yield batch
            batch = []
    if batch:
        yield batch


def update_rows(session: Session, table: sa.Table, rows: list[dict]) -> None:
    """Update rows by "id" (each dict has "id" and the same other keys): one UPDATE ... FROM json_to_recordset on PostgreSQL."""
    if not rows:
        return
    cols = [c for c in rows[0] if c != "id"]
    if not is_postgres(session):
        session.execute(table.update().where(table.c.id == sa.bindparam("row_id")).values(
            {c: sa.bindparam(c) for c in cols}), [{"row_id": r["id"], **{c: r[c] for c in cols}} for r in rows])
        return
    dialect = session.get_bind().dialect
    types = ", ".join(f'"{c}" {table.c[c].type.compile(dialect)}' for c in ["id", *cols])
    sets = ", ".join(f'"{c}" = v."{c}"' for c in cols)
    session.execute(sa.text(f'UPDATE "{table.name}" SET {sets} FROM json_to_recordset(CAST(:rows AS json)) AS v({types}) '
                            f'WHERE "{table.name}".id = v.id'),
                    {"rows": _json(rows)})
