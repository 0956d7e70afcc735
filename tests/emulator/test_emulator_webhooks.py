"""Webhooks to a real receiver socket: both formats, signatures, retries (qbo-api.md §5)."""

from __future__ import annotations

import asyncio
import json

import pytest
from emulator_helpers import Qbo
from emulator_structure import sample, structure_diff
from emulator_webhook_receiver import Receiver, recorded_deliveries, verify

pytestmark = [pytest.mark.anyio, pytest.mark.socket]


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
    deliveries = await recorded_deliveries(qbo, 2)
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
