"""A real browser enforces the Content-Security-Policy: the key pages, htmx and the API docs work
under it, and the browser reports no violation (nothing inline was blocked).

Violations are heard twice: the ``securitypolicyviolation`` event each page fires, and chromium's
console message ("Refused to ... because it violates the following Content Security Policy ...").
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from accounts.models import User
from accounts.roles import Role
from procurement.models import Document
from tests.browser.conftest import log_in
from tests.conftest import make_user

if TYPE_CHECKING:
    from playwright.sync_api import ConsoleMessage, Page

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

REPORT_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (event) => {
  window.reportViolation(`${event.violatedDirective} blocked ${event.blockedURI || "inline code"}`
    + ` at ${event.sourceFile}:${event.lineNumber} on ${location.pathname}`);
});
"""


def listen_for_violations(page: Page) -> list[str]:
    violations: list[str] = []

    def reported(text: str) -> None:
        violations.append(text)

    def console(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            violations.append(f"console: {message.text}")

    page.expose_function("reportViolation", reported)
    page.add_init_script(REPORT_VIOLATIONS)
    page.on("console", console)
    return violations


def test_given_the_policy_when_an_admin_uses_the_key_pages_then_they_work_and_nothing_is_blocked(
    page: Page, company, approved_invoice: Document, creator: User
) -> None:
    from playwright.sync_api import expect

    boss = make_user(company, "boss", *Role)
    violations = listen_for_violations(page)

    log_in(page, boss)
    page.wait_for_url("**/invoices/")
    # htmx: the live search swaps the table in, sending the CSRF header from <body hx-headers>.
    page.fill("input[name=q]", approved_invoice.supplier_unique_code)
    page.wait_for_url("**/invoices/?q=*")
    expect(page.locator("#results tbody tr")).to_have_count(1)

    # app.js: "Add line" copies the <template>, choosing a supplier fills the currency (json_script).
    page.goto("/invoices/new/")
    page.click("text=+ Add line")
    expect(page.locator("#id_lines-1-description")).to_be_visible()
    page.select_option("#id_supplier", label=approved_invoice.supplier.name)
    expect(page.locator("#id_currency")).to_have_value("USD")

    # htmx posts a role change and swaps the row; data-confirm asks before a deactivation.
    page.goto("/users/")
    row = page.locator(f"#user-{creator.pk}")
    row.locator("input[value=Payment]").check()
    expect(row.locator(".saved")).to_have_text("Saved")
    page.once("dialog", lambda dialog: dialog.dismiss())
    row.locator("button:has-text('Deactivate')").click()
    expect(row.locator(".badge.status-active")).to_have_text("Active")
    page.once("dialog", lambda dialog: dialog.accept())
    row.locator("button:has-text('Deactivate')").click()
    expect(page.locator(".messages")).to_contain_text("deactivated")

    for path in (f"/invoices/{approved_invoice.pk}/", "/payments/", "/integrations/", "/account/password/"):
        page.goto(path)
        expect(page.locator("h1").first).to_be_visible()

    # The API docs: Swagger UI from the sidecar's files, its start-up script from /api/docs/?script.
    page.goto("/api/docs/")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("procuresync API")
    expect(page.locator(".opblock-tag-section").first).to_be_visible()

    page.goto("/login/")  # the last page's violations arrive before the test reads them
    assert violations == []


def test_given_an_htmx_form_with_data_confirm_when_the_user_declines_then_htmx_sends_nothing(
    page: Page, company, creator: User
) -> None:
    boss = make_user(company, "boss", *Role)
    log_in(page, boss)
    page.wait_for_url("**/invoices/")
    page.goto("/users/")
    posts: list[str] = []
    page.on("request", lambda request: posts.append(request.url) if request.method == "POST" else None)

    # A form htmx submits itself (hx-post, submitted by a button): app.js must ask before htmx sends.
    page.evaluate(
        """(url) => {
          const form = document.createElement("form");
          form.setAttribute("hx-post", url);
          form.setAttribute("hx-swap", "none");
          form.setAttribute("data-confirm", "Really?");
          form.innerHTML = '<button id="htmx-confirm-probe">Go</button>';
          document.body.append(form);
          htmx.process(form);
        }""",
        f"/users/{creator.pk}/roles/",
    )
    page.once("dialog", lambda dialog: dialog.dismiss())
    page.click("#htmx-confirm-probe")
    page.wait_for_timeout(300)
    assert posts == []

    page.once("dialog", lambda dialog: dialog.accept())
    with page.expect_request(lambda request: request.method == "POST"):
        page.click("#htmx-confirm-probe")
