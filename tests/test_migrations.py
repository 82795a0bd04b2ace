"""Alembic migrations build exactly the schema the table modules describe, on SQLite and PostgreSQL."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from vigil.store.db import connect, load_all_tables, upgrade


def test_migrations_match_models(fresh_db_url):
    upgrade(fresh_db_url)
    with connect(fresh_db_url) as conn:
        diff = compare_metadata(MigrationContext.configure(conn), load_all_tables())
    assert diff == [], f"migrations and table modules disagree: {diff}"


def test_upgrade_is_idempotent(fresh_db_url):
    upgrade(fresh_db_url)
    upgrade(fresh_db_url)
