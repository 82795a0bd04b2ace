"""POST /v1/check and /v1/check/batch: hash, match and read content in one call."""

from __future__ import annotations

import threading

from fastapi import APIRouter, FastAPI

router = APIRouter(tags=["check"])


class MatcherHolder:
    """One Matcher per process, built in the background at start so /readyz can say when it is loaded."""

    def __init__(self, db_url: str) -> None:
        self.db_url = db_url
        self.matcher = None
        self.error: str | None = None
        self._lock = threading.Lock()

    def get(self):
        if self.matcher is None:
            with self._lock:
                if self.matcher is None:
                    from vigil.match import Matcher

                    try:
                        matcher = Matcher(self.db_url)
                        matcher.refresh()
                    except Exception as exc:
                        self.error = f"failed: {type(exc).__name__}: {exc}"
                        raise
                    self.error = None
                    self.matcher = matcher
        return self.matcher

    def start(self) -> None:
        def build() -> None:
            try:
                self.get()
            except Exception:  # recorded in self.error; /readyz reports it and the next check retries
                pass

        threading.Thread(target=build, name="vigil-matcher-load", daemon=True).start()

    def state(self) -> str:
        if self.matcher is not None:
            return "ok"
        return self.error or "loading"


def holder(app: FastAPI) -> MatcherHolder:
    h = getattr(app.state, "matcher_holder", None)
    if h is None:
        h = app.state.matcher_holder = MatcherHolder(app.state.db_url)
    return h


def start_matcher(app: FastAPI) -> None:
    holder(app).start()


def matcher_state(app: FastAPI) -> str:
    return holder(app).state()


def index_stats(app: FastAPI) -> dict[str, int]:
    matcher = holder(app).matcher
    return dict(matcher.stats()) if matcher is not None else {}
