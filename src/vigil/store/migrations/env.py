"""Alembic environment: runs migrations against the URL Vigil passes in."""

from alembic import context

from vigil.store.db import load_all_tables, make_engine

config = context.config
target_metadata = load_all_tables()


def run() -> None:
    url = config.get_main_option("sqlalchemy.url")
    engine = make_engine(url)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run()
