"""Credit notes through /api/v1/credit-notes/: create, read, list, edit and move through the workflow,
with the credited invoice and the Supplier Unique Code; never paid through /api/v1/payments/."""

from __future__ import annotations

from typing import Any

import pytest
from drf_spectacular.generators import SchemaGenerator

from accounts.models import User
from procurement.inputs import SupplierData
from procurement.models import Document, DocumentKind, Supplier
from procurement.services import document_create, supplier_create
from tests.api.conftest import assert_error
from tests.conftest import credit_note_data


def credit_note_body(supplier: Supplier, /, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "supplier": supplier.pk,
        "issue_date": "2026-11-12",
        "supplier_unique_code": "CR-2001",
        "lines": [{"description": "Returned toner", "quantity": "2", "unit_price": "25.00"}],
    }
    body.update(overrides)
    return body


def test_given_a_creator_when_she_posts_reads_edits_submits_and_an_approver_approves_then_the_round_trip_holds(
    as_user: Any, creator: User, approver: User, supplier: Supplier, approved_invoice: Document
) -> None:
    created = as_user(creator).post(
        "/api/v1/credit-notes/", credit_note_body(supplier, credited_invoice=approved_invoice.pk), format="json"
    )

    assert created.status_code == 201, created.content
    note = created.json()
    assert (note["kind"], note["number"], note["status"]) == ("credit_note", "CN-00001", "draft")
    assert (note["supplier_unique_code"], note["credited_invoice"], note["total"]) == (
        "CR-2001",
        approved_invoice.pk,
        "50.00",
    )
    assert (note["due_date"], note["purchase_order"]) == (None, None)
    assert note["actions"] == ["submit", "cancel"]

    url = f"/api/v1/credit-notes/{note['id']}/"
    assert as_user(creator).get(url).json() == note
    patched = as_user(creator).patch(url, {"notes": "Two cartridges back", "credited_invoice": None}, format="json")
    assert patched.status_code == 200, patched.content
    assert (patched.json()["notes"], patched.json()["credited_invoice"]) == ("Two cartridges back", None)
    assert patched.json()["supplier_unique_code"] == "CR-2001"  # kept: PATCH changes only what is sent

    assert as_user(creator).post(f"{url}submit", {}, format="json").json()["status"] == "pending"
    approved = as_user(approver).post(f"{url}approve", {"comment": "goods received back"}, format="json")
    assert approved.status_code == 200, approved.content
    assert approved.json()["status"] == "approved"
    assert [e["to_status"] for e in approved.json()["events"]] == ["draft", "", "pending", "approved"]


def test_given_no_supplier_unique_code_or_a_duplicate_then_the_create_is_refused_naming_the_field(
    as_user: Any, creator: User, supplier: Supplier, unchanged: Any
) -> None:
    document_create(actor=creator, kind=DocumentKind.CREDIT_NOTE, data=credit_note_data(supplier, code="CR-2001"))
    with unchanged():
        missing = as_user(creator).post(
            "/api/v1/credit-notes/", credit_note_body(supplier, supplier_unique_code=""), format="json"
        )
        duplicate = as_user(creator).post(
            "/api/v1/credit-notes/", credit_note_body(supplier, supplier_unique_code="cr-2001"), format="json"
        )
    assert assert_error(missing, 422, "supplier_unique_code")["fields"]["supplier_unique_code"] == [
        "Enter the supplier's own credit note number (Supplier Unique Code)."
    ]
    assert (
        "already has credit note CN-00001"
        in assert_error(duplicate, 422, "supplier_unique_code")["fields"]["supplier_unique_code"][0]
    )


@pytest.mark.parametrize("which", ["other supplier's", "purchase order", "missing"])
def test_given_a_credited_invoice_that_is_not_the_suppliers_then_it_is_refused_naming_the_field(
    as_user: Any,
    creator: User,
    supplier: Supplier,
    approved_invoice: Document,
    draft_po: Document,
    unchanged: Any,
    which: str,
) -> None:
    ink = supplier_create(actor=creator, data=SupplierData(name="Ink Ltd", currency="USD"))
    body = {
        "other supplier's": credit_note_body(ink, credited_invoice=approved_invoice.pk),
        "purchase order": credit_note_body(supplier, credited_invoice=draft_po.pk),
        "missing": credit_note_body(supplier, credited_invoice=987654321),
    }[which]
    with unchanged():
        response = as_user(creator).post("/api/v1/credit-notes/", body, format="json")
    message = assert_error(response, 422, "credited_invoice")["fields"]["credited_invoice"][0]
    if which == "other supplier's":
        assert message == (
            f"Invoice {approved_invoice.number} is from another supplier; a credit note credits an invoice of its own."
        )
    else:
        assert message == "Choose one of your invoices."


def test_given_credit_notes_and_invoices_when_listed_then_each_url_lists_its_own_kind_and_filters_by_status(
    as_user: Any, creator: User, supplier: Supplier, approved_invoice: Document
) -> None:
    draft = document_create(actor=creator, kind=DocumentKind.CREDIT_NOTE, data=credit_note_data(supplier, code="C1"))
    applied = document_create(actor=creator, kind=DocumentKind.CREDIT_NOTE, data=credit_note_data(supplier, code="C2"))
    Document.objects.filter(pk=applied.pk).update(status="applied")
    client = as_user(creator)

    def ids(url: str) -> list[int]:
        response = client.get(url)
        assert response.status_code == 200, response.content
        return [row["id"] for row in response.json()["results"]]

    assert ids("/api/v1/credit-notes/") == [applied.pk, draft.pk]
    assert ids("/api/v1/credit-notes/?status=applied") == [applied.pk]
    assert ids("/api/v1/credit-notes/?status=partly_applied") == []
    assert ids("/api/v1/invoices/") == [approved_invoice.pk]
    assert client.get(f"/api/v1/invoices/{draft.pk}/").status_code == 404
    assert_error(client.get(f"/api/v1/credit-notes/{approved_invoice.pk}/"), 404, code="not_found")


def test_given_an_approved_credit_note_when_a_payment_is_posted_against_it_then_it_is_refused_in_the_error_shape(
    as_user: Any, creator: User, approver: User, payer: User, supplier: Supplier, unchanged: Any
) -> None:
    note = document_create(actor=creator, kind=DocumentKind.CREDIT_NOTE, data=credit_note_data(supplier))
    as_user(creator).post(f"/api/v1/credit-notes/{note.pk}/submit", {}, format="json")
    as_user(approver).post(f"/api/v1/credit-notes/{note.pk}/approve", {}, format="json")
    body = {"invoice": note.pk, "amount": "10.00", "paid_on": "2026-11-20", "method": "cheque"}
    with unchanged():
        response = as_user(payer).post("/api/v1/payments/", body, format="json")
    assert "payments are recorded against invoices only" in assert_error(response, 422, "invoice")["message"]


def test_given_the_schema_then_credit_notes_have_their_own_operations_with_the_credited_invoice() -> None:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    paths = schema["paths"]
    operation_ids = [op["operationId"] for item in paths.values() for op in item.values() if "operationId" in op]
    assert len(operation_ids) == len(set(operation_ids))
    assert {"get", "post"} <= set(paths["/api/v1/credit-notes/"])
    assert {"get", "put", "patch"} <= set(paths["/api/v1/credit-notes/{id}/"])
    for action in ("submit", "approve", "reject", "revise", "cancel"):
        assert "post" in paths[f"/api/v1/credit-notes/{{id}}/{action}"]
    summary = schema["components"]["schemas"]["DocumentSummaryOut"]["properties"]
    assert summary["credited_invoice"].get("nullable") is True
    assert {"applied", "partly_applied"} <= set(schema["components"]["schemas"]["DocumentStatusEnum"]["enum"])
