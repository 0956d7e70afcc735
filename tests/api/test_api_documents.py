"""Invoices and purchase orders through /api/v1/: create, read, list, edit and move through the workflow."""

from __future__ import annotations

from typing import Any

import pytest

from accounts.models import User
from procurement.models import Document, DocumentKind, Supplier
from procurement.services import custom_field_create, document_create, list_option_create
from tests.api.conftest import invoice_body
from tests.conftest import invoice_data, line


def test_given_a_creator_when_she_posts_an_invoice_with_a_discounted_line_then_totals_follow_the_rounding_rule(
    as_user: Any, creator: User, supplier: Supplier
) -> None:
    body = invoice_body(
        supplier,
        lines=[
            {
                "description": "Toner",
                "quantity": "3",
                "unit_price": "19.99",
                "discount_type": "percent",
                "discount_value": "10",
                "tax_rate": "8.25",
            },
            {
                "description": "Paper",
                "quantity": "2.5",
                "unit_price": "4",
                "discount_type": "amount",
                "discount_value": "1",
            },
        ],
        discount_type="amount",
        discount_value="5",
    )

    response = as_user(creator).post("/api/v1/invoices/", body, format="json")

    assert response.status_code == 201, response.content
    invoice = response.json()
    # 3 x 19.99 = 59.97 - 10% = 53.973 -> 53.97; 2.5 x 4 = 10 - 1 = 9.00; subtotal 62.97.
    # Discount 5 spread 53.97:9 -> 4.2853 / 0.7147, floored 4.28 / 0.71, the spare cent to the larger
    # remainder -> 4.29 / 0.71; tax 8.25% of 49.68 = 4.0986 -> 4.10; total 62.97 - 5 + 4.10.
    assert invoice["subtotal"] == "62.97"
    assert invoice["discount_total"] == "5.00"
    assert invoice["tax_total"] == "4.10"
    assert invoice["total"] == "62.07"
    assert invoice["status"] == "draft"
    assert invoice["number"].startswith("INV-")
    assert [ln["quantity"] for ln in invoice["lines"]] == ["3.0000", "2.5000"]
    assert [ln["net_amount"] for ln in invoice["lines"]] == ["53.97", "9.00"]
    assert [ln["document_discount_share"] for ln in invoice["lines"]] == ["4.29", "0.71"]
    assert [event["kind"] for event in invoice["events"]] == ["created"]
    assert invoice["actions"] == ["submit", "cancel"]


def test_given_a_custom_field_when_an_invoice_is_created_with_its_value_then_the_detail_shows_it(
    as_user: Any, creator: User, admin: User, supplier: Supplier
) -> None:
    location = custom_field_create(actor=admin, name="Location")

    created = as_user(creator).post(
        "/api/v1/invoices/", invoice_body(supplier, custom_fields={str(location.pk): "Berlin"}), format="json"
    )
    shown = as_user(creator).get(f"/api/v1/invoices/{created.json()['id']}/")

    assert shown.status_code == 200
    assert shown.json()["custom_fields"] == {str(location.pk): "Berlin"}


def test_given_a_draft_invoice_when_submitted_and_approved_then_status_and_history_follow(
    as_user: Any, creator: User, approver: User, draft_invoice: Document
) -> None:
    submitted = as_user(creator).post(
        f"/api/v1/invoices/{draft_invoice.pk}/submit", {"comment": "please"}, format="json"
    )
    approved = as_user(approver).post(f"/api/v1/invoices/{draft_invoice.pk}/approve", {}, format="json")

    assert submitted.status_code == 200 and submitted.json()["status"] == "pending"
    assert approved.status_code == 200 and approved.json()["status"] == "approved"
    events = approved.json()["events"]
    assert [(e["action"], e["from_status"], e["to_status"], e["actor"]) for e in events[1:]] == [
        ("submit", "draft", "pending", "creator"),
        ("approve", "pending", "approved", "approver"),
    ]
    assert events[1]["comment"] == "please"


def test_given_a_pending_invoice_when_rejected_with_a_reason_then_it_is_rejected(
    as_user: Any, creator: User, approver: User, draft_invoice: Document
) -> None:
    as_user(creator).post(f"/api/v1/invoices/{draft_invoice.pk}/submit", {}, format="json")

    response = as_user(approver).post(
        f"/api/v1/invoices/{draft_invoice.pk}/reject", {"comment": "wrong price"}, format="json"
    )

    assert response.status_code == 200 and response.json()["status"] == "rejected"
    assert response.json()["actions"] == []


def test_given_an_approved_invoice_when_revised_edited_and_resubmitted_then_the_revision_counts(
    as_user: Any, creator: User, approver: User, approved_invoice: Document
) -> None:
    url = f"/api/v1/invoices/{approved_invoice.pk}"

    revised = as_user(approver).post(f"{url}/revise", {"comment": "price changed"}, format="json")
    edited = as_user(creator).patch(
        f"{url}/",
        {"lines": [{"description": "A4 paper", "quantity": "10", "unit_price": "6"}], "comment": "new price"},
        format="json",
    )
    resubmitted = as_user(creator).post(f"{url}/submit", {}, format="json")

    assert revised.json()["status"] == "in_revision" and revised.json()["revision"] == 1
    assert edited.status_code == 200, edited.content
    assert edited.json()["total"] == "60.00"
    assert edited.json()["events"][-1]["changes"]["lines"]["to"][0][2] == "6"
    assert resubmitted.json()["status"] == "pending"


def test_given_a_draft_invoice_when_patched_with_notes_only_then_the_rest_is_kept(
    as_user: Any, creator: User, draft_invoice: Document
) -> None:
    response = as_user(creator).patch(f"/api/v1/invoices/{draft_invoice.pk}/", {"notes": "urgent"}, format="json")

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["notes"] == "urgent"
    assert body["total"] == "50.00" and len(body["lines"]) == 1 and body["supplier_unique_code"] == "SUP-1001"
    assert body["events"][-1]["changes"] == {"notes": {"from": "", "to": "urgent"}}


def test_given_a_draft_invoice_when_put_with_a_full_body_then_everything_is_replaced(
    as_user: Any, creator: User, draft_invoice: Document, supplier: Supplier
) -> None:
    body = invoice_body(
        supplier,
        supplier_unique_code="SUP-9",
        lines=[
            {"description": "Pens", "quantity": "4", "unit_price": "2.5"},
            {"description": "Ink", "quantity": "1", "unit_price": "7"},
        ],
    )

    response = as_user(creator).put(f"/api/v1/invoices/{draft_invoice.pk}/", body, format="json")

    assert response.status_code == 200, response.content
    assert response.json()["total"] == "17.00"
    assert [ln["description"] for ln in response.json()["lines"]] == ["Pens", "Ink"]
    assert response.json()["supplier_unique_code"] == "SUP-9"


def test_given_a_draft_po_when_created_submitted_and_approved_through_the_api_then_it_is_approved(
    as_user: Any, creator: User, approver: User, supplier: Supplier
) -> None:
    body = {
        "supplier": supplier.pk,
        "issue_date": "2026-11-03",
        "lines": [{"description": "Desk", "quantity": "1", "unit_price": "300"}],
    }

    created = as_user(creator).post("/api/v1/purchase-orders/", body, format="json")
    po_id = created.json()["id"]
    as_user(creator).post(f"/api/v1/purchase-orders/{po_id}/submit", {}, format="json")
    approved = as_user(approver).post(f"/api/v1/purchase-orders/{po_id}/approve", {}, format="json")

    assert created.status_code == 201 and created.json()["kind"] == "purchase_order"
    assert created.json()["number"].startswith("PO-")
    assert approved.json()["status"] == "approved" and approved.json()["total"] == "300.00"


def test_given_an_invoice_when_it_is_requested_as_a_purchase_order_then_404(
    as_user: Any, creator: User, draft_invoice: Document
) -> None:
    response = as_user(creator).get(f"/api/v1/purchase-orders/{draft_invoice.pk}/")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_given_invoices_in_several_states_when_listed_with_filters_then_only_matches_come_back(
    as_user: Any, creator: User, supplier: Supplier, draft_invoice: Document
) -> None:
    other = as_user(creator).post("/api/v1/suppliers/", {"name": "Ink Ltd", "currency": "USD"}, format="json").json()
    ink = Supplier.objects.get(pk=other["id"])
    document_create(actor=creator, kind=DocumentKind.INVOICE, data=invoice_data(ink, line(), code="INK-7"))
    as_user(creator).post(f"/api/v1/invoices/{draft_invoice.pk}/submit", {}, format="json")
    client = as_user(creator)

    everything = client.get("/api/v1/invoices/").json()
    pending = client.get("/api/v1/invoices/", {"status": "pending"}).json()
    by_supplier = client.get("/api/v1/invoices/", {"supplier": ink.pk}).json()
    by_search = client.get("/api/v1/invoices/", {"search": "ink-7"}).json()

    assert everything["count"] == 2
    assert [row["id"] for row in pending["results"]] == [draft_invoice.pk]
    assert [row["supplier_name"] for row in by_supplier["results"]] == ["Ink Ltd"]
    assert [row["supplier_unique_code"] for row in by_search["results"]] == ["INK-7"]
    assert client.get("/api/v1/purchase-orders/").json()["count"] == 0


@pytest.mark.parametrize("url", ["/api/v1/invoices/", "/api/v1/purchase-orders/"])
def test_given_5_or_50_documents_when_listed_then_the_query_count_is_the_same(
    as_user: Any, creator: User, supplier: Supplier, url: str, django_assert_max_num_queries: Any
) -> None:
    kind = DocumentKind.INVOICE if "invoices" in url else DocumentKind.PURCHASE_ORDER
    client = as_user(creator)

    def make(count: int) -> None:
        for _ in range(count):
            number = Document.objects.count()
            document_create(actor=creator, kind=kind, data=invoice_data(supplier, line(), code=f"C-{number}"))

    make(5)
    with django_assert_max_num_queries(2):  # count + one page
        assert len(client.get(url).json()["results"]) == 5
    make(45)
    with django_assert_max_num_queries(2):
        assert len(client.get(url).json()["results"]) == 50


def test_given_list_options_when_a_line_uses_them_then_the_detail_shows_their_ids(
    as_user: Any, creator: User, supplier: Supplier
) -> None:
    ids = {
        kind: list_option_create(actor=creator, kind=kind, name=f"{kind} 1").pk
        for kind in ("account", "class", "customer_project", "item", "tax_code")
    }
    body = invoice_body(supplier, lines=[{"description": "Toner", "quantity": "1", "unit_price": "9", **ids}])

    response = as_user(creator).post("/api/v1/invoices/", body, format="json")

    assert response.status_code == 201, response.content
    shown = response.json()["lines"][0]
    assert {kind: shown[kind] for kind in ids} == ids


def test_given_an_approved_invoice_when_only_its_notes_are_patched_then_it_is_an_edit_without_revision(
    as_user: Any, creator: User, approved_invoice: Document
) -> None:
    response = as_user(creator).patch(
        f"/api/v1/invoices/{approved_invoice.pk}/", {"notes": "paid by wire"}, format="json"
    )

    assert response.status_code == 200, response.content
    assert response.json()["status"] == "approved" and response.json()["revision"] == 0
    assert response.json()["events"][-1]["kind"] == "edit_without_revision"
