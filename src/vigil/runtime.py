"""The runtime: everything one Vigil process holds, built once at start and passed down explicitly.

It holds the settings, the database (engine and sessions), the operator's case policy, the matcher and
the text detector (built in the background by a service, on first use by the CLI), the near-duplicate
index of intake, the rate limiter, the API-key cache (vigil.keys.Authenticator), the media pool, and every background loop:

    loop            runs when                                          every
    index-load      always in a service (retried until it loads)      once, then every 30 s while failing
    outbox          webhook_url set and outbox_worker on               0.5 s, back to back while busy
    statements      tdb_url and tdb_token set                          30 s
    retention       retention_sweep on                                 at start, then hourly
    checkpoints     checkpoint_interval set                            checkpoint_interval

`Runtime.start()` starts them and `Runtime.stop()` stops them; nothing else in Vigil starts a thread
that outlives a request, except the PDQ index's own background merge (vigil.index.pdq). The HTTP service
gets the runtime through one dependency (`vigil.web.deps.runtime`), the CLI builds its own, and tests
build one per test database.
"""

from __future__ import annotations

import functools
import logging
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, TypeVar

import anyio
import anyio.to_thread

from vigil import outbox
from vigil.cases.dedupe import NearIndex
from vigil.errors import Unavailable
from vigil.keys import Authenticator
from vigil.ledger import checkpoint
from vigil.match import Matcher
from vigil.policy.cases import CasePolicy
from vigil.ratelimit import RateLimiter
from vigil.review import retention
from vigil.settings import Settings
from vigil.store.db import Database
from vigil.text.detect import Detector
from vigil.transparency import submit

log = logging.getLogger("vigil.runtime")
T = TypeVar("T")

HOME_MODE = 0o700
"""The state folder holds signing keys, the webhook secret and (by default) the database: owner only."""
INDEX_RETRY_SECONDS = 30.0


class Loop:
    """A background loop in a daemon thread: `work()` every `interval` seconds, again at once while it returns True.

    An exception in one round is logged and the loop goes on: a database outage must not end delivery.
    """

    def __init__(self, name: str, interval: float, work: Callable[[], bool | None], *,
                 close: Callable[[], None] | None = None, first_wait: float = 0.0) -> None:
        self.name, self.interval, self.work, self.close, self.first_wait = name, interval, work, close, first_wait
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, name=f"vigil-{name}", daemon=True)

    def _run(self) -> None:
        if self.first_wait and self.stopping.wait(self.first_wait):
            return
        try:
            while not self.stopping.is_set():
                try:
                    busy = self.work()
                except Exception:
                    log.exception("%s: a round failed; trying again in %.1f s", self.name, self.interval)
                    busy = False
                if not busy and self.stopping.wait(self.interval):
                    return
        finally:
            if self.close is not None:
                self.close()

    def start(self) -> None:
        self.thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self.stopping.set()
        if self.thread.is_alive():
            self.thread.join(timeout)


class IndexLoader:
    """The matcher, built in the background so a service answers /healthz at once and /readyz says when it is ready.

    A failed build is logged with its cause, shown by /readyz, and retried every INDEX_RETRY_SECONDS.
    """

    def __init__(self, build: Callable[[], Matcher]) -> None:
        self._build = build
        self._lock = threading.Lock()
        self.matcher: Matcher | None = None
        self.error: str | None = None

    def load(self) -> Matcher:
        if self.matcher is None:
            with self._lock:
                if self.matcher is None:
                    try:
                        matcher = self._build()
                        matcher.warm()
                    except Exception as exc:
                        self.error = f"failed: {type(exc).__name__}: {exc}"
                        raise
                    self.matcher, self.error = matcher, None
        return self.matcher

    @property
    def state(self) -> str:
        return "ok" if self.matcher is not None else self.error or "loading"


@dataclass
class Runtime:
    settings: Settings
    db: Database
    policy: CasePolicy
    authenticator: Authenticator
    limiter: RateLimiter
    near_index: NearIndex = field(default_factory=NearIndex)
    loops: list[Loop] = field(default_factory=list)
    _index: IndexLoader | None = None
    _detector: Detector | None = None
    _detector_lock: threading.Lock = field(default_factory=threading.Lock)
    _media: anyio.CapacityLimiter | None = None

    @classmethod
    def build(cls, settings: Settings | None = None, *, migrate: bool = False, detector: Detector | None = None) -> Runtime:
        """The runtime for `settings` (read from the environment when not given): state folder, database, policy.

        `detector` shares a text detector already built (it depends on no database: tests and benchmarks that
        build many runtimes build it once)."""
        settings = settings or Settings()
        make_home(settings.home)
        db = Database(settings.database)
        if migrate:
            db.upgrade()
        return cls(settings=settings, db=db, policy=CasePolicy.load(settings.case_policy),
                   authenticator=Authenticator(db), limiter=RateLimiter(settings.limit), _detector=detector)

    # --- what requests use ---------------------------------------------------------------------------

    @property
    def index(self) -> IndexLoader:
        if self._index is None:
            self._index = IndexLoader(lambda: Matcher(self.db, self.settings.home / "index"))
        return self._index

    @property
    def matcher(self) -> Matcher:
        """The matcher, built now if it is not yet (a service builds it in the background at start)."""
        return self.index.load()

    def matcher_if_ready(self) -> Matcher | None:
        return self.index.matcher

    @property
    def detector(self) -> Detector:
        if self._detector is None:
            with self._detector_lock:
                if self._detector is None:
                    self._detector = Detector() if self.settings.text_embeddings else Detector(embeddings=None)
        return self._detector

    def webhook(self) -> outbox.Webhook:
        secret = self.settings.webhook_secret.get_secret_value() if self.settings.webhook_secret else None
        return outbox.Webhook.configured(self.settings.webhook_url, secret, self.settings.home)

    def signer(self) -> checkpoint.Signer:
        return checkpoint.load_signer(self.settings.home, self.settings.ledger_origin)

    async def offload_media(self, fn: Callable[..., T], *args: Any) -> T:
        """Run CPU-heavy media work in a worker thread, at most `media_workers` at once per process.

        Decoding and hashing are CPU-bound: more threads than this only fight over the GIL and stretch every
        upload's latency (bench/service_load.py, image rows), and the event loop stays free for other requests.
        """
        if self._media is None:
            self._media = anyio.CapacityLimiter(self.settings.media_workers)
        return await anyio.to_thread.run_sync(functools.partial(fn, *args), limiter=self._media)

    def require_matcher(self) -> Matcher:
        matcher = self.index.matcher
        if matcher is None:
            raise Unavailable(f"the match index is not loaded yet ({self.index.state}); retry shortly",
                              headers={"Retry-After": "1"})
        return matcher

    # --- background work -----------------------------------------------------------------------------

    def start(self) -> None:
        """Start the service's background loops (see the module docstring for which run when)."""
        s = self.settings
        self.webhook()  # the secret file exists before any worker signs with it
        self.loops = [Loop("index-load", INDEX_RETRY_SECONDS, self._load_index)]
        if s.webhook_url and s.outbox_worker:
            delivery = outbox.Delivery(self.db, self.webhook())
            self.loops.append(Loop("outbox", 0.5, delivery, close=delivery.close))
        if s.statements_configured:
            assert s.tdb_token is not None
            submission = submit.Submission(self.db, s.tdb_url or "", s.tdb_token.get_secret_value())
            self.loops.append(Loop("statements", submit.STATEMENTS_INTERVAL, submission, close=submission.close))
        if s.retention_sweep:
            self.loops.append(Loop("retention", retention.INTERVAL_SECONDS, lambda: retention.sweep(self.db, self.policy)
                                   and False))
        if s.checkpoint_interval:
            interval = s.checkpoint_interval
            self.loops.append(Loop("checkpoints", interval, lambda: checkpoint.publish_if_due(
                self.db, None, interval, home=s.home, name=s.ledger_origin) and False, first_wait=interval))
        for loop in self.loops:
            loop.start()

    def _load_index(self) -> bool:
        if self.index.matcher is not None:
            return False
        try:
            self.index.load()
            self.detector.check("warm-up 预热")  # loads the lexicon and the Chinese segmenter now, not in a request
        except Exception:
            log.exception("the match index could not be built; retrying in %.0f s (see /readyz)", INDEX_RETRY_SECONDS)
        return False

    def stop(self) -> None:
        for loop in self.loops:
            loop.stopping.set()
        for loop in self.loops:
            loop.stop()
        self.loops = []

    def close(self) -> None:
        self.stop()
        self.db.dispose()


def make_home(home: Path) -> None:
    """Create the state folder readable by its owner only (and tighten an existing one we own)."""
    home.mkdir(parents=True, exist_ok=True)
    try:
        if home.stat().st_uid == os.getuid():
            os.chmod(home, HOME_MODE)
    except OSError as e:
        log.warning("could not restrict %s to its owner (%s)", home, e)
