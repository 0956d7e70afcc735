"""Fault injection for tests and demos: latency, 5xx, throttling, timeouts and
"commit then drop the connection". Applied only to the real API (`/v3/...`) and the token
endpoint, never to the control API.

Configured through `POST /_emulator/faults`; each injection applies to the next `count`
matching requests (optionally only paths containing `match`).
"""

from __future__ import annotations

from dataclasses import dataclass, field


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
