"""An approver sees, before approving, what QuickBooks will receive: the preview warns that the
books are closed for the invoice's date and says how to fix it; a new date clears the warning.

Also writes docs/screenshots/preview.png, the picture the docs show.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from accounts.models import User
from accounts.roles import Role
from procurement.models import Supplier
from procurement.services import document_create
from quickbooks.models import Connection
from tests.browser.conftest import log_in
from tests.conftest import invoice_data, line, make_user
from tests.quickbooks.conftest import Qbo

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def test_given_closed_books_when_an_approver_opens_the_invoice_then_the_preview_warns_and_a_new_date_clears_it(
    page: Any, qbo: Qbo, creator: User, supplier: Supplier
) -> None:
    from playwright.sync_api import expect

    approver = make_user(creator.company, "editor-approver", Role.CREATE, Role.APPROVE)
    qbo.close_books(dt.date(2026, 10, 31))
    Connection.objects.filter(pk=qbo.connection.pk).update(book_close_date=dt.date(2026, 10, 31))
    data = invoice_data(
        supplier,
        line("A4 paper", "10", "5.00"),
        line("Toner", "2", "41.50"),
        code="LATE-77",
        issue_date=dt.date(2026, 10, 20),
    )
    invoice = document_create(actor=creator, kind="invoice", data=data)

    log_in(page, approver)
    page.goto(f"/invoices/{invoice.pk}/")
    preview = page.locator("#quickbooks-preview")
    expect(preview).to_contain_text("What QuickBooks will receive")
    expect(preview.locator("[data-code=closed_period]")).to_contain_text("change its date to after 31 Oct 2026")
    expect(preview.locator("#preview-total")).to_have_text("133.00")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    preview.screenshot(path=str(SCREENSHOTS / "preview.png"))

    page.click(".actions a:has-text('Edit')")
    page.fill("#id_issue_date", "2026-11-03")
    page.click("button:has-text('Save changes')")
    expect(page.locator("h1")).to_contain_text(invoice.number)
    expect(preview).to_contain_text("What QuickBooks will receive")
    expect(preview.locator("[data-code=closed_period]")).to_have_count(0)
    page.click("button:has-text('Submit for approval')")
    expect(page.locator("h1 .badge")).to_have_text("Pending")
    # Nothing would stop it now, so approving asks no question.
    expect(page.locator("form[data-confirm]")).to_have_count(1)  # only Cancel asks
    page.click("button:has-text('Approve')")
    expect(page.locator("h1 .badge")).to_have_text("Approved")
