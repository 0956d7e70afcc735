"""A real browser connects QuickBooks: the Admin presses Connect, consents on the emulator's Intuit
page, and comes back to Integrations connected — the whole OAuth round trip through real redirects.

Drives Debian's chromium through Playwright against pytest-django's live server and a live emulator.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from accounts.models import User
from qbo_emulator.config import EmulatorConfig, Limits
from qbo_emulator.testing import RunningEmulator, running_emulator
from quickbooks.models import Connection, ConnectionStatus
from tests.browser.conftest import log_in
from tests.conftest import use_emulator

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def emulator(settings: Any) -> Iterator[RunningEmulator]:
    with running_emulator(EmulatorConfig(limits=Limits(enabled=False))) as emu:
        use_emulator(settings, emu, redirect_uri="")  # built from the request: the live server
        yield emu


def test_given_an_admin_when_they_connect_through_intuits_consent_page_then_integrations_shows_connected(
    page: Any, emulator: RunningEmulator, admin: User
) -> None:
    from playwright.sync_api import expect

    log_in(page, admin)
    page.wait_for_url("**/invoices/")

    page.click("nav >> text=Integrations")
    expect(page.locator("#quickbooks h2 .badge")).to_have_text("Not connected")
    page.click("button:has-text('Connect to QuickBooks')")

    # Intuit's consent page (the emulator's): name a new sandbox company and connect.
    page.wait_for_url(f"{emulator.base_url}/connect/oauth2*")
    page.check("input[name=realm][value=new]")
    page.fill("input[name=company_name]", "Browser Books")
    page.click("button[name=decision][value=connect]")

    page.wait_for_url("**/integrations/")
    expect(page.locator(".messages")).to_contain_text("Connected to the QuickBooks company “Browser Books”.")
    expect(page.locator("#quickbooks h2 .badge")).to_have_text("Connected")
    expect(page.locator("#quickbooks")).to_contain_text("Browser Books")
    expect(page.locator("#settings")).to_contain_text("Send automatically on approval")

    connection = Connection.objects.get(company_id=admin.tenant_id)
    assert connection.status == ConnectionStatus.CONNECTED
    assert connection.qbo_company_name == "Browser Books"
