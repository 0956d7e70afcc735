"""A real browser: a payer imports QuickBooks payments for a date range on the Payments page, watches
the progress, and sees the invoice turn Paid.

Drives Debian's chromium through Playwright against pytest-django's live server, a live emulator
and the real worker threads.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from accounts.models import User
from procurement.models import Status, Supplier
from tests.browser.conftest import log_in
from tests.quickbooks.test_payments_in import exported_invoice, pay

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_given_a_payment_in_qbo_when_a_payer_imports_the_range_then_the_invoice_is_paid(
    page: Any, qbo: Any, payer: User, creator: User, approver: User, supplier: Supplier
) -> None:
    from playwright.sync_api import expect

    invoice = exported_invoice(creator, approver, supplier, code="BROWSER-1")
    pay(qbo, (invoice, None))  # a QBO user pays the bill; no webhook is configured

    log_in(page, payer)
    page.wait_for_load_state()
    page.goto("/payments/")
    today = timezone.localdate()
    page.fill("#id_import-date_from", (today - dt.timedelta(days=7)).isoformat())
    page.fill("#id_import-date_to", today.isoformat())
    page.click("button:has-text('Import from QuickBooks')")
    expect(page.locator(".messages")).to_contain_text("Importing QuickBooks payments")
    expect(page.locator(".import-result")).to_contain_text("1 new")  # htmx polls until the run is done
    expect(page.locator(".import-result")).to_contain_text("0 not linked to our invoices")
    page.click(".import-result a:has-text('Show payments')")
    expect(page.locator("#results")).to_contain_text("QuickBooks import")
    expect(page.locator("#results")).to_contain_text(invoice.number)

    page.click(f"#results a:has-text('{invoice.number}')")
    expect(page.locator("body")).to_contain_text("Paid")
    invoice.refresh_from_db()
    assert invoice.status == Status.PAID


def test_given_many_bill_payments_when_a_payer_imports_the_range_then_the_page_shows_progress_to_the_end(
    page: Any, qbo: Any, payer: User
) -> None:
    from playwright.sync_api import expect

    qbo.control("POST", "/bulk", json={"bills": 2400, "pay_ratio": 1.0, "days": 5})  # three pages of 1,000
    qbo.fault(latency_ms=700)  # QuickBooks answers slowly enough to watch

    log_in(page, payer)
    page.wait_for_load_state()
    page.goto("/payments/")
    today = timezone.localdate()
    page.fill("#id_import-date_from", (today - dt.timedelta(days=10)).isoformat())
    page.fill("#id_import-date_to", today.isoformat())
    page.click("button:has-text('Import from QuickBooks')")

    expect(page.locator(".run-progress")).to_contain_text("of 2400 QuickBooks bill payments read", timeout=20_000)
    expect(page.locator(".run-progress progress")).to_have_attribute("max", "2400")
    expect(page.locator(".import-result")).to_contain_text("2400 bill payments read", timeout=60_000)
    expect(page.locator(".run-progress")).to_have_count(0)
