"""Storage adapter: SQLAlchemy tables, engines and Alembic migrations (SQLite by default, PostgreSQL supported)."""
