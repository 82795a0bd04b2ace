"""The database: one `Database` (engine and sessions) per process, and migrations.

Every table module imports `Base` from here, so one metadata describes the whole schema and
Alembic migrations can be checked against it. A process builds its `Database` once (the runtime holds
it) and passes it down; nothing here is cached per URL.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from datetime import timezone
from pathlib import Path
from typing import Iterator

from sqlalchemy import DateTime, MetaData, create_engine, event
from sqlalchemy.dialects.sqlite import DATETIME as SQLITE_DATETIME
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def normalise_url(url: str) -> str:
    """Accept the URLs people type (postgresql://...) and use the psycopg 3 driver for them."""
    u = make_url(url)
    if u.drivername in ("postgresql", "postgres"):
        u = u.set(drivername="postgresql+psycopg")
    return u.render_as_string(hide_password=False)


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    cur = dbapi_conn.cursor()
    # WAL lets readers run beside one writer; FULL sync makes an acknowledged write durable.
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=FULL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


class _SQLiteUTCDateTime(SQLITE_DATETIME):
    """SQLite keeps no time zone. Vigil stores UTC, so timezone-aware columns come back aware, as on PostgreSQL."""

    def result_processor(self, dialect, coltype):
        parse = super().result_processor(dialect, coltype)
        if not self.timezone:
            return parse

        def process(value):
            value = parse(value) if parse is not None else value
            return value.replace(tzinfo=timezone.utc) if value is not None and value.tzinfo is None else value

        return process


PRIVATE_FILE_MODE = 0o600


def _sqlite_private(path: Path) -> None:
    """Create the database file readable by its owner only: it holds notifiers' names and e-mails, uploader ids
    and reported text. SQLite gives its -wal and -shm files the database file's permissions (findCreateFileMode
    in its unix VFS), so they follow."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, PRIVATE_FILE_MODE))


def make_engine(url: str) -> Engine:
    url = normalise_url(url)
    u = make_url(url)
    if u.get_backend_name() == "sqlite":
        if u.database and u.database != ":memory:":
            _sqlite_private(Path(u.database))
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        engine.dialect.colspecs = {**engine.dialect.colspecs, DateTime: _SQLiteUTCDateTime}
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)


def is_postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


class Database:
    """A database URL with its engine and session factory. Build one per process and share it."""

    def __init__(self, url: str) -> None:
        self.url = normalise_url(url)
        self.engine = make_engine(self.url)
        self.sessions = sessionmaker(bind=self.engine, expire_on_commit=False)

    @property
    def is_postgres(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A transaction: committed on success, rolled back on error."""
        session = self.sessions()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def upgrade(self, revision: str = "head") -> None:
        upgrade(self.url, revision)

    def dispose(self) -> None:
        self.engine.dispose()

    def __repr__(self) -> str:
        return f"Database({make_url(self.url).render_as_string(hide_password=True)!r})"


@contextmanager
def session_scope(url: str) -> Iterator[Session]:
    """One transaction on an engine of its own, disposed afterwards: for one-off scripts and tests.

    A long-lived process holds a `Database` instead (the pool is then shared by every request).
    """
    db = Database(url)
    try:
        with db.session() as session:
            yield session
    finally:
        db.dispose()


@contextmanager
def connect(url: str) -> Iterator[Connection]:
    """One connection (in a transaction, committed on success) on an engine of its own: for scripts and tests."""
    db = Database(url)
    try:
        with db.engine.begin() as conn:
            yield conn
    finally:
        db.dispose()


def alembic_config(url: str):
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    cfg.set_main_option("sqlalchemy.url", normalise_url(url).replace("%", "%%"))
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the database to the newest schema. Safe to call on every start."""
    from alembic import command

    command.upgrade(alembic_config(url), revision)


def load_all_tables() -> MetaData:
    """Import every table module so Base.metadata is complete (for migration checks)."""
    from vigil.store import tables  # noqa: F401

    return Base.metadata
