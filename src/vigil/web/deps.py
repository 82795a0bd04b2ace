"""Request-scoped dependencies: the process's runtime, and a Session that commits before the response goes out."""

from __future__ import annotations

from typing import Annotated, Iterator

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from vigil.runtime import Runtime
from vigil.web.metrics import Metrics


def runtime(request: Request) -> Runtime:
    """The runtime the app was built with (vigil.app.create_app)."""
    return request.app.state.runtime


def app_metrics(request: Request) -> Metrics:
    """The app's metrics (vigil.app.create_app makes them with the app)."""
    return request.app.state.metrics


def session(request: Request) -> Iterator[Session]:
    """A Session for one request: committed when the route returns, rolled back if it raises.

    Declared with scope="function" (see `DbSession`), so the commit happens before the response is sent:
    a client that got a 2xx knows the write is durable, and a failed commit becomes an error response
    instead of a lie.
    """
    s = runtime(request).db.sessions()
    try:
        yield s
        s.commit()
    except BaseException:
        s.rollback()
        raise
    finally:
        s.close()


DbSession = Annotated[Session, Depends(session, scope="function")]
CurrentRuntime = Annotated[Runtime, Depends(runtime)]
