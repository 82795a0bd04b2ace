"""Tables for cases (filled in by its owner)."""

from vigil.store.db import Base  # noqa: F401
