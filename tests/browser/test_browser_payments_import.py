"""A real browser: a payer imports QuickBooks payments for a date range on the Payments page, watches
the progress, and sees the invoice turn Paid.

Drives Debian's chromium through Playwright against pytest-django's live server, a live emulator
and the real worker threads.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from accounts.models import User
from procurement.models import Status, Supplier
from tests.conftest import PASSWORD
from tests.quickbooks import conftest as quickbooks_fixtures
from tests.quickbooks.test_payments_in import exported_invoice, pay

# The QuickBooks tests' fixtures (live emulator, worker threads, connected company), used here too.
emulator = quickbooks_fixtures.emulator
qbo_settings = quickbooks_fixtures.qbo_settings
worker = quickbooks_fixtures.worker
qbo = quickbooks_fixtures.qbo

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def page(live_server: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip("/usr/bin/chromium is not installed (apt-get install chromium)")
    # Playwright's sync API runs an event loop in this thread; Django refuses ORM calls from a thread
    # with a running loop unless told that this is deliberate.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
        context.set_default_timeout(15_000)
        yield context.new_page()
        browser.close()


def test_given_a_payment_in_qbo_when_a_payer_imports_the_range_then_the_invoice_is_paid(
    page: Any, qbo: Any, payer: User, creator: User, approver: User, supplier: Supplier
) -> None:
    from playwright.sync_api import expect

    invoice = exported_invoice(creator, approver, supplier, code="BROWSER-1")
    pay(qbo, (invoice, None))  # a QBO user pays the bill; no webhook is configured

    page.goto("/login/")
    page.fill("#id_username", payer.username)
    page.fill("#id_password", PASSWORD)
    page.click("button:has-text('Log in')")
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
