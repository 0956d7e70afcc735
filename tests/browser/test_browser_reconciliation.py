"""A real browser: a bookkeeper deletes one of our bills on the QuickBooks (emulator) console; the Admin
reconciles on Integrations → Reconciliation, sees the bill reported as deleted in QuickBooks, sends
it again with one click, and a new reconciliation finds QuickBooks and procuresync in agreement.

Drives Debian's chromium through Playwright against pytest-django's live server, a live emulator
and the real worker threads.
"""

from __future__ import annotations

from typing import Any

import pytest

from accounts.models import User
from procurement.models import Supplier
from quickbooks.models import ReconciliationRun
from tests.browser.conftest import log_in
from tests.quickbooks.conftest import settle, sync_of
from tests.quickbooks.test_payments_in import bill_id, exported_invoice

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_given_a_bill_deleted_on_the_console_when_the_admin_reconciles_then_one_click_sends_it_again(
    page: Any, qbo: Any, admin: User, creator: User, approver: User, supplier: Supplier
) -> None:
    from playwright.sync_api import expect

    invoice = exported_invoice(creator, approver, supplier, code="BROWSER-DEL")
    deleted = bill_id(invoice)

    # A bookkeeper deletes the bill in QuickBooks, by hand, on the emulator's console.
    page.goto(f"{qbo.emulator.base_url}/_emulator/console")
    # The test's own company: the emulator is shared, and every test's company has the same name.
    page.click(f"a[href='?realm={qbo.realm_id}']")
    row = page.locator("tr", has_text="BROWSER-DEL")
    row.locator("button:has-text('Delete')").click()
    expect(page.locator(".msg")).to_contain_text(f"Bill {deleted} deleted")
    expect(page.locator("body")).not_to_contain_text("BROWSER-DEL")

    # The Admin reconciles.
    log_in(page, admin)
    page.wait_for_url("**/invoices/")
    page.click("nav >> text=Integrations")
    page.click("a:has-text('Open Reconciliation')")
    page.click("button:has-text('Reconcile now')")
    expect(page.locator(".recon-count")).to_have_text("1 difference")  # htmx polls until the run is done
    expect(page.locator("nav.tabs")).to_contain_text("Deleted in QuickBooks (1)")
    reported = page.locator("tr.recon-row", has_text=invoice.number)
    expect(reported).to_contain_text(f"was sent as bill {deleted}, which QuickBooks no longer has")

    # One click on its fix sends it again.
    reported.locator("button:has-text('Send ours again')").click()
    expect(page.locator(".messages")).to_contain_text(f"{invoice.number}: queued to send again.")
    expect(page.locator("tr.recon-row", has_text=invoice.number)).to_contain_text("Queued to send again")
    settle()
    again = sync_of(invoice).qbo_id
    assert again and again != deleted
    assert qbo.bill(again)["DocNumber"] == "BROWSER-DEL"

    # And a new reconciliation finds nothing.
    page.click("button:has-text('Reconcile now')")
    expect(page.locator(".recon-count")).to_have_text("0 differences")
    expect(page.locator(".recon-clean")).to_contain_text("QuickBooks holds exactly what procuresync says it should.")
    assert ReconciliationRun.objects.count() == 2
