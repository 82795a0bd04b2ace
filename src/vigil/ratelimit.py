"""Per-key rate limits: a token bucket per API key, in each worker process.

With N workers a key gets up to N times the limit: the price of not touching the database (or a shared
store) on every request. A request costs one token; a batch costs one per item. A bucket may go into
debt: a request is admitted while the bucket holds at least one token, and its whole cost is then taken, so a
batch larger than the bucket's capacity is still admitted on an idle key and then waits out its debt
(otherwise a valid 1,000-item batch could never fit a 100-token bucket, and would be refused forever).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from vigil.settings import RateLimit


@dataclass
class RateLimiter:
    limit: RateLimit | None
    _buckets: dict[int, tuple[float, float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def take(self, key_id: int, cost: float = 1.0) -> float:
        """Spend `cost` tokens; return 0 when allowed, else the seconds to wait before retrying."""
        if self.limit is None:
            return 0.0
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.get(key_id, (self.limit.capacity, now))
            tokens = min(self.limit.capacity, tokens + (now - last) * self.limit.per_second)
            if tokens >= 1:
                self._buckets[key_id] = (tokens - cost, now)
                return 0.0
            self._buckets[key_id] = (tokens, now)
            return (1.0 - tokens) / self.limit.per_second
