"""The Content-Security-Policy: every page carries it, and nothing in the pages needs it relaxed.

The policy allows script and style only from files of our own origin, so an inline <script>, an
inline event handler (onsubmit=...), a style="" attribute or a <style> block would simply not work
in a browser. These tests find them before a browser does: in every page a user can open, and in
every template, including a page or template added later.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.http import HttpResponse
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from accounts.models import User
from accounts.roles import Role
from payments.services import payment_record
from procurement.models import Document
from procurement.services import document_create
from quickbooks.models import ListImportRun, PaymentImportRun, ReconciliationRun, SendRun
from tests.conftest import credit_note_data, make_user

# Inline code, as a browser would find it in a page or a template. A <script> with a src, or one
# holding JSON data (Django's json_script), runs nothing inline.
INLINE_CODE = {
    "inline <script>": re.compile(r"<script\b(?![^>]*\bsrc\s*=)(?![^>]*\btype\s*=\s*.application/json)[^>]*>", re.I),
    "inline event handler": re.compile(r"<[^<>]*\s(?:on[a-z]+|hx-on[:\-\w]*)\s*=", re.I),
    "style attribute": re.compile(r"<[^<>]*\sstyle\s*=", re.I),
    "<style> block": re.compile(r"<style\b", re.I),
    "javascript: URL": re.compile(r"javascript:", re.I),
}


def inline_code(html: str) -> list[str]:
    html = re.sub(r"\{#.*?#\}", "", html)  # template comments never reach the browser
    return [f"{what}: {match.group(0)[:120]!r}" for what, rule in INLINE_CODE.items() for match in rule.finditer(html)]


def policy_of(response: HttpResponse) -> dict[str, list[str]]:
    header = response.headers.get("Content-Security-Policy")
    assert header, f"{response.status_code} answer without a Content-Security-Policy header"
    directives = (part.split() for part in header.split(";") if part.strip())
    return {name: sources for name, *sources in directives}


def assert_strict_policy(response: HttpResponse) -> None:
    policy = policy_of(response)
    scripts = policy.get("script-src", policy.get("default-src", []))
    styles = policy.get("style-src", policy.get("default-src", []))
    assert scripts and "'unsafe-inline'" not in scripts and "'unsafe-eval'" not in scripts, policy
    assert styles and "'unsafe-inline'" not in styles, policy
    assert policy.get("object-src") == ["'none'"] and policy.get("frame-ancestors") == ["'none'"], policy


# ------------------------------------------------------------------------------ every page


def url_patterns(patterns: list[Any] | None = None, params: tuple[str, ...] = ()) -> Iterator[tuple[str, set[str]]]:
    """(URL name, names of its path parameters) for every URL the project answers."""
    for entry in get_resolver().url_patterns if patterns is None else patterns:
        found = (*params, *entry.pattern.regex.groupindex)
        if isinstance(entry, URLResolver):
            yield from url_patterns(entry.url_patterns, found)
        elif isinstance(entry, URLPattern):
            assert entry.name, f"unnamed URL pattern {entry.pattern}: name it so this test can reach it"
            yield entry.name, set(found)


@pytest.fixture
def boss(company: Any) -> User:
    """An Admin who also holds every other role: every page opens for them."""
    return make_user(company, "boss", *Role)


@pytest.fixture
def real_objects(approved_invoice: Document, draft_po: Document, payer: User, creator: User) -> dict[str, Any]:
    payment = payment_record(
        actor=payer, invoice=approved_invoice, amount=Decimal("10"), paid_on=dt.date(2026, 11, 5), method="cheque"
    )
    company_id = payer.tenant_id
    import_run = PaymentImportRun.objects.create(
        company_id=company_id,
        realm_id="1",
        requested_by=payer,
        date_from=dt.date(2026, 11, 1),
        date_to=dt.date(2026, 11, 5),
    )
    reconciliation = ReconciliationRun.objects.create(company_id=company_id, realm_id="1", state="done")
    credit_note = document_create(
        actor=creator, kind="credit_note", data=credit_note_data(approved_invoice.supplier, code="CN-CSP")
    )
    list_import = ListImportRun.objects.create(company_id=company_id, requested_by=creator, state="done")
    send = SendRun.objects.create(company_id=company_id, reason="retry all failed", document_ids=[approved_invoice.pk])
    return {
        "list_import": list_import,
        "send": send,
        "credit_note": credit_note,
        "invoice": approved_invoice,
        "po": draft_po,
        "supplier": approved_invoice.supplier,
        "payment": payment,
        "import_run": import_run,
        "reconciliation": reconciliation,
        "user": creator,
    }


# Path parameters by URL name (first match): the real object each page is about.
PARAMETERS: list[tuple[str, Any]] = [
    (r"^(invoice-|api-invoices|quickbooks-send)", lambda o: {"pk": o["invoice"].pk, "action": "cancel"}),
    (r"^(po-|api-purchase_orders)", lambda o: {"pk": o["po"].pk, "action": "cancel"}),
    (r"^integrations-lists-progress$", lambda o: {"pk": o["list_import"].pk}),
    (r"^integrations-send-progress$", lambda o: {"pk": o["send"].pk}),
    (r"^(credit-note-|api-credit_notes)", lambda o: {"pk": o["credit_note"].pk, "action": "cancel"}),
    (r"^(supplier-|api-suppliers)", lambda o: {"pk": o["supplier"].pk}),
    (r"^payment-record$", lambda o: {"invoice_pk": o["invoice"].pk}),
    (r"^(payment-import-progress|api-payment-imports)", lambda o: {"pk": o["import_run"].pk}),
    (r"^(payment-|api-payments)", lambda o: {"pk": o["payment"].pk}),
    (r"^user-", lambda o: {"pk": o["user"].pk}),
    (r"^(reconciliation-|api-reconciliations)", lambda o: {"pk": o["reconciliation"].pk, "index": 0}),
    (
        r"^password_reset_confirm$",
        lambda o: {
            "uidb64": urlsafe_base64_encode(force_bytes(o["user"].pk)),
            "token": default_token_generator.make_token(o["user"]),
        },
    ),
    (r"^api-not-found$", lambda o: {"rest": "nothing-here"}),
]


def url_of(name: str, params: set[str], objects: dict[str, Any]) -> str:
    if not params:
        return reverse(name)
    for rule, values in PARAMETERS:
        if re.search(rule, name):
            return reverse(name, kwargs={key: value for key, value in values(objects).items() if key in params})
    raise AssertionError(f"Which object does the page {name!r} show? Add it to PARAMETERS in this test.")


# What a GET answers besides 200/302: a form's action taken by POST only (405), the API's answer
# to an unknown URL (404) and QuickBooks' sign-in return without its parameters (400).
ANSWERS = {200, 302, 400, 405}
BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
EXPECTED_404 = {"api-not-found"}


def test_given_an_admin_with_every_role_when_opening_each_page_then_each_carries_the_strict_policy_and_no_inline_code(
    boss: User, real_objects: dict[str, Any]
) -> None:
    client = Client()
    client.force_login(boss)
    problems: list[str] = []
    visited = 0

    for name, params in url_patterns():
        url = url_of(name, params, real_objects)
        response = client.get(url, headers={"Accept": BROWSER_ACCEPT})  # as a browser asks, API URLs too
        visited += 1
        expected = {404} if name in EXPECTED_404 else ANSWERS
        if name.endswith("-quickbooks-preview"):
            expected = {409}  # this company is not connected: its documents do not go to QuickBooks
        if response.status_code not in expected:
            problems.append(f"{url} ({name}) answered {response.status_code}")
        assert_strict_policy(response)
        if response.headers.get("Content-Type", "").startswith("text/html"):
            problems += [f"{url}: {found}" for found in inline_code(response.content.decode())]

    assert visited > 60, "the URL walk found too few pages"
    assert problems == []


def test_given_the_api_docs_when_opened_then_swagger_ui_comes_from_our_own_files_and_its_script_from_a_url(
    boss: User,
) -> None:
    client = Client()
    client.force_login(boss)

    page = client.get("/api/docs/")
    script = client.get("/api/docs/?script=")

    html = page.content.decode()
    assert page.status_code == 200 and inline_code(html) == []
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in html
    assert 'src="/api/docs/?script="' in html
    assert script.status_code == 200 and script["Content-Type"].startswith("application/javascript")
    assert "SwaggerUIBundle(" in script.content.decode()
    assert_strict_policy(page)
    assert_strict_policy(script)


def test_given_a_visitor_when_opening_the_login_page_then_it_carries_the_strict_policy(db: None) -> None:
    response = Client().get("/login/")

    assert response.status_code == 200
    assert_strict_policy(response)
    assert inline_code(response.content.decode()) == []


def test_given_a_missing_page_when_opened_then_the_404_page_carries_the_strict_policy(creator: User) -> None:
    client = Client()
    client.force_login(creator)

    response = client.get("/no-such-page/")

    assert response.status_code == 404
    assert_strict_policy(response)


def test_given_a_user_without_the_admin_role_when_opening_user_management_then_the_403_page_carries_the_strict_policy(
    creator: User,
) -> None:
    client = Client()
    client.force_login(creator)

    response = client.get("/users/")

    assert response.status_code == 403
    assert_strict_policy(response)
    assert inline_code(response.content.decode()) == []


# ------------------------------------------------------------------------------ every template


def our_template_dirs() -> list[Path]:
    """templates/ and the template folders of our own apps (not those of installed packages)."""
    base = Path(settings.BASE_DIR)
    dirs = [Path(d) for engine in settings.TEMPLATES for d in engine.get("DIRS", [])]
    dirs += [base / app / "templates" for app in settings.INSTALLED_APPS if (base / app / "templates").is_dir()]
    return dirs


def test_no_template_holds_an_inline_script_event_handler_or_style() -> None:
    templates = [path for folder in our_template_dirs() for path in folder.rglob("*.html")]
    found = [
        f"{path.relative_to(settings.BASE_DIR)}: {problem}"
        for path in templates
        for problem in inline_code(path.read_text(encoding="utf-8"))
    ]

    assert len(templates) > 30, "the template scan found too few templates"
    assert found == [], "Move it to app.js (data-confirm=... for a confirmation) or app.css."


@pytest.mark.parametrize(
    "snippet",
    [
        "<form onsubmit=\"return confirm('Sure?')\">",
        '<button hx-on:click="go()">',
        '<div class="x" style="margin:0">',
        "<script>alert(1)</script>",
        "<style>p { margin: 0 }</style>",
        '<a href="javascript:void(0)">',
    ],
)
def test_given_inline_code_then_the_scan_finds_it(snippet: str) -> None:
    assert inline_code(snippet), snippet


@pytest.mark.parametrize(
    "snippet",
    [
        '<script src="/static/procuresync/app.js" defer></script>',
        '<script id="supplier-currencies" type="application/json">{"1": "USD"}</script>',
        '<form method="post" data-confirm="Cancel this payment?">',
        "<p>Click on the Styles tab</p>",
    ],
)
def test_given_code_from_files_or_plain_text_then_the_scan_lets_it_be(snippet: str) -> None:
    assert inline_code(snippet) == []
