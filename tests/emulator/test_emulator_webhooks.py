"""Webhooks to a real receiver socket: both formats, signatures, retries (qbo-api.md §5)."""

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
from emulator_structure import sample, structure_diff

pytestmark = [pytest.mark.anyio, pytest.mark.socket]


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


async def test_given_cloudevents_when_a_bill_is_created_then_signed_array_is_posted(
        qbo: Qbo, receiver: Receiver, config) -> None:
    await qbo.control("PUT", "/webhooks", json={"url": receiver.url})
    bill = await qbo.create("Bill", qbo.bill_body())
    await receiver.wait_for(1)
    post = receiver.received[0]
    assert verify(post, config.verifier_token)
    events = json.loads(post["body"])
    assert not structure_diff(sample("webhook-cloudevents.json"), events)
    assert events[0]["type"] == "qbo.bill.created.v1"
    assert events[0]["intuitentityid"] == bill["Id"] and events[0]["intuitaccountid"] == qbo.realm
    assert events[0]["specversion"] == "1.0"


async def test_given_legacy_format_when_a_vendor_changes_then_event_notifications_posted(
        qbo: Qbo, receiver: Receiver, config) -> None:
    await qbo.control("PUT", "/webhooks", json={"url": receiver.url, "format": "legacy"})
    vendor = await qbo.create("Vendor", {"DisplayName": "Webhook Supplies"})
    await receiver.wait_for(1)
    post = receiver.received[0]
    assert verify(post, config.verifier_token)
    body = json.loads(post["body"])
    assert not structure_diff(sample("webhook-legacy-docs.json"),
                              {"eventNotifications": [{**body["eventNotifications"][0], "dataChangeEvent": {
                                  "entities": body["eventNotifications"][0]["dataChangeEvent"]["entities"] * 2}}]})
    entity = body["eventNotifications"][0]["dataChangeEvent"]["entities"][0]
    assert entity == {"name": "Vendor", "id": vendor["Id"], "operation": "Create",
                      "lastUpdated": "2026-03-16T18:00:00.000Z"}
    assert body["eventNotifications"][0]["realmId"] == qbo.realm


async def test_given_a_receiver_that_fails_once_when_notified_then_retried_on_compressed_schedule(
        qbo: Qbo, receiver: Receiver) -> None:
    receiver.fail_next = 1
    await qbo.control("PUT", "/webhooks", json={"url": receiver.url})
    await qbo.create("Bill", qbo.bill_body())
    await receiver.wait_for(2)
    assert receiver.received[0]["body"] == receiver.received[1]["body"]
    deliveries = (await qbo.control("GET", "/webhooks"))["deliveries"]
    assert [(d["attempt"], d["status"]) for d in deliveries] == [(1, 500), (2, 200)]


async def test_given_payment_changes_when_voided_and_deleted_then_each_is_notified(
        qbo: Qbo, receiver: Receiver) -> None:
    bill = await qbo.create("Bill", qbo.bill_body(50.0))
    await qbo.control("PUT", "/webhooks", json={"url": receiver.url})
    paid = await qbo.control("POST", f"/companies/{qbo.realm}/bill-payments",
                             json={"pay_type": "Check", "bills": [{"bill_id": bill["Id"]}]})
    pay_id = paid["BillPayment"]["Id"]
    await qbo.control("POST", f"/companies/{qbo.realm}/bill-payments/{pay_id}/void")
    await qbo.control("DELETE", f"/companies/{qbo.realm}/bill-payments/{pay_id}")
    types: list[str] = []
    for _ in range(500):  # bounded polling
        types = [e["type"] for post in receiver.received for e in json.loads(post["body"])]
        if len(types) >= 3:
            break
        await asyncio.sleep(0.01)
    assert types == ["qbo.billpayment.created.v1", "qbo.billpayment.voided.v1", "qbo.billpayment.deleted.v1"]


async def test_given_an_entity_outside_the_list_when_changed_then_no_webhook(qbo: Qbo, receiver: Receiver) -> None:
    await qbo.control("PUT", "/webhooks", json={"url": receiver.url})
    await qbo.create("Class", {"Name": "Silent"})
    await qbo.create("Vendor", {"DisplayName": "Loud"})
    await receiver.wait_for(1)
    assert [e["type"] for e in json.loads(receiver.received[0]["body"])] == ["qbo.vendor.created.v1"]
