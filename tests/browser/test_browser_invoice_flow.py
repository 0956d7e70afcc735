"""A real browser walks an invoice from creation to Paid: creator, approver and payer, each logged in.

Drives Debian's chromium through Playwright against pytest-django's live server, so the forms,
the "Add line" script, the htmx search and the workflow buttons are exercised as a person uses them.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

import pytest

from accounts.models import User
from procurement.models import Document, Status, Supplier
from tests.browser.conftest import log_in

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _log_in(page: Page, user: User) -> None:
    log_in(page, user)
    page.wait_for_url("**/invoices/")


def _log_out(page: Page) -> None:
    page.click("button:has-text('Log out')")
    page.wait_for_url("**/login/")


def test_given_three_people_when_an_invoice_goes_through_the_pages_then_it_ends_paid(
    page, creator: User, approver: User, payer: User, supplier: Supplier, draft_invoice: Document
) -> None:
    from playwright.sync_api import expect

    # The creator makes an invoice with a discounted line and a second line added with "Add line".
    _log_in(page, creator)
    page.click("text=New invoice")
    page.select_option("#id_supplier", label=supplier.name)
    expect(page.locator("#id_currency")).to_have_value("USD")
    page.fill("#id_issue_date", "2026-11-02")
    page.fill("#id_due_date", "2026-12-02")
    page.fill("#id_supplier_unique_code", "PAPER-778")
    page.fill("#id_lines-0-description", "A4 paper")
    page.fill("#id_lines-0-quantity", "10")
    page.fill("#id_lines-0-unit_price", "5.00")
    page.select_option("#id_lines-0-discount_type", "percent")
    page.fill("#id_lines-0-discount_value", "10")
    page.click("text=+ Add line")
    page.fill("#id_lines-1-description", "Stapler")
    page.fill("#id_lines-1-unit_price", "20")
    page.click("button:has-text('Create invoice')")
    expect(page.locator(".messages")).to_contain_text("created as a draft")
    expect(page.locator("table.totals")).to_contain_text("65.00 USD")  # 45.00 + 20.00
    page.click("button:has-text('Submit for approval')")
    expect(page.locator("h1 .badge")).to_have_text("Pending")
    _log_out(page)

    # The approver finds it with the live search and approves it.
    _log_in(page, approver)
    expect(page.locator("#results tbody tr")).to_have_count(2)  # ours and the other draft
    page.fill("input[name=q]", "PAPER-7")
    expect(page.locator("#results tbody tr")).to_have_count(1)  # htmx swapped the table in place
    expect(page.locator("#results")).to_contain_text("PAPER-778")
    page.wait_for_url("**/invoices/?q=PAPER-7*")  # and pushed the search into the address bar
    page.click("#results a:has-text('INV-')")
    page.click("button:has-text('Approve')")
    expect(page.locator(".messages")).to_contain_text("approved")
    expect(page.locator("h1 .badge")).to_have_text("Approved")
    _log_out(page)

    # The payer pays part, then the rest (the amount field offers what is outstanding).
    _log_in(page, payer)
    invoice = Document.objects.get(supplier_unique_code="PAPER-778")
    page.goto(f"/invoices/{invoice.pk}/")
    expect(page.locator("#id_amount")).to_have_value("65.00")
    page.fill("#id_amount", "25.00")
    page.fill("#id_reference", "CHK 1001")
    page.click("button:has-text('Record payment')")
    expect(page.locator("h1 .badge")).to_have_text("Partly Paid")
    expect(page.locator("#id_amount")).to_have_value("40.00")
    page.click("button:has-text('Record payment')")
    expect(page.locator("h1 .badge")).to_have_text("Paid")

    invoice.refresh_from_db()
    assert invoice.status == Status.PAID
    assert sorted(p.amount for p in invoice.payments.all()) == [Decimal("25.00"), Decimal("40.00")]
