"""QuickBooks' per-company limits, enforced across every worker thread and process.

Intuit allows 500 requests a minute and 10 concurrent requests per company (realm), and 40 batch
requests a minute (qbo-api.md §6, §7). We stay a little below each, using Dramatiq's rate limiters
keyed by realm: an in-memory backend in the embedded mode, Redis when scaled out (so two worker
processes on two machines share one budget). A caller waits for a slot rather than being thrown
out, but never longer than ``max_wait``; past that the work is rescheduled.

Bulk work (a backlog of documents) runs in two lanes sharing the request budget. The batch lane
carries 30 creates per request but only 38 requests a minute; the single lane carries one document
per request, up to what the minute's requests leave after the batches and a reserve for reads
(``QBO_READ_RESERVE_PER_MINUTE``): payment webhooks, catch-ups and what users click must not wait
behind an export. The batch lane is always tried first, since each of its requests moves 30
documents. Work that is not bulk (one approval, a read) takes from the request budget only.

Bulk work also takes turns between companies. An approval's own message may start its company's
bulk work only while the company holds no turn; otherwise it is dropped, its row left waiting. Each
turn, when it ends, sends one message for its company's oldest waiting row, and that message queues
behind every other company's; a turn that starts while its company holds fewer than
``QBO_BULK_TURNS_PER_COMPANY`` sends one more, so a company alone gets its lanes full within a few
turns. So a thousand invoices approved in one company before another's are not all sent before the
other's first: the queue serves the companies in turn (bench/realms.py).
"""

from __future__ import annotations

import contextlib
import enum
import threading
import time
import uuid
from collections.abc import Iterator
from functools import lru_cache
from typing import Protocol

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
BATCH_ITEMS = 30  # QBO's most items in one batch request (qbo-api.md §6)


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
        # The lanes' own budgets choose a lane before any rows are claimed. QBO's limits are still
        # taken from ``requests`` and ``batches`` just before each request: a batch lane chosen now
        # may send seconds later (30 payloads to build), and QBO counts when the request arrives.
        self.batch_lane = WindowRateLimiter(
            backend, f"qbo:{realm_id}:batch-lane", limit=settings.QBO_BATCHES_PER_MINUTE, window=WINDOW_SECONDS
        )
        # Requests a minute the single lane may use: whatever the batches and the reserve leave.
        self.single_lane = WindowRateLimiter(
            backend, f"qbo:{realm_id}:single-lane", limit=single_lane_per_minute(), window=WINDOW_SECONDS
        )
        self.turns_key = f"qbo:{realm_id}:bulk-turns"
        self.queued_key = f"qbo:{realm_id}:bulk-next-turn"
        self.concurrency = ConcurrentRateLimiter(
            backend, f"qbo:{realm_id}:concurrent", limit=settings.QBO_CONCURRENCY, ttl=180_000
        )

    def _wait_for(self, limiter: WindowRateLimiter, what: str) -> None:
        deadline = time.monotonic() + self.max_wait
        while True:
            if _take(limiter):
                return
            if time.monotonic() >= deadline:
                raise QboThrottled(f"Our own {what} budget for this QuickBooks company is used up.")
            time.sleep(0.05)

    def before_request(self, path: str) -> None:
        """Called by the client before every HTTP request to QuickBooks (outside the bulk lanes)."""
        self._wait_for(self.requests, "request")
        if path == "batch":
            self._wait_for(self.batches, "batch")

    def bulk_turn(self, *, first: bool = False) -> Turn | None:
        """One of the company's turns at bulk work, or None while all are taken. ``first``: only if
        the company holds none and has no next turn queued (an approval's own message may start its
        bulk work, not add to it, nor overtake the turn waiting at the back of the queue)."""
        leases = _leases()
        if first and leases.held(self.queued_key):
            return None
        turn = Turn(self.turns_key)
        limit = 1 if first else settings.QBO_BULK_TURNS_PER_COMPANY
        return turn if leases.take(self.turns_key, turn.member, limit=limit, seconds=TURN_SECONDS) else None

    def next_turn_queued(self) -> None:
        """A message for the company's next turn is on its way (until it arrives, or for at most
        ``QUEUED_SECONDS`` should it be lost)."""
        leases = _leases()
        if not leases.take(self.queued_key, "next", limit=1, seconds=QUEUED_SECONDS):
            leases.renew(self.queued_key, "next", seconds=QUEUED_SECONDS)

    def next_turn_arrived(self) -> None:
        _leases().give_back(self.queued_key, "next")

    def bulk_turns_held(self) -> int:
        """How many deliveries hold the company's turns (each sends the next message when it ends)."""
        return _leases().held(self.turns_key)

    def bulk_running(self) -> bool:
        """Whether the company's bulk work will send its next message itself: a turn is held, or
        the next turn's message is on its way (the sweeper leaves such a company alone)."""
        leases = _leases()
        return leases.held(self.turns_key) > 0 or leases.held(self.queued_key) > 0

    def bulk_lane(self, turn: Turn | None = None) -> LaneLimiter:
        """A lane for one delivery of bulk work: the batch lane when a batch request is left this
        minute, otherwise the single lane; waits for either (up to ``max_wait``), holding no rows
        meanwhile. The single lane's first request is paid for here."""
        deadline = time.monotonic() + self.max_wait
        while True:
            if _take(self.batch_lane):
                return LaneLimiter(self, Lane.BATCH, turn)
            if _take(self.single_lane):
                return LaneLimiter(self, Lane.SINGLE, turn)
            if time.monotonic() >= deadline:
                raise QboThrottled("Our own batch and request budgets for this QuickBooks company are used up.")
            if turn is not None:
                turn.renew()
            time.sleep(0.05)

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


def _take(limiter: WindowRateLimiter) -> bool:
    with limiter.acquire(raise_on_failure=False) as acquired:
        return bool(acquired)


def single_lane_per_minute() -> int:
    spare = settings.QBO_REQUESTS_PER_MINUTE - settings.QBO_BATCHES_PER_MINUTE - settings.QBO_READ_RESERVE_PER_MINUTE
    return max(1, spare)


class Lane(enum.Enum):
    BATCH = "batch"
    SINGLE = "single"


class LaneLimiter:
    """The client's limiter for one bulk delivery. Every request takes from QBO's budgets as it
    goes out, as outside the lanes. In the single lane every request is also one of the lane's
    (the first was paid for when the lane was chosen); in the batch lane, requests besides the
    batch (a vendor to find, an update sent one by one) count like reads."""

    def __init__(self, realm: RealmLimiter, lane: Lane, turn: Turn | None = None) -> None:
        self.realm = realm
        self.lane = lane
        self.turn = turn
        self._prepaid = lane is Lane.SINGLE

    @property
    def batch_size(self) -> int:
        return BATCH_ITEMS if self.lane is Lane.BATCH else 1

    def before_request(self, path: str) -> None:
        if self.turn is not None:
            self.turn.renew()
        if self.lane is Lane.SINGLE and path != "batch":
            if self._prepaid:
                self._prepaid = False
            else:
                self.realm._wait_for(self.realm.single_lane, "single-lane request")
        self.realm.before_request(path)


class _Leases(Protocol):
    """Members with an expiry time under a key: a turn held by a worker that died runs out."""

    def take(self, key: str, member: str, *, limit: int, seconds: float) -> bool: ...

    def renew(self, key: str, member: str, *, seconds: float) -> None: ...

    def give_back(self, key: str, member: str) -> None: ...

    def held(self, key: str) -> int: ...


class _MemoryLeases:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._keys: dict[str, dict[str, float]] = {}

    def _live(self, key: str) -> dict[str, float]:
        now = time.time()
        members = {m: until for m, until in self._keys.get(key, {}).items() if until > now}
        self._keys[key] = members
        return members

    def take(self, key: str, member: str, *, limit: int, seconds: float) -> bool:
        with self._lock:
            members = self._live(key)
            if len(members) >= limit:
                return False
            members[member] = time.time() + seconds
            return True

    def renew(self, key: str, member: str, *, seconds: float) -> None:
        with self._lock:
            if member in self._keys.get(key, {}):
                self._keys[key][member] = time.time() + seconds

    def give_back(self, key: str, member: str) -> None:
        with self._lock:
            self._keys.get(key, {}).pop(member, None)

    def held(self, key: str) -> int:
        with self._lock:
            return len(self._live(key))


class _RedisLeases:
    """A sorted set per key, scored by expiry. Taking is check-then-add, so two workers may both
    take the last turn: turns are about fairness, and one extra delivery is harmless."""

    def __init__(self, url: str) -> None:
        import redis

        self.client = redis.Redis.from_url(url)

    def take(self, key: str, member: str, *, limit: int, seconds: float) -> bool:
        now = time.time()
        pipe = self.client.pipeline()
        pipe.zremrangebyscore(key, "-inf", now)
        pipe.zcard(key)
        _, held = pipe.execute()
        if int(held) >= limit:
            return False
        pipe.zadd(key, {member: now + seconds})
        pipe.expire(key, int(seconds) + 60)
        pipe.execute()
        return True

    def renew(self, key: str, member: str, *, seconds: float) -> None:
        self.client.zadd(key, {member: time.time() + seconds}, xx=True)

    def give_back(self, key: str, member: str) -> None:
        self.client.zrem(key, member)

    def held(self, key: str) -> int:
        return int(self.client.zcount(key, time.time(), "+inf"))


@lru_cache(maxsize=1)
def _leases() -> _Leases:
    if settings.RATE_LIMIT_REDIS_URL:
        return _RedisLeases(settings.RATE_LIMIT_REDIS_URL)
    return _MemoryLeases()


# A turn not renewed for this long belonged to a worker that died. Waiting for a lane and every
# request renew it; a single request may take longer (QBO_HTTP_TIMEOUT), which only lets one more
# delivery in for a moment.
TURN_SECONDS = 30.0
# A next turn's message not arrived by then is taken to be lost (the sweeper sends the rows again):
# approvals' own messages may start the company's bulk work again.
QUEUED_SECONDS = 120.0


class Turn:
    """One of a company's turns at bulk work, held for one delivery."""

    def __init__(self, key: str) -> None:
        self.key = key
        self.member = uuid.uuid4().hex

    def renew(self) -> None:
        _leases().renew(self.key, self.member, seconds=TURN_SECONDS)

    def give_back(self) -> None:
        _leases().give_back(self.key, self.member)


_limiters: dict[str, RealmLimiter] = {}
_lock = threading.Lock()


def limiter_for(realm_id: str) -> RealmLimiter:
    with _lock:
        if realm_id not in _limiters:
            _limiters[realm_id] = RealmLimiter(realm_id)
        return _limiters[realm_id]
