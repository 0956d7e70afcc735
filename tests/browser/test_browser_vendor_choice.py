"""A real browser links a supplier by choosing its QuickBooks vendor: the Admin types part of the
vendor's name under the supplier on Integrations, htmx shows the matching imported vendors with
email and currency, and one click on Link links them.

Drives Debian's chromium through Playwright against pytest-django's live server and a live emulator.
"""

from __future__ import annotations

from typing import Any

import pytest

from accounts.models import User
from procurement.models import Supplier
from quickbooks.models import ImportedVendor, VendorLink
from tests.browser.conftest import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_given_imported_vendors_when_an_admin_types_part_of_a_name_and_picks_one_then_the_supplier_is_linked(
    page: Any, qbo: Any, admin: User, supplier: Supplier
) -> None:
    from playwright.sync_api import expect

    bobs = ImportedVendor.objects.get(company_id=admin.tenant_id, realm_id=qbo.realm_id, name="Bob's Burger Joint")
    log_in(page, admin)
    page.wait_for_url("**/invoices/")
    page.click("nav >> text=Integrations")

    row = page.locator(f"#supplier-vendor-{supplier.pk}")
    expect(row).to_contain_text("Not linked yet")
    row.get_by_label(f"Search QuickBooks vendors for {supplier.name}").press_sequentially("burg")

    # htmx swaps the choices in under the box as the Admin types: no page load.
    choice = row.locator("tr.vendor-choice", has_text="Bob's Burger Joint")
    expect(choice).to_contain_text("USD")
    expect(row.locator("tr.vendor-choice")).to_have_count(1)
    assert page.url.endswith("/integrations/")
    choice.locator("button:has-text('Link')").click()

    page.wait_for_url("**/integrations/#vendors")
    expect(page.locator(".messages")).to_contain_text(
        f"{supplier.name} is now linked to the QuickBooks vendor “Bob's Burger Joint”."
    )
    row = page.locator(f"#supplier-vendor-{supplier.pk}")
    expect(row).to_contain_text(f"Bob's Burger Joint (id {bobs.qbo_id})")
    expect(row).to_contain_text("by hand")
    link = VendorLink.objects.get(supplier=supplier)
    assert (link.qbo_id, link.how) == (bobs.qbo_id, "by hand")
