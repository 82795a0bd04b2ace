"""Shared fixtures: a clean, migrated database per test, on SQLite or PostgreSQL.

`VIGIL_TEST_DB=sqlite|postgresql` picks the backend (make test runs the suite on both).
PostgreSQL is reached at VIGIL_TEST_PG (default postgresql://postgres@127.0.0.1:5432/postgres).
"""

from __future__ import annotations

import os
import shutil
import uuid

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
# Tests drive webhook delivery themselves; the one test of the service's own delivery turns it on.
os.environ.setdefault("VIGIL_OUTBOX_WORKER", "off")
os.environ.setdefault("VIGIL_RETENTION_SWEEP", "off")  # on in one test; elsewhere it would race the tests' clocks

BACKEND = os.environ.get("VIGIL_TEST_DB", "sqlite")
PG_ADMIN = os.environ.get("VIGIL_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


def _pg_url(dbname: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(PG_ADMIN).set(database=dbname).render_as_string(hide_password=False)


def _pg_admin_exec(sql: str) -> None:
    import psycopg
    from sqlalchemy.engine import make_url

    u = make_url(PG_ADMIN)
    with psycopg.connect(
        host=u.host or "127.0.0.1", port=u.port or 5432, user=u.username or "postgres",
        password=u.password, dbname=u.database or "postgres", autocommit=True,
    ) as conn:
        conn.execute(sql)


@pytest.fixture(scope="session")
def _template_db(tmp_path_factory):
    """Migrate once per session; each test then gets a fresh copy (SQLite) or truncated tables (PostgreSQL)."""
    from vigil.store.db import upgrade

    if BACKEND == "sqlite":
        path = tmp_path_factory.mktemp("template") / "template.db"
        url = f"sqlite:///{path}"
        upgrade(url)
        yield url
        return
    name = f"vigil_test_{uuid.uuid4().hex[:10]}"
    _pg_admin_exec(f'CREATE DATABASE "{name}"')
    url = _pg_url(name)
    upgrade(url)
    yield url
    _pg_admin_exec(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def db_url(_template_db, tmp_path) -> str:
    """A migrated, empty database for one test."""
    if BACKEND == "sqlite":
        src = _template_db.removeprefix("sqlite:///")
        dst = tmp_path / "vigil.db"
        shutil.copyfile(src, dst)
        return f"sqlite:///{dst}"
    from sqlalchemy import text

    from vigil.store.db import Database, load_all_tables

    tables = [t.name for t in load_all_tables().sorted_tables if t.name != "alembic_version"]
    if tables:
        db = Database(_template_db)
        with db.engine.begin() as conn:
            conn.execute(text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE"))
        db.dispose()
    return _template_db


@pytest.fixture
def fresh_db_url(tmp_path) -> str:
    """An empty, unmigrated database (for migration tests and subprocesses that migrate themselves)."""
    if BACKEND == "sqlite":
        yield f"sqlite:///{tmp_path / 'fresh.db'}"
        return
    name = f"vigil_fresh_{uuid.uuid4().hex[:10]}"
    _pg_admin_exec(f'CREATE DATABASE "{name}"')
    yield _pg_url(name)
    _pg_admin_exec(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def make_runtime(db_url, tmp_path):
    """Build a runtime (settings from the environment, these on top), closed after the test.

    By default: the test's database, a state folder in the test's tmp_path, and no rate limit.
    """
    from vigil.runtime import Runtime
    from vigil.settings import Settings

    made = []

    def build(url: str | None = None, **overrides):
        settings = Settings(**{"database_url": url or db_url, "home": tmp_path / "home", "rate_limit": "off",
                               **overrides})
        made.append(Runtime.build(settings))
        return made[-1]

    yield build
    for rt in made:
        rt.close()


@pytest.fixture
def runtime(make_runtime):
    return make_runtime()


@pytest.fixture
def make_app(make_runtime):
    """The HTTP service over a fresh runtime (see make_runtime); `start=False` leaves its loops off."""
    from vigil.app import create_app

    def build(url: str | None = None, *, start: bool = True, **overrides):
        return create_app(make_runtime(url, **overrides), start=start)

    return build
