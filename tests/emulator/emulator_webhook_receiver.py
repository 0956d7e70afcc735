"""A webhook receiver on a real 127.0.0.1 socket for the webhook tests (shared by
test_emulator_webhooks.py and test_emulator_webhook_chaos.py)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from emulator_helpers import Qbo


class Receiver:
    """A webhook endpoint on 127.0.0.1 that records what it gets and can fail on purpose."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.fail_next = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["content-length"]))
                receiver.received.append({"body": body, "headers": dict(self.headers.items())})
                status = 200
                if receiver.fail_next > 0:
                    receiver.fail_next -= 1
                    status = 500
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/webhooks/quickbooks"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    async def wait_for(self, count: int, timeout: float = 5.0) -> None:
        for _ in range(int(timeout / 0.01)):  # bounded polling for the asynchronous delivery
            if len(self.received) >= count:
                return
            await asyncio.sleep(0.01)
        raise AssertionError(f"expected {count} webhook POSTs, got {len(self.received)}")

    def cloudevents(self) -> list[dict[str, Any]]:
        """Every CloudEvent received so far, in arrival order."""
        return [event for post in self.received for event in json.loads(post["body"])]

    async def wait_for_events(self, count: int, timeout: float = 5.0) -> list[dict[str, Any]]:
        for _ in range(int(timeout / 0.01)):  # bounded polling
            events = self.cloudevents()
            if len(events) >= count:
                return events
            await asyncio.sleep(0.01)
        raise AssertionError(f"expected {count} webhook events, got {len(self.cloudevents())}")


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    r.thread.start()
    yield r
    r.server.shutdown()
    r.server.server_close()


def verify(post: dict[str, Any], verifier_token: str) -> bool:
    expected = hmac.new(verifier_token.encode(), post["body"], hashlib.sha256).digest()
    return hmac.compare_digest(expected, base64.b64decode(post["headers"]["intuit-signature"]))


async def recorded_deliveries(qbo: Qbo, count: int, timeout: float = 5.0) -> list[dict[str, Any]]:
    """`GET /_emulator/webhooks` deliveries once `count` are recorded: the receiver sees a POST a
    moment before the emulator has read its answer and logged the attempt."""
    deliveries: list[dict[str, Any]] = []
    for _ in range(int(timeout / 0.01)):  # bounded polling
        deliveries = (await qbo.control("GET", "/webhooks"))["deliveries"]
        if len(deliveries) >= count:
            return deliveries
        await asyncio.sleep(0.01)
    raise AssertionError(f"expected {count} recorded deliveries, got {len(deliveries)}")
