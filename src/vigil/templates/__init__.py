"""The HTML templates shared by the console and the transparency report, and the one Jinja2 environment
that renders them (autoescaping on): `_bars.html` draws the charts of vigil.charts for both."""

from __future__ import annotations

from pathlib import Path

import jinja2
from starlette.templating import Jinja2Templates

HERE = Path(__file__).parent


def jinja(*folders: Path) -> jinja2.Environment:
    """An environment that finds templates in `folders` first, then the shared ones here."""
    return jinja2.Environment(loader=jinja2.FileSystemLoader([*map(str, folders), str(HERE)]),
                              autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
                              )


def environment(*folders: Path) -> Jinja2Templates:
    """The console's templates (Starlette's wrapper over `jinja`)."""
    return Jinja2Templates(env=jinja(*folders))
