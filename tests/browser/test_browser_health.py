"""A real browser: QuickBooks fails an invoice on an injected fault; the Admin opens Integrations →
Health and sees the failure in the week's chart, its cause with what to do, and the attempt in the
sync log — under the strict CSP, with nothing blocked (the chart is SVG drawn on the server).

Also writes docs/screenshots/health.png, the picture the docs show.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from accounts.models import User
from procurement.models import Supplier
from tests.browser.conftest import log_in
from tests.browser.test_browser_csp import listen_for_violations
from tests.quickbooks.conftest import Qbo
from tests.quickbooks.test_health import failing_on_a_fault
from tests.quickbooks.test_payments_in import exported_invoice

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def test_given_an_invoice_failed_on_an_injected_fault_when_the_admin_opens_health_then_the_chart_and_the_cause_show_it(
    page: Any, qbo: Qbo, admin: User, creator: User, approver: User, supplier: Supplier
) -> None:
    from playwright.sync_api import expect

    exported_invoice(creator, approver, supplier, code="OK-77")
    broken = failing_on_a_fault(qbo, creator, approver, supplier, "BAD-77")
    violations = listen_for_violations(page)

    log_in(page, admin)
    page.wait_for_url("**/invoices/")
    page.click("nav >> text=Integrations")
    page.click("#quickbooks a:has-text('Health')")

    page.wait_for_url("**/integrations/health/")
    chart = page.locator("#chart-documents")
    expect(chart.locator("svg[role=img]")).to_be_visible()
    expect(chart.locator("rect.bar-failed")).to_have_count(1)
    expect(chart.locator("rect.bar-sent")).to_have_count(1)
    expect(chart.locator(".chart-legend")).to_contain_text("Failed 1")
    expect(chart.locator("svg desc")).to_contain_text("1 sent, 9 retried, 1 failed")
    # The bars are coloured by app.css, not by an inline style the CSP would block.
    fill = chart.locator("rect.bar-failed").evaluate("rect => getComputedStyle(rect).fill")
    assert fill == "rgb(192, 53, 43)"  # --danger
    cause = page.locator("#failures tr[data-code='10000']")
    expect(cause).to_contain_text("QuickBooks kept failing")
    expect(cause).to_contain_text("Retry all failed")
    expect(cause.locator(f"a:has-text('{broken.number}')")).to_have_attribute("href", f"/invoices/{broken.pk}/")

    page.select_option("#id_outcome", "failed")
    page.click("#sync-log button:has-text('Filter')")
    expect(page.locator("#sync-log tr.log-row")).to_have_count(1)
    expect(page.locator("#sync-log tr.log-row")).to_contain_text(broken.number)
    download = page.locator("#sync-log a:has-text('Download CSV')")
    expect(download).to_have_attribute("href", re.compile(r"^/integrations/health/sync-log\.csv\?.*outcome=failed"))

    page.goto("/integrations/health/")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "health.png"), full_page=True)
    assert violations == []
