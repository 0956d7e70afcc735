"""The date-range import on the Payments page: same payments however often it runs, gated by the
Payment role and the company's "Import payments from QuickBooks" switch, clear about bad ranges."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from payments.models import Payment, Via
from procurement.models import Status
from procuresync.errors import RoleRequired, ValidationFailed
from quickbooks.errors import ImportSwitchedOff, NotConnected
from quickbooks.inbound.models import ImportState, PaymentImportRun
from quickbooks.inbound.payments_import import import_start
from quickbooks.models import Connection
from tests.quickbooks.conftest import settle
from tests.quickbooks.test_payments_in import bill_id, exported_invoice, pay, status_of


def this_month() -> dict[str, dt.date]:
    today = timezone.localdate()
    return {"date_from": today - dt.timedelta(days=40), "date_to": today}


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_given_payments_in_qbo_when_imported_twice_then_the_same_payments(qbo, payer, creator, approver, supplier):
    paid = exported_invoice(creator, approver, supplier, code="INV-P")
    partly = exported_invoice(creator, approver, supplier, code="INV-Q", amount="80.00")
    vendor = qbo.bill(bill_id(paid))["VendorRef"]["value"]
    theirs = qbo.control("POST", "/bills", json={"vendor_id": vendor, "amount": "12.00"})["Bill"]
    pay(qbo, (paid, None))
    pay(qbo, (partly, "30.00"))
    qbo.control("POST", "/bill-payments", json={"bills": [{"bill_id": theirs["Id"]}]})

    first = import_start(actor=payer, **this_month())
    settle()
    first.refresh_from_db()
    assert (first.state, first.new, first.known, first.unlinked) == (ImportState.DONE, 2, 0, 1)
    assert (status_of(paid), status_of(partly)) == (Status.PAID, Status.PARTLY_PAID)
    before = sorted(Payment.objects.values_list("qbo_txn_id", "amount", "status"))

    second = import_start(actor=payer, **this_month())
    settle()
    second.refresh_from_db()
    assert (second.state, second.new, second.known, second.unlinked) == (ImportState.DONE, 0, 2, 1)
    assert sorted(Payment.objects.values_list("qbo_txn_id", "amount", "status")) == before
    assert set(Payment.objects.values_list("via", flat=True)) == {Via.IMPORT}


def test_given_a_payer_on_the_page_when_importing_then_progress_and_result_show(
    qbo, payer, creator, approver, supplier
):
    invoice = exported_invoice(creator, approver, supplier)
    pay(qbo, (invoice, None))
    client = logged_in(payer)
    page = client.get(reverse("payment-list"))
    assert b"Import from QuickBooks" in page.content
    today = timezone.localdate()
    response = client.post(reverse("payment-import"), {
        "import-date_from": (today - dt.timedelta(days=7)).isoformat(), "import-date_to": today.isoformat()})
    assert response.status_code == 302
    settle()
    run = PaymentImportRun.objects.get()
    progress = client.get(reverse("payment-import-progress", args=[run.pk]))
    assert b"1 new" in progress.content and b"every 1s" not in progress.content
    assert status_of(invoice) == Status.PAID
    listing = client.get(reverse("payment-list")).content.decode()
    assert "QuickBooks import" in listing and "/_emulator/console" in listing


@pytest.mark.parametrize(
    ("date_from", "date_to", "message"),
    [
        ("yesterday", "2026-11-01", "Enter the first day as a date"),
        ("2026-03-02", "2026-03-01", "The last day is before the first day."),
        ("2024-01-01", "2025-06-01", "Import at most one year at a time."),
        ("+1", "+3", "The first day is in the future."),
        ("-3", "+3", "The last day is in the future."),
    ],
)
def test_given_an_invalid_range_then_a_clear_message_and_no_import(qbo, payer, date_from, date_to, message):
    today = timezone.localdate()

    def day(text: str) -> str:
        return (today + dt.timedelta(days=int(text))).isoformat() if text[0] in "+-" else text

    response = logged_in(payer).post(
        reverse("payment-import"), {"import-date_from": day(date_from), "import-date_to": day(date_to)}
    )
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not PaymentImportRun.objects.exists()


def test_given_no_payment_role_then_the_page_and_the_service_refuse(qbo, creator, admin):
    for user in (creator, admin):
        client = logged_in(user)
        assert client.get(reverse("payment-list")).status_code == 403
        today = timezone.localdate().isoformat()
        response = client.post(reverse("payment-import"), {"import-date_from": today, "import-date_to": today})
        assert response.status_code == 403
        with pytest.raises(RoleRequired):
            import_start(actor=user, **this_month())
    assert not PaymentImportRun.objects.exists()


def test_given_the_switch_off_then_no_button_and_the_import_is_refused_with_a_message(qbo, payer):
    Connection.objects.filter(pk=qbo.connection.pk).update(import_payments=False)
    client = logged_in(payer)
    page = client.get(reverse("payment-list")).content.decode()
    assert "Import from QuickBooks</button>" not in page
    assert "An Admin can switch it on in Integrations." in page
    today = timezone.localdate().isoformat()
    response = client.post(reverse("payment-import"), {"import-date_from": today, "import-date_to": today})
    assert response.status_code == 400 and "switched off" in response.content.decode()
    with pytest.raises(ImportSwitchedOff):
        import_start(actor=payer, **this_month())
    assert not PaymentImportRun.objects.exists()


def test_given_the_service_with_a_bad_range_then_field_messages(qbo, payer):
    with pytest.raises(ValidationFailed) as caught:
        import_start(actor=payer, date_from=None, date_to=timezone.localdate())
    assert "date_from" in caught.value.fields


def test_given_no_quickbooks_connection_then_the_page_says_so(payer):
    page = logged_in(payer).get(reverse("payment-list")).content.decode()
    assert "not connected to QuickBooks" in page and "Import from QuickBooks</button>" not in page
    with pytest.raises(NotConnected):
        import_start(actor=payer, **this_month())
