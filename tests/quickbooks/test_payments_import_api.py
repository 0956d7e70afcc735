"""The date-range import through the REST API: same rules as the Payments page."""

import time

from rest_framework.test import APIClient

from quickbooks.models import Connection, PaymentImportRun


def api(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def wait_finished(client, run_id, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = client.get(f"/api/v1/payments/imports/{run_id}").json()
        if body["finished"]:
            return body
        time.sleep(0.1)
    raise AssertionError("the import did not finish")


def test_given_a_payer_when_importing_a_range_then_the_run_is_created_and_finishes(qbo, payer):
    client = api(payer)
    response = client.post("/api/v1/payments/imports", {"date_from": "2026-11-01", "date_to": "2026-11-26"}, "json")
    assert response.status_code == 201, response.json()
    body = wait_finished(client, response.json()["id"])
    assert body["state"] == "done" and body["error"] == ""


def test_given_no_payment_role_then_the_import_is_refused_and_nothing_starts(qbo, creator):
    response = api(creator).post(
        "/api/v1/payments/imports", {"date_from": "2026-11-01", "date_to": "2026-11-02"}, "json"
    )
    assert response.status_code == 403
    assert "Payment role" in response.json()["error"]["message"]
    assert not PaymentImportRun.objects.exists()


def test_given_the_switch_is_off_then_the_import_is_refused_with_the_reason(qbo, payer):
    Connection.objects.filter(pk=qbo.connection.pk).update(import_payments=False)
    response = api(payer).post("/api/v1/payments/imports", {"date_from": "2026-11-01", "date_to": "2026-11-02"}, "json")
    assert response.status_code == 409
    assert "switched off" in response.json()["error"]["message"]
    assert not PaymentImportRun.objects.exists()


def test_given_a_bad_range_then_the_field_is_named(qbo, payer):
    client = api(payer)
    backwards = client.post("/api/v1/payments/imports", {"date_from": "2026-11-10", "date_to": "2026-11-01"}, "json")
    assert backwards.status_code == 422 and "date_to" in backwards.json()["error"]["fields"]  # a rule
    garbled = client.post("/api/v1/payments/imports", {"date_from": "10/11/2026", "date_to": "2026-11-01"}, "json")
    assert garbled.status_code == 400 and "date_from" in garbled.json()["error"]["fields"]  # not a date
    assert not PaymentImportRun.objects.exists()
