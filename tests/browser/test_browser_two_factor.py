"""A real browser turns on two-factor authentication and logs in with it.

Nothing is scanned: the test reads the key shown under the QR code, as a person would type it into
an authenticator app, and computes the codes from it itself.
"""

from __future__ import annotations

import base64
import time
from typing import TYPE_CHECKING

import pytest
from django_otp.oath import TOTP

from accounts.models import User
from tests.browser.conftest import log_in

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def app_code(secret: str, *, steps_ahead: int = 0) -> str:
    """What an authenticator app shows for this base32 key, now or ``steps_ahead`` 30-second steps on."""
    compact = secret.replace(" ", "").upper()
    key = base64.b32decode(compact + "=" * (-len(compact) % 8))
    totp = TOTP(key)
    totp.time = time.time() + 30 * steps_ahead
    return f"{totp.token():06d}"


def test_given_a_user_who_turns_on_two_factor_when_they_log_in_again_then_the_code_from_their_app_lets_them_in(
    page: Page, creator: User
) -> None:
    from playwright.sync_api import expect

    log_in(page, creator)
    page.wait_for_url("**/invoices/")
    page.click("header a.user")  # their name in the header: Your account
    expect(page.locator("h1")).to_have_text("Your account")
    page.click("text=Turn on two-factor authentication")
    expect(page.locator(".qr-code svg")).to_be_visible()
    secret = page.locator("#totp-secret").inner_text()
    page.fill("#id_code", app_code(secret))
    page.click("button:has-text('Turn on')")
    expect(page.locator("ul.recovery-codes li")).to_have_count(10)
    page.click("text=Continue")
    expect(page.locator("#two-factor .badge")).to_have_text("On")

    page.click("button:has-text('Log out')")
    page.wait_for_url("**/login/")
    log_in(page, creator)
    page.wait_for_url("**/account/two-factor/verify/**")
    # The code just used to turn it on is spent; the app's next one is accepted a step early.
    page.fill("#id_code", app_code(secret, steps_ahead=1))
    page.click("button:has-text('Continue')")

    page.wait_for_url("**/invoices/")
    expect(page.locator("h1")).to_contain_text("Invoices")
