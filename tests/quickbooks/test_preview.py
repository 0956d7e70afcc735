"""The QuickBooks preview: what approving a document would send, in words and numbers, with what
would stop it — built by the delivery's own mapping, so it is exactly what is sent."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.models import User
from procurement import workflow
from procurement.inputs import LineData
from procurement.models import Document, Supplier
from procurement.services import document_create, document_transition, document_update
from procurement.validation import document_data_from
from quickbooks.client import QboClient
from quickbooks.models import Connection
from quickbooks.preview import document_preview
from tests.conftest import invoice_data, line, po_data
from tests.quickbooks.conftest import Qbo, settle, sync_of
from tests.quickbooks.test_export import approve

D = Decimal
CLOSED = dt.date(2026, 10, 31)


def preview_of(document: Document) -> Any:
    document.refresh_from_db()
    return document_preview(document, Connection.objects.get(company_id=document.company_id))


def test_given_closed_books_when_a_draft_is_previewed_then_it_warns_with_the_fix_and_a_new_date_clears_it(
    qbo: Qbo, creator: User, supplier: Supplier
) -> None:
    qbo.close_books(CLOSED)
    Connection.objects.filter(pk=qbo.connection.pk).update(book_close_date=CLOSED)
    draft = document_create(
        actor=creator, kind="invoice", data=invoice_data(supplier, issue_date=dt.date(2026, 10, 20), code="OLD-1")
    )

    warned = preview_of(draft)
    closed = [w for w in warned.warnings if w.code == "closed_period"]
    assert closed and closed[0].stops
    assert "change its date to after 31 Oct 2026" in closed[0].message
    assert "reopen the period" in closed[0].message

    data = document_data_from(draft)
    data.issue_date = dt.date(2026, 11, 3)
    document_update(actor=creator, document=draft, data=data)

    assert [w.code for w in preview_of(draft).warnings if w.stops] == []


def test_given_a_draft_then_the_preview_says_what_quickbooks_will_hold(
    qbo: Qbo, creator: User, supplier: Supplier
) -> None:
    data = invoice_data(
        supplier,
        line("Chairs", "3", "19.99", discount_type="percent", discount_value=D("10")),
        line("Desk", "1", "250", tax_rate=D("8")),
        discount_type="amount",
        discount_value=D("5"),
        code="PRE-1",
    )
    draft = document_create(actor=creator, kind="invoice", data=data)

    preview = preview_of(draft)

    assert (preview.entity, preview.doc_number, preview.txn_date) == ("Bill", "PRE-1", "2026-11-02")
    assert "not linked yet" in preview.vendor_note
    assert [line.description for line in preview.lines] == ["Chairs", "Desk"]
    assert preview.total == draft.total
    assert preview.lines[0].account  # the default expense account, by name
    assert any("document discount of 5.00" in note for note in preview.folding)
    assert any("Tax of" in note for note in preview.folding)


def test_given_automatic_sending_off_and_a_zip_attachment_then_the_preview_says_so_without_stopping(
    qbo: Qbo, creator: User, admin: User, supplier: Supplier
) -> None:
    Connection.objects.filter(pk=qbo.connection.pk).update(auto_send=False)
    draft = document_create(actor=creator, kind="invoice", data=invoice_data(supplier, code="PRE-2"))
    draft.attachments.create(name="scans.zip", content_type="application/zip", size=3, uploaded_by=creator)

    codes = {w.code: w.stops for w in preview_of(draft).warnings}

    assert codes == {"auto_send_off": False, "attachments_kept": False}


def test_given_a_pending_invoice_that_quickbooks_would_refuse_then_approving_asks_for_confirmation(
    qbo: Qbo, creator: User, approver: User, supplier: Supplier
) -> None:
    Connection.objects.filter(pk=qbo.connection.pk).update(book_close_date=CLOSED)
    pending = document_create(
        actor=creator, kind="invoice", data=invoice_data(supplier, issue_date=dt.date(2026, 10, 1), code="PRE-3")
    )
    document_transition(actor=creator, document=pending, action=workflow.DocumentAction.SUBMIT)
    client = Client()
    client.force_login(approver)

    page = client.get(reverse("invoice-detail", args=[pending.pk])).content.decode()

    assert 'id="quickbooks-preview"' in page
    assert 'data-confirm="QuickBooks will not accept this document as it is:' in page


def test_given_the_api_then_the_preview_is_json_and_a_document_not_sent_is_a_409(
    qbo: Qbo, creator: User, supplier: Supplier
) -> None:
    draft = document_create(actor=creator, kind="invoice", data=invoice_data(supplier, code="PRE-4"))
    order = document_create(actor=creator, kind="purchase_order", data=po_data(supplier))
    client = Client()
    client.force_login(creator)

    answer = client.get(f"/api/v1/invoices/{draft.pk}/quickbooks-preview")
    refused = client.get(f"/api/v1/purchase-orders/{order.pk}/quickbooks-preview")

    assert answer.status_code == 200
    body = answer.json()
    assert (body["entity"], body["doc_number"], body["total"], body["stops"]) == ("Bill", "PRE-4", "50.00", False)
    assert body["payload"]["DocNumber"] == "PRE-4"
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "not_sent_to_quickbooks"


# ----------------------------------------------------------------- the preview is what is sent

amounts = st.integers(min_value=1, max_value=2_000_000).map(lambda c: D(c) / 10_000)
random_lines = st.lists(
    st.tuples(
        st.integers(min_value=1, max_value=5_000).map(lambda q: D(q) / 100),
        amounts,
        st.sampled_from(["", "percent"]),
        st.integers(min_value=0, max_value=50),
        st.sampled_from([D("0"), D("5"), D("8.25"), D("20")]),
    ),
    min_size=1,
    max_size=5,
)


def _normal(payload: dict[str, Any]) -> Any:
    return json.loads(json.dumps(payload, default=str, sort_keys=True))


@pytest.mark.in_process_worker  # it listens to the client the delivery uses
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(drawn=random_lines, document_discount=st.integers(min_value=0, max_value=30))
def test_given_random_documents_then_the_preview_payload_is_exactly_what_the_delivery_sends(
    qbo: Qbo,
    creator: User,
    approver: User,
    supplier: Supplier,
    monkeypatch: pytest.MonkeyPatch,
    drawn: list[Any],
    document_discount: int,
) -> None:
    sent: list[dict[str, Any]] = []
    create = QboClient.create

    def recording(self: QboClient, entity: str, payload: dict[str, Any], *, request_id: str) -> dict[str, Any]:
        if entity == "Bill":
            sent.append(_normal(payload))
        return create(self, entity, payload, request_id=request_id)

    monkeypatch.setattr(QboClient, "create", recording)
    lines = [
        LineData(f"Line {i}", qty, price, discount_type=kind, discount_value=D(value) if kind else D("0"), tax_rate=tax)
        for i, (qty, price, kind, value, tax) in enumerate(drawn, start=1)
    ]
    code = f"RND-{Document.objects.count() + 1}"
    data = invoice_data(
        supplier,
        *lines,
        code=code,
        discount_type="percent" if document_discount else "",
        discount_value=D(document_discount),
    )
    invoice = approve(creator, approver, document_create(actor=creator, kind="invoice", data=data))
    settle()

    assert sync_of(invoice).qbo_id, sync_of(invoice).error_message
    assert sent, "the delivery sent no bill"
    assert _normal(preview_of(invoice).payload) == sent[-1]
