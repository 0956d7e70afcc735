"""Fault injection for tests and demos: latency, 5xx, throttling, timeouts and
"commit then drop the connection". Applied only to the real API (`/v3/...`) and the token
endpoint, never to the control API.

Configured through `POST /_emulator/faults`; each injection applies to the next `count`
matching requests (optionally only paths containing `match`).

`WebhookChaos` is the webhook side (`PUT /_emulator/webhooks`): events lost, POSTs sent twice,
queued events delivered shuffled. A test aid for "deliveries are at-least-once, may be late and
are not in order", not a model of Intuit's delivery internals.
"""

from __future__ import annotations

import random
from collections import deque
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Injection:
    kind: str  # "status" | "throttle" | "timeout" | "drop"
    count: int = 1
    status: int = 500
    match: str = ""  # substring of the path (e.g. "/billpayment"); empty = any
    after_commit: bool = False  # timeout: apply the request first, then hang
    seconds: float | None = None  # timeout length; default EmulatorConfig.injected_timeout_s
    xml: bool = False  # throttle: answer in XML as QBO sometimes does


@dataclass
class Chaos:
    latency_ms: float = 0.0
    pending: list[Injection] = field(default_factory=list)

    def take(self, path: str) -> Injection | None:
        for injection in self.pending:
            if injection.match in path:
                injection.count -= 1
                if injection.count <= 0:
                    self.pending.remove(injection)
                return injection
        return None

    def clear(self) -> None:
        self.latency_ms = 0.0
        self.pending.clear()

    def describe(self) -> dict[str, object]:
        return {"latency_ms": self.latency_ms, "pending": [vars(i) for i in self.pending]}


# How long the webhook worker lets events gather before each shuffled POST when `reorder` is on.
DEFAULT_REORDER_WINDOW_MS = 100.0


@dataclass
class WebhookChaos:
    """Webhook delivery faults. The defaults change nothing: no event lost, no POST repeated,
    events in order. Each kind of decision has its own random stream derived from `seed`, so with
    a seed the same events get the same fate however the worker happens to batch them."""

    lose: float = 0.0  # probability that an event is never delivered (Intuit gave up on it)
    duplicate: float = 0.0  # probability that an acknowledged POST is sent once more, byte for byte
    reorder: bool = False  # queued events go out shuffled, a random number (1..100) per POST
    seed: int | None = None  # None: a fresh unpredictable sequence
    reorder_window_ms: float = DEFAULT_REORDER_WINDOW_MS
    lost: int = 0  # events dropped so far
    duplicated: int = 0  # repeated POSTs sent so far
    lost_events: deque[dict[str, str]] = field(default_factory=lambda: deque(maxlen=1000))
    _lose_rng: random.Random = field(default_factory=random.Random, init=False, repr=False)
    _duplicate_rng: random.Random = field(default_factory=random.Random, init=False, repr=False)
    _reorder_rng: random.Random = field(default_factory=random.Random, init=False, repr=False)

    def __post_init__(self) -> None:
        self.reseed(self.seed)

    def reseed(self, seed: int | None) -> None:
        self.seed = seed
        self._lose_rng, self._duplicate_rng, self._reorder_rng = (
            random.Random(f"{seed}/{stream}") if seed is not None else random.Random()
            for stream in ("lose", "duplicate", "reorder"))

    def loses(self, event: dict[str, str]) -> bool:
        """Decide (once, when the event is queued) whether this event is never delivered."""
        if self.lose <= 0 or self._lose_rng.random() >= self.lose:
            return False
        self.lost += 1
        self.lost_events.append(event)
        return True

    def duplicates(self) -> bool:
        """Decide whether an acknowledged POST is sent a second time."""
        if self.duplicate <= 0 or self._duplicate_rng.random() >= self.duplicate:
            return False
        self.duplicated += 1
        return True

    def shuffle(self, pending: deque[dict[str, str]], most: int) -> int:
        """Shuffle the queue in place; return how many events the next POST takes (1..most)."""
        events = list(pending)
        self._reorder_rng.shuffle(events)
        pending.clear()
        pending.extend(events)
        return self._reorder_rng.randint(1, max(1, min(len(events), most)))

    def clear(self) -> None:
        """Back to the defaults (used by `POST /_emulator/reset`)."""
        self.lose = self.duplicate = 0.0
        self.reorder = False
        self.reorder_window_ms = DEFAULT_REORDER_WINDOW_MS
        self.lost = self.duplicated = 0
        self.lost_events.clear()
        self.reseed(None)

    def describe(self) -> dict[str, Any]:
        return {"lose": self.lose, "duplicate": self.duplicate, "reorder": self.reorder, "seed": self.seed,
                "reorder_window_ms": self.reorder_window_ms, "lost": self.lost, "duplicated": self.duplicated}
