"""Payments through /api/v1/payments/: record, list with filters, cancel; the invoice status follows."""

from __future__ import annotations

from typing import Any

from accounts.models import User
from procurement.models import Document


def pay(client: Any, invoice: Document, amount: str, paid_on: str = "2026-11-10", method: str = "cheque") -> Any:
    body = {"invoice": invoice.pk, "amount": amount, "paid_on": paid_on, "method": method, "reference": "CHQ-1"}
    return client.post("/api/v1/payments/", body, format="json")


def test_given_an_approved_invoice_when_paid_in_two_parts_then_it_is_partly_paid_then_paid(
    as_user: Any, payer: User, creator: User, approved_invoice: Document
) -> None:
    client = as_user(payer)

    first = pay(client, approved_invoice, "20")
    after_first = as_user(creator).get(f"/api/v1/invoices/{approved_invoice.pk}/").json()["status"]
    second = pay(client, approved_invoice, "30.00")
    after_second = as_user(creator).get(f"/api/v1/invoices/{approved_invoice.pk}/").json()["status"]

    assert first.status_code == 201, first.content
    assert first.json()["amount"] == "20.00" and first.json()["invoice_status"] == "partly_paid"
    assert after_first == "partly_paid"
    assert second.status_code == 201 and second.json()["invoice_status"] == "paid"
    assert after_second == "paid"


def test_given_a_paid_invoice_when_a_payment_is_cancelled_then_it_goes_back_to_partly_paid(
    as_user: Any, payer: User, approved_invoice: Document
) -> None:
    client = as_user(payer)
    pay(client, approved_invoice, "20")
    second = pay(client, approved_invoice, "30").json()

    cancelled = client.post(f"/api/v1/payments/{second['id']}/cancel", {"reason": "bounced"}, format="json")

    assert cancelled.status_code == 200, cancelled.content
    assert cancelled.json()["status"] == "cancelled" and cancelled.json()["cancel_reason"] == "bounced"
    assert cancelled.json()["invoice_status"] == "partly_paid"
    approved_invoice.refresh_from_db()
    assert approved_invoice.status == "partly_paid"


def test_given_the_only_payment_when_cancelled_then_the_invoice_is_approved_again(
    as_user: Any, payer: User, approved_invoice: Document
) -> None:
    client = as_user(payer)
    payment = pay(client, approved_invoice, "50").json()

    client.post(f"/api/v1/payments/{payment['id']}/cancel", {}, format="json")

    approved_invoice.refresh_from_db()
    assert approved_invoice.status == "approved"


def test_given_payments_on_several_days_when_listed_with_filters_then_only_matches_come_back(
    as_user: Any, payer: User, approved_invoice: Document
) -> None:
    client = as_user(payer)
    early = pay(client, approved_invoice, "10", paid_on="2026-11-05", method="cheque").json()
    late = pay(client, approved_invoice, "15", paid_on="2026-11-20", method="card").json()
    client.post(f"/api/v1/payments/{early['id']}/cancel", {}, format="json")

    def ids(**params: Any) -> list[int]:
        response = client.get("/api/v1/payments/", params)
        assert response.status_code == 200, response.content
        return [row["id"] for row in response.json()["results"]]

    assert ids() == [late["id"], early["id"]]
    assert ids(date_from="2026-11-10") == [late["id"]]
    assert ids(date_to="2026-11-10") == [early["id"]]
    assert ids(method="card") == [late["id"]]
    assert ids(status="cancelled") == [early["id"]]
    assert ids(supplier=approved_invoice.supplier_id) == [late["id"], early["id"]]
    assert ids(supplier=approved_invoice.supplier_id + 1000) == []


def test_given_a_payment_when_retrieved_then_it_shows_invoice_and_supplier(
    as_user: Any, payer: User, approved_invoice: Document
) -> None:
    payment = pay(as_user(payer), approved_invoice, "12.5").json()

    shown = as_user(payer).get(f"/api/v1/payments/{payment['id']}/").json()

    assert shown["amount"] == "12.50" and shown["currency"] == "USD"
    assert shown["invoice_number"] == approved_invoice.number and shown["supplier_name"] == "Paper Co"


def test_given_5_or_50_payments_when_listed_then_the_query_count_is_the_same(
    as_user: Any, payer: User, approved_invoice: Document, django_assert_max_num_queries: Any
) -> None:
    client = as_user(payer)
    for _ in range(5):
        pay(client, approved_invoice, "0.1")
    with django_assert_max_num_queries(2):
        assert len(client.get("/api/v1/payments/").json()["results"]) == 5
    for _ in range(45):
        pay(client, approved_invoice, "0.1")
    with django_assert_max_num_queries(2):
        assert len(client.get("/api/v1/payments/").json()["results"]) == 50
