"""QuickBooks webhooks: signed deliveries in both formats make invoices Paid; forged ones change nothing.

Intuit's published samples are posted with a signature computed here; the emulator's own signed
deliveries are received by the product served on a real socket (pytest-django's ``live_server``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from payments.models import Payment, Via
from procurement.models import Status
from quickbooks.inbound.models import EventState, WebhookEvent
from tests.quickbooks.conftest import Qbo, settle
from tests.quickbooks.test_payments_in import exported_invoice, pay, status_of

SAMPLES = Path(__file__).resolve().parents[1] / "samples" / "qbo"  # Intuit's published payloads
URL = "/quickbooks/webhooks"


def signed(body: bytes, token: str) -> str:
    return base64.b64encode(hmac.new(token.encode(), body, hashlib.sha256).digest()).decode()


def post(body: bytes, *, token: str | None, content_type: str = "application/cloudevents+json") -> Any:
    headers = {} if token is None else {"HTTP_INTUIT_SIGNATURE": signed(body, token)}
    return Client().post(URL, data=body, content_type=content_type, **headers)


def cloudevent(realm: str, txn: str, verb: str = "created", event_id: str = "ev-1") -> bytes:
    sample = json.loads((SAMPLES / "webhook-cloudevents.json").read_text())
    sample[0].update(id=event_id, type=f"qbo.billpayment.{verb}.v1", intuitaccountid=realm, intuitentityid=txn)
    return json.dumps(sample).encode()


def legacy(realm: str, txn: str, operation: str = "Create") -> bytes:
    sample = json.loads((SAMPLES / "webhook-legacy-docs.json").read_text())
    notification = sample["eventNotifications"][0]
    notification["realmId"] = realm
    notification["dataChangeEvent"]["entities"] = [
        {"name": "BillPayment", "id": txn, "operation": operation, "lastUpdated": "2026-11-27T10:00:00-0800"}
    ]
    return json.dumps(sample).encode()


@pytest.fixture
def token(qbo_settings: Any) -> str:
    return str(qbo_settings.verifier_token)


def test_given_the_published_samples_signed_then_they_are_stored_and_ignored_as_unknown(qbo, token):
    for name, content_type in (("webhook-cloudevents.json", "application/json"), ("webhook-legacy-docs.json",
                                                                                    "application/json")):
        body = (SAMPLES / name).read_bytes()
        assert post(body, token=token, content_type=content_type).status_code == 200
    settle()
    events = list(WebhookEvent.objects.order_by("id").values_list("format", "realm_id", "entity", "operation", "state"))
    assert events == [
        ("cloudevents", "310687", "account", "Create", EventState.IGNORED),
        ("legacy", "1185883450", "Customer", "Create", EventState.IGNORED),
        ("legacy", "1185883450", "Vendor", "Create", EventState.IGNORED),
    ]


@pytest.mark.parametrize("fmt", ["cloudevents", "legacy"])
def test_given_a_signed_sample_shaped_event_for_a_payment_then_the_invoice_is_paid(
    qbo, token, creator, approver, supplier, fmt
):
    invoice = exported_invoice(creator, approver, supplier)
    txn = pay(qbo, (invoice, None))
    body = cloudevent(qbo.realm_id, txn) if fmt == "cloudevents" else legacy(qbo.realm_id, txn)
    assert post(body, token=token).status_code == 200
    settle()
    assert status_of(invoice) == Status.PAID
    assert Payment.objects.get().via == Via.WEBHOOK


def test_given_the_same_webhook_three_times_then_it_counts_once(qbo, token, creator, approver, supplier):
    invoice = exported_invoice(creator, approver, supplier)
    txn = pay(qbo, (invoice, "20.00"))
    body = cloudevent(qbo.realm_id, txn)
    for _ in range(3):
        assert post(body, token=token).status_code == 200
    # A fourth delivery of the same change under another event id is still one payment.
    assert post(cloudevent(qbo.realm_id, txn, event_id="ev-2"), token=token).status_code == 200
    settle()
    assert WebhookEvent.objects.count() == 2
    assert Payment.objects.count() == 1
    assert status_of(invoice) == Status.PARTLY_PAID


@pytest.mark.parametrize("forgery", ["unsigned", "wrong token", "body changed"])
def test_given_a_forged_webhook_then_401_and_nothing_recorded(qbo, token, creator, approver, supplier, forgery):
    invoice = exported_invoice(creator, approver, supplier)
    txn = pay(qbo, (invoice, None))
    body = cloudevent(qbo.realm_id, txn)
    if forgery == "unsigned":
        response = post(body, token=None)
    elif forgery == "wrong token":
        response = post(body, token="not-" + token)
    else:
        response = Client().post(
            URL, data=body.replace(b"ev-1", b"ev-9"), content_type="application/json",
            HTTP_INTUIT_SIGNATURE=signed(body, token),
        )
    settle()
    assert response.status_code == 401
    assert not WebhookEvent.objects.exists()
    assert not Payment.objects.exists()
    assert status_of(invoice) == Status.APPROVED


def test_given_a_delete_event_then_the_payment_is_cancelled_without_reading_it(qbo, token, creator, approver, supplier):
    invoice = exported_invoice(creator, approver, supplier)
    txn = pay(qbo, (invoice, None))
    post(cloudevent(qbo.realm_id, txn), token=token)
    settle()
    qbo.control("DELETE", f"/bill-payments/{txn}")
    post(legacy(qbo.realm_id, txn, operation="Delete"), token=token)
    settle()
    assert status_of(invoice) == Status.APPROVED


def test_the_endpoint_only_takes_post(client):
    assert client.get(URL).status_code == 405


# ---------------------------------------------------------------- bodies the emulator signs


@pytest.fixture
def emulator_webhooks(qbo: Qbo, live_server: Any) -> Iterator[Qbo]:
    yield qbo
    qbo.emulator.control("PUT", "/webhooks", json={"url": "", "format": "cloudevents"})


def wait_for(invoice: Any, status: str, seconds: float = 15) -> str:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        settle()
        if status_of(invoice) == status:
            break
        time.sleep(0.05)
    return status_of(invoice)


@pytest.mark.parametrize("fmt", ["cloudevents", "legacy"])
def test_given_the_emulator_sends_signed_webhooks_then_pay_and_void_reach_the_invoice(
    emulator_webhooks, live_server, creator, approver, supplier, fmt
):
    qbo = emulator_webhooks
    invoice = exported_invoice(creator, approver, supplier)
    qbo.emulator.control("PUT", "/webhooks", json={"url": f"{live_server.url}{URL}", "format": fmt})
    txn = pay(qbo, (invoice, "20.00"))
    assert wait_for(invoice, Status.PARTLY_PAID) == Status.PARTLY_PAID
    qbo.control("POST", f"/bill-payments/{txn}/void")
    assert wait_for(invoice, Status.APPROVED) == Status.APPROVED
    deliveries = qbo.emulator.control("GET", "/webhooks")["deliveries"]
    assert deliveries and all(d["status"] == 200 for d in deliveries[-2:])
    assert Payment.objects.get(qbo_txn_id=txn).via == Via.WEBHOOK
