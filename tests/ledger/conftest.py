"""Ledger fixtures: an isolated signing-key home and a small ledgered table of the tests' own."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from vigil.ledger import log
from vigil.store.db import Database, session_scope


class LedgerTestBase(DeclarativeBase):
    pass


class Thing(LedgerTestBase):
    """A decision-like row: ids and facts only, plus one free-text field kept out of the ledger."""

    __tablename__ = "ledger_test_things"
    __ledger_fields__ = ("id", "action", "content_ids", "automated", "decided_at")
    __ledger_pending__ = {"state": ("open",)}  # an open row is ledgered only once decided

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    action: Mapped[str] = mapped_column(sa.String(16))
    content_ids: Mapped[list] = mapped_column(sa.JSON)
    automated: Mapped[bool] = mapped_column(sa.Boolean)
    decided_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    note: Mapped[str] = mapped_column(sa.Text, default="")
    state: Mapped[str] = mapped_column(sa.String(16), default="decided", server_default="decided")


ORIGIN = "test.vigil/ledger"


@pytest.fixture(autouse=True)
def vigil_home(tmp_path, monkeypatch):
    """The state folder (the signing key's home) of this test; subprocesses and Settings() find it in the environment."""
    home = tmp_path / "home"
    monkeypatch.setenv("VIGIL_HOME", str(home))
    monkeypatch.setenv("VIGIL_LEDGER_ORIGIN", ORIGIN)
    return home


@pytest.fixture
def signer(vigil_home):
    """This installation's signing key, as the CLI and the service load it."""
    from vigil.ledger import checkpoint

    return checkpoint.load_signer(vigil_home, ORIGIN)


@pytest.fixture
def things_db(db_url):
    """A migrated database that also has the tests' ledgered table."""
    db = Database(db_url)
    LedgerTestBase.metadata.drop_all(db.engine)
    LedgerTestBase.metadata.create_all(db.engine)
    yield db_url
    LedgerTestBase.metadata.drop_all(db.engine)
    db.dispose()


@pytest.fixture
def thing():
    return Thing


@pytest.fixture
def add_things():
    return _add_things


def _add_things(db_url: str, n: int, start: int = 0) -> list[int]:
    """Insert n decision-like rows, each ledgered in its own transaction; return their leaf indexes."""
    indexes = []
    for i in range(start, start + n):
        with session_scope(db_url) as s:
            row = Thing(action="remove" if i % 3 else "label", content_ids=[f"c-{i}", f"c-{i}\\copy \"2\""],
                        automated=bool(i % 2), decided_at=datetime(2026, 1, 1, 12, 0, i % 60, 1234, tzinfo=timezone.utc),
                        note=f"free text {i}")
            s.add(row)
            s.flush()
            indexes.append(log.append_row(s, "decision", row))
    return indexes


def local_signer():
    """The signing key of the state folder the test's environment names (as `vigil ledger key` finds it)."""
    from vigil.ledger import checkpoint
    from vigil.settings import Settings

    settings = Settings()
    return checkpoint.load_signer(settings.home, settings.ledger_origin)
