"""A real browser connects QuickBooks: the Admin presses Connect, consents on the emulator's Intuit
page, and comes back to Integrations connected — the whole OAuth round trip through real redirects.

Drives Debian's chromium through Playwright against pytest-django's live server and a live emulator.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from accounts.models import User
from qbo_emulator.config import EmulatorConfig, Limits
from qbo_emulator.testing import RunningEmulator, running_emulator
from quickbooks import oauth
from quickbooks.models import Connection, ConnectionStatus
from tests.conftest import PASSWORD

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def emulator(settings: Any) -> Iterator[RunningEmulator]:
    with running_emulator(EmulatorConfig(limits=Limits(enabled=False))) as emu:
        creds = emu.credentials
        settings.QBO_CLIENT_ID = creds["client_id"]
        settings.QBO_CLIENT_SECRET = creds["client_secret"]
        settings.QBO_API_BASE_URL = creds["base_url"]
        settings.QBO_AUTH_URL = creds["auth_url"]
        settings.QBO_TOKEN_URL = creds["token_url"]
        settings.QBO_REVOKE_URL = creds["revoke_url"]
        settings.QBO_REDIRECT_URI = ""  # built from the request: the live server's localhost address
        oauth.set_http_client(None)
        yield emu


@pytest.fixture
def page(live_server: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    if not CHROMIUM.exists():
        pytest.skip("/usr/bin/chromium is not installed (apt-get install chromium)")
    # Playwright's sync API runs an event loop in this thread; Django refuses ORM calls from a thread
    # with a running loop unless told that this is deliberate.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
        context.set_default_timeout(10_000)
        yield context.new_page()
        browser.close()


def test_given_an_admin_when_they_connect_through_intuits_consent_page_then_integrations_shows_connected(
    page: Any, emulator: RunningEmulator, admin: User
) -> None:
    from playwright.sync_api import expect

    page.goto("/login/")
    page.fill("#id_username", admin.username)
    page.fill("#id_password", PASSWORD)
    page.click("button:has-text('Log in')")
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
