"""Bad input through the API: a clear 4xx in the one error shape, the field named, nothing changed.

400: the request does not match the schema (types, formats, lengths); 422: it does, but breaks a
business rule (a supplier that is not yours, a discount over the subtotal, a duplicate code).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from accounts.models import User
from procurement.inputs import SupplierData
from procurement.models import Document, Supplier
from procurement.services import list_option_create, supplier_create
from tests.api.conftest import assert_error, invoice_body


def one_line(**fields: Any) -> list[dict[str, Any]]:
    return [{"description": "A4 paper", "quantity": "10", "unit_price": "5.00", **fields}]


# name -> (body overrides given the suppliers at hand, status, field named)
Suppliers = dict[str, Any]  # named suppliers and list option ids
INVOICE_CASES: dict[str, tuple[Callable[[Suppliers], dict[str, Any]], int, str]] = {
    "negative quantity": (lambda s: {"lines": one_line(quantity="-1")}, 400, "lines.0.quantity"),
    "zero quantity": (lambda s: {"lines": one_line(quantity="0")}, 422, "lines.0.quantity"),
    "quantity sent as a JSON number": (lambda s: {"lines": one_line(quantity=2)}, 400, "lines.0.quantity"),
    "quantity with 5 decimals": (lambda s: {"lines": one_line(quantity="1.00001")}, 400, "lines.0.quantity"),
    "quantity that is not a number": (lambda s: {"lines": one_line(quantity="ten")}, 400, "lines.0.quantity"),
    "negative price": (lambda s: {"lines": one_line(unit_price="-0.01")}, 400, "lines.0.unit_price"),
    "discount larger than the line": (
        lambda s: {"lines": one_line(discount_type="amount", discount_value="50.01")},
        422,
        "lines.0.discount_value",
    ),
    "percent discount over 100": (
        lambda s: {"lines": one_line(discount_type="percent", discount_value="101")},
        422,
        "lines.0.discount_value",
    ),
    "document discount larger than the subtotal": (
        lambda s: {"discount_type": "amount", "discount_value": "50.01"},
        422,
        "discount_value",
    ),
    "second line wrong": (
        lambda s: {"lines": [*one_line(), {"description": "", "quantity": "1", "unit_price": "1"}]},
        400,
        "lines.1.description",
    ),
    "no lines": (lambda s: {"lines": []}, 422, "lines"),
    "unknown supplier": (lambda s: {"supplier": 999999}, 422, "supplier"),
    "another company's supplier": (lambda s: {"supplier": s["foreign"].pk}, 422, "supplier"),
    "inactive supplier": (lambda s: {"supplier": s["inactive"].pk}, 422, "supplier"),
    "currency mismatch": (lambda s: {"currency": "EUR"}, 422, "currency"),
    "duplicate supplier unique code": (lambda s: {"supplier_unique_code": "sup-1001"}, 422, "supplier_unique_code"),
    "missing supplier unique code": (lambda s: {"supplier_unique_code": ""}, 422, "supplier_unique_code"),
    "issue date that does not parse": (lambda s: {"issue_date": "31/12/2026"}, 400, "issue_date"),
    "due date that does not exist": (lambda s: {"due_date": "2026-02-30"}, 400, "due_date"),
    "due date before issue date": (lambda s: {"due_date": "2026-11-01"}, 422, "due_date"),
    "unknown custom field": (lambda s: {"custom_fields": {"424242": "x"}}, 422, "custom_fields.424242"),
    "unknown discount type": (lambda s: {"lines": one_line(discount_type="gift")}, 400, "lines.0.discount_type"),
    "unknown account": (lambda s: {"lines": one_line(account=999999)}, 422, "lines.0.account"),
    "another company's item": (lambda s: {"lines": one_line(item=s["foreign_item"])}, 422, "lines.0.item"),
    "another company's tax code": (
        lambda s: {"lines": one_line(tax_code=s["foreign_tax_code"])},
        422,
        "lines.0.tax_code",
    ),
}


@pytest.fixture
def suppliers(creator: User, outsider: User, supplier: Supplier) -> Suppliers:
    inactive = supplier_create(actor=creator, data=SupplierData(name="Old Co", currency="USD", is_active=False))
    foreign = supplier_create(actor=outsider, data=SupplierData(name="Their Co", currency="USD"))
    their_item = list_option_create(actor=outsider, kind="item", name="Their item").pk
    their_tax_code = list_option_create(actor=outsider, kind="tax_code", name="Their code").pk
    return {
        "ours": supplier,
        "inactive": inactive,
        "foreign": foreign,
        "foreign_item": their_item,
        "foreign_tax_code": their_tax_code,
    }


@pytest.mark.parametrize("case", INVOICE_CASES)
def test_given_bad_invoice_input_when_posted_then_4xx_names_the_field_and_nothing_is_saved(
    case: str, as_user: Any, creator: User, suppliers: Suppliers, draft_invoice: Document, unchanged: Any
) -> None:
    overrides, status, field = INVOICE_CASES[case]
    body = invoice_body(suppliers["ours"], **overrides(suppliers))

    with unchanged():
        response = as_user(creator).post("/api/v1/invoices/", body, format="json")

    assert_error(response, status, field)


@pytest.mark.parametrize(
    "case", ["negative quantity", "discount larger than the line", "issue date that does not parse"]
)
def test_given_a_draft_invoice_when_patched_with_bad_input_then_4xx_and_it_is_unchanged(
    case: str, as_user: Any, creator: User, suppliers: Suppliers, draft_invoice: Document, unchanged: Any
) -> None:
    overrides, status, field = INVOICE_CASES[case]

    with unchanged():
        response = as_user(creator).patch(f"/api/v1/invoices/{draft_invoice.pk}/", overrides(suppliers), format="json")

    assert_error(response, status, field)


def test_given_a_second_invoice_when_put_with_the_first_ones_code_then_422_and_unchanged(
    as_user: Any, creator: User, supplier: Supplier, draft_invoice: Document, unchanged: Any
) -> None:
    second = as_user(creator).post("/api/v1/invoices/", invoice_body(supplier), format="json").json()

    with unchanged():
        response = as_user(creator).put(
            f"/api/v1/invoices/{second['id']}/", invoice_body(supplier, supplier_unique_code="SUP-1001"), format="json"
        )

    assert_error(response, 422, "supplier_unique_code")


def test_given_a_po_when_created_with_a_negative_price_then_400_names_the_line(
    as_user: Any, creator: User, supplier: Supplier, unchanged: Any
) -> None:
    body = {"supplier": supplier.pk, "issue_date": "2026-11-03", "lines": one_line(unit_price=-5)}

    with unchanged():
        response = as_user(creator).post("/api/v1/purchase-orders/", body, format="json")

    assert_error(response, 400, "lines.0.unit_price")


def test_given_an_approved_invoice_when_its_lines_are_patched_then_409_says_revise_first(
    as_user: Any, creator: User, approved_invoice: Document, unchanged: Any
) -> None:
    with unchanged():
        response = as_user(creator).patch(
            f"/api/v1/invoices/{approved_invoice.pk}/", {"lines": one_line(quantity="11")}, format="json"
        )

    assert_error(response, 409, "lines", code="transition_not_allowed")


@pytest.mark.parametrize(("action", "user"), [("approve", "approver"), ("reject", "approver"), ("revise", "approver")])
def test_given_a_draft_invoice_when_an_action_its_status_forbids_is_posted_then_409(
    action: str, user: str, request: pytest.FixtureRequest, as_user: Any, draft_invoice: Document, unchanged: Any
) -> None:
    actor = request.getfixturevalue(user)

    with unchanged():
        response = as_user(actor).post(f"/api/v1/invoices/{draft_invoice.pk}/{action}", {"comment": "x"}, format="json")

    assert_error(response, 409, "status", code="transition_not_allowed")


def test_given_a_pending_invoice_when_rejected_without_a_reason_then_422_names_the_comment(
    as_user: Any, creator: User, approver: User, draft_invoice: Document, unchanged: Any
) -> None:
    as_user(creator).post(f"/api/v1/invoices/{draft_invoice.pk}/submit", {}, format="json")

    with unchanged():
        response = as_user(approver).post(
            f"/api/v1/invoices/{draft_invoice.pk}/reject", {"comment": " "}, format="json"
        )

    assert_error(response, 422, "comment")


PAYMENT_CASES: dict[str, tuple[dict[str, Any], int, str]] = {
    "zero amount": ({"amount": "0"}, 422, "amount"),
    "negative amount": ({"amount": "-5"}, 400, "amount"),
    "amount sent as a JSON number": ({"amount": 5}, 400, "amount"),
    "amount with 3 decimals": ({"amount": "1.005"}, 400, "amount"),
    "over-payment": ({"amount": "50.01"}, 422, "amount"),
    "unknown method": ({"method": "barter"}, 400, "method"),
    "paid_on that does not parse": ({"paid_on": "yesterday"}, 400, "paid_on"),
    "missing invoice": ({"invoice": None}, 400, "invoice"),
}


@pytest.mark.parametrize("case", PAYMENT_CASES)
def test_given_bad_payment_input_when_recorded_then_4xx_names_the_field_and_nothing_is_saved(
    case: str, as_user: Any, payer: User, approved_invoice: Document, unchanged: Any
) -> None:
    overrides, status, field = PAYMENT_CASES[case]
    body = {"invoice": approved_invoice.pk, "amount": "10", "paid_on": "2026-11-10", "method": "cheque", **overrides}

    with unchanged():
        response = as_user(payer).post("/api/v1/payments/", body, format="json")

    assert_error(response, status, field)


def test_given_a_draft_invoice_when_a_payment_is_recorded_then_409(
    as_user: Any, payer: User, draft_invoice: Document, unchanged: Any
) -> None:
    body = {"invoice": draft_invoice.pk, "amount": "10", "paid_on": "2026-11-10", "method": "cheque"}

    with unchanged():
        response = as_user(payer).post("/api/v1/payments/", body, format="json")

    assert_error(response, 409, "invoice", code="transition_not_allowed")


def test_given_a_cancelled_payment_when_cancelled_again_then_409(
    as_user: Any, payer: User, approved_invoice: Document, unchanged: Any
) -> None:
    body = {"invoice": approved_invoice.pk, "amount": "10", "paid_on": "2026-11-10", "method": "cheque"}
    payment = as_user(payer).post("/api/v1/payments/", body, format="json").json()
    as_user(payer).post(f"/api/v1/payments/{payment['id']}/cancel", {}, format="json")

    with unchanged():
        response = as_user(payer).post(f"/api/v1/payments/{payment['id']}/cancel", {}, format="json")

    assert_error(response, 409, "status")


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"name": "paper co", "currency": "USD"}, 422, "name"),
        ({"name": "Ink Ltd", "currency": "EURO"}, 400, "currency"),
        ({"name": "Ink Ltd", "currency": "USD", "email": "not-an-email"}, 400, "email"),
        ({"currency": "USD"}, 400, "name"),
        ({"name": "Ink Ltd", "currency": "USD", "is_active": 0}, 400, "is_active"),
    ],
)
def test_given_bad_supplier_input_when_posted_then_4xx_names_the_field(
    body: dict[str, Any], status: int, field: str, as_user: Any, creator: User, supplier: Supplier, unchanged: Any
) -> None:
    with unchanged():
        response = as_user(creator).post("/api/v1/suppliers/", body, format="json")

    assert_error(response, status, field)


def test_given_a_supplier_with_invoices_when_its_currency_is_patched_then_422(
    as_user: Any, creator: User, draft_invoice: Document, unchanged: Any
) -> None:
    with unchanged():
        response = as_user(creator).patch(
            f"/api/v1/suppliers/{draft_invoice.supplier_id}/", {"currency": "EUR"}, format="json"
        )

    assert_error(response, 422, "currency")


@pytest.mark.parametrize(
    ("url", "params", "field"),
    [
        ("/api/v1/invoices/", {"status": "lost"}, "status"),
        ("/api/v1/invoices/", {"supplier": "paper"}, "supplier"),
        ("/api/v1/purchase-orders/", {"status": "lost"}, "status"),
        ("/api/v1/payments/", {"date_from": "2026-13-01"}, "date_from"),
        ("/api/v1/payments/", {"date_to": "soon"}, "date_to"),
        ("/api/v1/payments/", {"method": "barter"}, "method"),
        ("/api/v1/payments/", {"status": "lost"}, "status"),
        ("/api/v1/suppliers/", {"active": "maybe"}, "active"),
    ],
)
def test_given_a_bad_list_filter_when_listing_then_400_names_the_filter(
    url: str, params: dict[str, str], field: str, as_user: Any, outsider: User
) -> None:
    response = as_user(outsider).get(url, params)

    assert_error(response, 400, field)


@pytest.mark.parametrize("url", ["/api/v1/invoices/{id}/", "/api/v1/suppliers/{supplier}/"])
def test_given_a_patch_body_that_is_not_an_object_when_sent_then_400_and_unchanged(
    url: str, as_user: Any, creator: User, draft_invoice: Document, unchanged: Any
) -> None:
    target = url.format(id=draft_invoice.pk, supplier=draft_invoice.supplier_id)

    with unchanged():
        response = as_user(creator).patch(target, ["notes", "x"], format="json")

    assert_error(response, 400, "non_field_errors")
