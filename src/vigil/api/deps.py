"""Request-scoped dependencies: the database URL and a Session that commits before the response goes out."""

from __future__ import annotations

from contextlib import AsyncExitStack

from fastapi import Request
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from vigil.store.db import sessionmaker_for


def get_db_url(request: Request) -> str:
    return request.app.state.db_url


def get_session(request: Request) -> Session:
    """A Session for one request: committed when the route returns, rolled back if it raises.

    The commit happens before the response is sent, so a client that got a 2xx knows the write is
    durable, and a failed commit becomes an error response instead of a lie. FastAPI runs the exit
    of a `yield` dependency after the response by default; registering on the per-function exit
    stack (what `Depends(..., scope="function")` uses) gives the right order even when callers
    write a plain `Depends(get_session)`.
    """
    session = sessionmaker_for(request.app.state.db_url)()
    stack: AsyncExitStack = request.scope["fastapi_function_astack"]

    async def finish(exc_type, exc, tb) -> bool:
        try:
            if exc_type is None:
                await run_in_threadpool(session.commit)
            else:
                await run_in_threadpool(session.rollback)
        finally:
            await run_in_threadpool(session.close)
        return False

    stack.push_async_exit(finish)
    return session
