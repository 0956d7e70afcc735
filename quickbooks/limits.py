"""QuickBooks' per-company limits, enforced across every worker thread and process.

Intuit allows 500 requests a minute and 10 concurrent requests per company (realm), and 40 batch
requests a minute (qbo-api.md §6, §7). We stay a little below each, using Dramatiq's rate limiters
keyed by realm: an in-memory backend in the embedded mode, Redis when scaled out (so two worker
processes on two machines share one budget). A caller waits for a slot rather than being thrown
out, but never longer than ``max_wait``; past that the work is rescheduled.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from functools import lru_cache

from django.conf import settings
from dramatiq.rate_limits import ConcurrentRateLimiter, RateLimiterBackend, WindowRateLimiter
from dramatiq.rate_limits.backends import StubBackend

from quickbooks.errors import QboThrottled


@lru_cache(maxsize=1)
def _backend() -> RateLimiterBackend:
    if settings.RATE_LIMIT_REDIS_URL:
        from dramatiq.rate_limits.backends import RedisBackend

        return RedisBackend(url=settings.RATE_LIMIT_REDIS_URL)
    return StubBackend()


# Dramatiq's window counts whole seconds: a 60-bucket window can span just over 59 s, so a burst at
# its edge would put more than the limit into a true 60 s window as QBO counts it. One more bucket
# makes our window never shorter than QBO's minute.
WINDOW_SECONDS = 61


class RealmLimiter:
    def __init__(self, realm_id: str, *, max_wait: float = 90.0) -> None:
        backend = _backend()
        self.max_wait = max_wait
        self.requests = WindowRateLimiter(
            backend, f"qbo:{realm_id}:requests", limit=settings.QBO_REQUESTS_PER_MINUTE, window=WINDOW_SECONDS
        )
        self.batches = WindowRateLimiter(
            backend, f"qbo:{realm_id}:batches", limit=settings.QBO_BATCHES_PER_MINUTE, window=WINDOW_SECONDS
        )
        self.concurrency = ConcurrentRateLimiter(
            backend, f"qbo:{realm_id}:concurrent", limit=settings.QBO_CONCURRENCY, ttl=180_000
        )

    def _wait_for(self, limiter: WindowRateLimiter, what: str) -> None:
        deadline = time.monotonic() + self.max_wait
        while True:
            with limiter.acquire(raise_on_failure=False) as acquired:
                if acquired:
                    return
            if time.monotonic() >= deadline:
                raise QboThrottled(f"Our own {what} budget for this QuickBooks company is used up.")
            time.sleep(0.05)

    def before_request(self, path: str) -> None:
        """Called by the client before every HTTP request to QuickBooks."""
        self._wait_for(self.requests, "request")
        if path == "batch":
            self._wait_for(self.batches, "batch")

    @contextlib.contextmanager
    def slot(self) -> Iterator[None]:
        """Hold one of the realm's concurrent slots for the duration of a delivery."""
        deadline = time.monotonic() + self.max_wait
        while True:
            with self.concurrency.acquire(raise_on_failure=False) as acquired:
                if acquired:
                    yield
                    return
            if time.monotonic() >= deadline:
                raise QboThrottled("All concurrent QuickBooks slots for this company are busy.")
            time.sleep(0.02)


_limiters: dict[str, RealmLimiter] = {}
_lock = threading.Lock()


def limiter_for(realm_id: str) -> RealmLimiter:
    with _lock:
        if realm_id not in _limiters:
            _limiters[realm_id] = RealmLimiter(realm_id)
        return _limiters[realm_id]
