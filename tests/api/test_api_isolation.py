"""Tenant isolation over every API route: the outsider (all roles, another company) never reaches
our rows. A route that names one of our ids answers 404 in the error shape; a list shows none of
ours; nothing changes either way. A completeness check keeps the table in step with the routes."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from accounts.models import User
from payments.models import Payment
from payments.services import payment_record
from procurement.models import Document, DocumentKind, Supplier
from procurement.services import document_create
from procuresync.api_urls import urlpatterns
from quickbooks.models import PaymentImportRun, ReconciliationRun
from tests.api.conftest import assert_error, invoice_body
from tests.conftest import credit_note_data

VALID_LINE = [{"description": "x", "quantity": "1", "unit_price": "1"}]

# route name -> (method, URL template, body). Templates name our objects: {supplier}, {invoice}, {po},
# {credit_note}, {payment}.
ID_ROUTES: dict[str, tuple[str, str, dict[str, Any]]] = {
    "api-suppliers-detail:get": ("get", "/api/v1/suppliers/{supplier}/", {}),
    "api-suppliers-detail:put": ("put", "/api/v1/suppliers/{supplier}/", {"name": "Mine", "currency": "USD"}),
    "api-suppliers-detail:patch": ("patch", "/api/v1/suppliers/{supplier}/", {"name": "Mine"}),
    "api-payments-detail:get": ("get", "/api/v1/payments/{payment}/", {}),
    "api-payments-cancel:post": ("post", "/api/v1/payments/{payment}/cancel", {"reason": "x"}),
    "api-payment-imports-detail:get": ("get", "/api/v1/payments/imports/{run}", {}),
    "api-reconciliations-detail:get": ("get", "/api/v1/quickbooks/reconciliations/{reconciliation}", {}),
    "api-payments:post": (
        "post",
        "/api/v1/payments/",
        {"invoice": "{invoice}", "amount": "1", "paid_on": "2026-11-10", "method": "cheque"},
    ),
}
for _prefix, _key in (("invoices", "{invoice}"), ("purchase_orders", "{po}"), ("credit_notes", "{credit_note}")):
    _url = f"/api/v1/{_prefix.replace('_', '-')}/{_key}"
    ID_ROUTES[f"api-{_prefix}-detail:get"] = ("get", f"{_url}/", {})
    ID_ROUTES[f"api-{_prefix}-detail:put"] = ("put", f"{_url}/", {"notes": "mine", "lines": VALID_LINE})
    ID_ROUTES[f"api-{_prefix}-detail:patch"] = ("patch", f"{_url}/", {"notes": "mine"})
    ID_ROUTES[f"api-{_prefix}-quickbooks-preview:get"] = ("get", f"{_url}/quickbooks-preview", {})
    for _action in ("submit", "approve", "reject", "revise", "cancel"):
        ID_ROUTES[f"api-{_prefix}-{_action}:post"] = ("post", f"{_url}/{_action}", {"comment": "mine"})

# Collection routes take no id in the URL: the outsider's list holds none of our rows.
LIST_ROUTES = {
    "api-suppliers:get": "/api/v1/suppliers/",
    "api-invoices:get": "/api/v1/invoices/",
    "api-purchase_orders:get": "/api/v1/purchase-orders/",
    "api-credit_notes:get": "/api/v1/credit-notes/",
    "api-payments:get": "/api/v1/payments/",
}
# Creating with our supplier in the body is refused as "not one of your suppliers" (no leak either way).
CREATE_ROUTES = {
    "api-suppliers:post",
    "api-invoices:post",
    "api-purchase_orders:post",
    "api-credit_notes:post",
    "api-payment-imports:post",
}
# About the caller only: no company data reachable by id.
SELF_ROUTES = {"api-me:get", "api-token:post", "api-token:delete"}
# Act on the caller's own company, which nothing in the request can name otherwise.
OWN_COMPANY_ROUTES = {"api-reconciliations:post"}


@pytest.fixture
def ours(approved_invoice: Document, draft_po: Document, payer: User, creator: User) -> dict[str, int]:
    payment = payment_record(
        actor=payer, invoice=approved_invoice, amount=Decimal("10"), paid_on=dt.date(2026, 11, 5), method="cheque"
    )
    run = PaymentImportRun.objects.create(
        company_id=payer.tenant_id,
        realm_id="1",
        requested_by=payer,
        date_from=dt.date(2026, 11, 1),
        date_to=dt.date(2026, 11, 5),
    )
    reconciliation = ReconciliationRun.objects.create(company_id=payer.tenant_id, realm_id="1", state="done")
    return {
        "reconciliation": reconciliation.pk,
        "run": run.pk,
        "supplier": approved_invoice.supplier_id,
        "invoice": approved_invoice.pk,
        "po": draft_po.pk,
        "credit_note": document_create(
            actor=creator,
            kind=DocumentKind.CREDIT_NOTE,
            data=credit_note_data(approved_invoice.supplier, credited_invoice_id=approved_invoice.pk),
        ).pk,
        "payment": payment.pk,
    }


def _fill(value: Any, ids: dict[str, int]) -> Any:
    if isinstance(value, str) and value.startswith("{") and value.endswith("}"):
        return ids[value[1:-1]]
    return value


def test_every_registered_api_route_and_method_is_in_the_isolation_tables() -> None:
    registered = set()
    for pattern in urlpatterns:
        view = getattr(pattern.callback, "view_class", None)
        if view is None:  # the JSON 404 for unknown URLs
            continue
        for method in ("get", "post", "put", "patch", "delete"):
            if hasattr(view, method):
                registered.add(f"{pattern.name}:{method}")

    covered = set(ID_ROUTES) | set(LIST_ROUTES) | CREATE_ROUTES | SELF_ROUTES | OWN_COMPANY_ROUTES

    assert registered == covered


@pytest.mark.parametrize("route", ID_ROUTES)
def test_given_our_ids_when_the_outsider_calls_a_route_then_404_and_nothing_changes(
    route: str, as_user: Any, outsider: User, ours: dict[str, int], unchanged: Any
) -> None:
    method, template, body = ID_ROUTES[route]
    url = template.format(**ours)

    with unchanged():
        response = getattr(as_user(outsider), method)(url, {k: _fill(v, ours) for k, v in body.items()}, format="json")

    assert_error(response, 404, code="not_found")


@pytest.mark.parametrize("route", LIST_ROUTES)
def test_given_our_rows_when_the_outsider_lists_them_then_the_list_is_empty(
    route: str, as_user: Any, outsider: User, ours: dict[str, int]
) -> None:
    response = as_user(outsider).get(LIST_ROUTES[route])

    assert response.status_code == 200
    assert response.json()["count"] == 0


@pytest.mark.parametrize("url", ["/api/v1/invoices/", "/api/v1/purchase-orders/", "/api/v1/credit-notes/"])
def test_given_our_supplier_when_the_outsider_creates_a_document_for_it_then_422_and_nothing_is_saved(
    url: str, as_user: Any, outsider: User, ours: dict[str, int], unchanged: Any
) -> None:
    body = invoice_body(Supplier.objects.get(pk=ours["supplier"]), supplier_unique_code="X-1")

    with unchanged():
        response = as_user(outsider).post(url, body, format="json")

    error = assert_error(response, 422, "supplier")
    assert "Paper Co" not in str(error)


def test_given_our_supplier_name_when_the_outsider_creates_a_supplier_with_it_then_it_is_their_own(
    as_user: Any, outsider: User, ours: dict[str, int]
) -> None:
    response = as_user(outsider).post("/api/v1/suppliers/", {"name": "Paper Co", "currency": "USD"}, format="json")

    assert response.status_code == 201
    assert Supplier.objects.get(pk=response.json()["id"]).company_id == outsider.company_id
    assert Payment.objects.filter(company_id=outsider.company_id).count() == 0


def test_given_our_company_when_the_outsider_starts_a_reconciliation_then_only_theirs_is_concerned(
    as_user: Any, outsider: User, ours: dict[str, int], unchanged: Any
) -> None:
    with unchanged():
        response = as_user(outsider).post("/api/v1/quickbooks/reconciliations", {}, format="json")

    assert_error(response, 409, code="quickbooks_not_connected")
    assert list(ReconciliationRun.objects.values_list("pk", flat=True)) == [ours["reconciliation"]]
