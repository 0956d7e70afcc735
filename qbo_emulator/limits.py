"""QBO's per-company throttles (qbo-api.md §6, §7): 500 requests a minute, 10 in flight, and
40 batch requests a minute. A throttled request is answered 429 before it touches any state.

Windows use the monotonic clock, not the injectable one, so a frozen test clock cannot freeze
the limiter.
"""

from __future__ import annotations

import time
from collections import deque

from .config import Limits


class RateLimiter:
    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.windows: dict[str, deque[float]] = {}
        self.batch_windows: dict[str, deque[float]] = {}
        self.in_flight: dict[str, int] = {}
        self.throttled: dict[str, int] = {}

    @staticmethod
    def _admit(window: deque[float], limit: int, now: float) -> bool:
        while window and now - window[0] >= 60.0:
            window.popleft()
        if len(window) >= limit:
            return False
        window.append(now)
        return True

    def acquire(self, realm_id: str, *, batch: bool) -> bool:
        """Admit one request (and take a concurrency slot) or refuse it."""
        limits = self.limits
        if not limits.enabled:
            self.in_flight[realm_id] = self.in_flight.get(realm_id, 0) + 1
            return True
        now = time.monotonic()
        ok = self.in_flight.get(realm_id, 0) < limits.concurrent
        ok = ok and self._admit(self.windows.setdefault(realm_id, deque()), limits.requests_per_minute, now)
        if ok and batch:
            ok = self._admit(self.batch_windows.setdefault(realm_id, deque()), limits.batch_per_minute, now)
        if not ok:
            self.throttled[realm_id] = self.throttled.get(realm_id, 0) + 1
            return False
        self.in_flight[realm_id] = self.in_flight.get(realm_id, 0) + 1
        return True

    def release(self, realm_id: str) -> None:
        self.in_flight[realm_id] = max(0, self.in_flight.get(realm_id, 0) - 1)

    def reset(self) -> None:
        self.windows.clear()
        self.batch_windows.clear()
        self.throttled.clear()
