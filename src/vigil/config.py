"""Where Vigil keeps its state: the database URL and the folder for local files (keys, indexes)."""

from __future__ import annotations

import os
from pathlib import Path

DATABASE_ENV = "VIGIL_DATABASE_URL"
HOME_ENV = "VIGIL_HOME"


def home_dir() -> Path:
    """The local state folder (./var by default): signing keys and index files live here, never in the DB."""
    path = Path(os.environ.get(HOME_ENV, "var"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def database_url(explicit: str | None = None) -> str:
    """`--db URL` wins, then VIGIL_DATABASE_URL, then a SQLite file under ./var/."""
    if explicit:
        return explicit
    env = os.environ.get(DATABASE_ENV)
    if env:
        return env
    return f"sqlite:///{home_dir() / 'vigil.db'}"
