"""The request log and counters the control API exposes (`GET /_emulator/requests`, `/counters`)."""

from __future__ import annotations

from collections import Counter, deque
from typing import Any


class RequestLog:
    def __init__(self, size: int) -> None:
        self.entries: deque[dict[str, Any]] = deque(maxlen=size)
        self.counters: Counter[str] = Counter()
        self.seq = 0

    def record(self, entry: dict[str, Any]) -> None:
        self.seq += 1
        entry["seq"] = self.seq
        self.entries.append(entry)
        realm = entry.get("realm") or "-"
        status = int(entry.get("status", 0))
        self.counters["requests"] += 1
        self.counters[f"status.{status}"] += 1
        self.counters[f"realm.{realm}.requests"] += 1
        if entry.get("kind"):
            self.counters[f"kind.{entry['kind']}"] += 1
        if entry.get("injected"):
            self.counters[f"injected.{entry['injected']}"] += 1
        if status == 429:
            self.counters["throttled"] += 1

    def count(self, name: str, n: int = 1) -> None:
        self.counters[name] += n

    def clear(self) -> None:
        self.entries.clear()
        self.counters.clear()
