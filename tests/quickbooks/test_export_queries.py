"""A batch's database work is per batch, not per document: the queries of one delivery of 30
approved invoices stay within a bound that does not grow with the number of documents (issue 13)."""

import collections
import uuid

import pytest
from django.db import connection as db_connection
from django.test.utils import CaptureQueriesContext

from accounts.roles import Role
from procurement import workflow
from procurement.inputs import SupplierData
from procurement.services import document_create, document_transition, supplier_create
from quickbooks.connection import client_for
from quickbooks.export import delivery, outbox
from quickbooks.export.services import document_send
from quickbooks.export.vendors import ensure_vendor
from quickbooks.models import Connection, DocumentSync, OutboxState, SyncAttempt, SyncStatus
from tests.conftest import invoice_data, make_user
from tests.quickbooks.conftest import _EMULATOR, connect

A = workflow.DocumentAction
# One delivery of a batch, whatever its size: measured 18 for 6 or 30 documents on SQLite, with its
# 3 BEGIN / COMMIT pairs (before issue 13: 53 for 6, 221 for 30; a query or more per document for
# the vendor link twice, the lines, the files, the link saved, the attempt, the row finished).
MAX_QUERIES_PER_BATCH = 20


@pytest.fixture
def quiet_qbo(qbo_settings, transactional_db, admin):
    """Connected, with nothing sent on approval and no worker: the test delivers by hand."""
    _EMULATOR[:] = [qbo_settings]
    return connect(admin, auto_send=False)


def queued_invoices(company, count: int, suppliers: int):
    user = make_user(company, "batcher", *Role)
    connection = Connection.objects.select_related("company", "default_expense_account", "default_ap_account").get(
        company=company
    )  # as ``delivery.deliver`` reads it
    client = client_for(connection)
    made = [
        supplier_create(actor=user, data=SupplierData(name=f"Batch Supplier {s}", currency="USD"))
        for s in range(suppliers)
    ]
    for supplier in made:  # linked beforehand, as a company's usual suppliers are
        ensure_vendor(connection=connection, client=client, supplier=supplier)
    invoices = []
    for i in range(count):
        invoice = document_create(
            actor=user, kind="invoice", data=invoice_data(made[i % suppliers], code=f"Q-{count}-{i}")
        )
        document_transition(actor=user, document=invoice, action=A.SUBMIT)
        invoice = document_transition(actor=user, document=invoice, action=A.APPROVE)
        document_send(actor=user, document=invoice)
        invoices.append(invoice)
    return connection, invoices


def deliver_one_batch(connection, invoices):
    first = invoices[0]
    item_id = outbox.OutboxItem.objects.get(document=first, state=OutboxState.PENDING).id
    items = outbox.claim_in_lane(item_id, connection.company_id, first.pk, up_to=30)
    assert len(items) == len(invoices)
    client = client_for(connection)
    with CaptureQueriesContext(db_connection) as captured:
        delivery._send(connection, client, items)
    return captured


@pytest.mark.in_process_worker  # counts this process's queries
@pytest.mark.parametrize("count", [6, 30])
def test_given_approved_invoices_of_3_suppliers_when_they_go_out_in_one_batch_then_the_queries_do_not_grow(
    quiet_qbo, company, count
):
    connection, invoices = queued_invoices(company, count, suppliers=3)

    captured = deliver_one_batch(connection, invoices)

    kinds = collections.Counter(" ".join(q["sql"].split('"')[:2])[:40] for q in captured.captured_queries)
    assert len(captured) <= MAX_QUERIES_PER_BATCH, (len(captured), kinds)
    assert {s.status for s in DocumentSync.objects.filter(document__in=invoices)} == {SyncStatus.SENT}
    assert set(outbox.OutboxItem.objects.filter(document__in=invoices).values_list("state", flat=True)) == {
        OutboxState.DONE
    }
    attempts = SyncAttempt.objects.filter(document__in=invoices)
    assert attempts.count() == count
    assert all(f"(batch of {count})" in a.operation for a in attempts)


@pytest.mark.in_process_worker  # delivers in this process
def test_given_a_row_of_the_batch_taken_over_meanwhile_then_the_others_finish_and_that_one_is_left_alone(
    quiet_qbo, company
):
    connection, invoices = queued_invoices(company, 5, suppliers=2)
    first = invoices[0]
    item_id = outbox.OutboxItem.objects.get(document=first, state=OutboxState.PENDING).id
    items = outbox.claim_in_lane(item_id, connection.company_id, first.pk, up_to=30)
    # The lease of one row ran out and another worker claimed it: the one UPDATE for all finds 4.
    lost = items[2]
    other = uuid.uuid4()
    outbox.OutboxItem.objects.filter(pk=lost.pk).update(claim_token=other)

    delivery._send(connection, client_for(connection), items)

    rows = {row.pk: row for row in outbox.OutboxItem.objects.filter(document__in=invoices)}
    assert rows[lost.pk].state == OutboxState.IN_FLIGHT and rows[lost.pk].claim_token == other
    assert {row.state for pk, row in rows.items() if pk != lost.pk} == {OutboxState.DONE}
    assert all(rows[item.pk].attempts == 1 for item in items if item.pk != lost.pk)
    assert SyncAttempt.objects.filter(document__in=invoices, outcome="ok").count() == 5  # what was done


@pytest.mark.in_process_worker  # delivers in this process
def test_given_a_new_supplier_with_two_invoices_in_the_batch_then_one_vendor_is_made_and_both_bills_name_it(
    quiet_qbo, company
):
    connection, invoices = queued_invoices(company, 4, suppliers=2)
    user = make_user(company, "newcomer", *Role)
    newcomer = supplier_create(actor=user, data=SupplierData(name="Brand New Supplier", currency="USD"))
    for i in range(2):
        invoice = document_create(actor=user, kind="invoice", data=invoice_data(newcomer, code=f"NEW-{i}"))
        document_transition(actor=user, document=invoice, action=A.SUBMIT)
        invoice = document_transition(actor=user, document=invoice, action=A.APPROVE)
        document_send(actor=user, document=invoice)
        invoices.append(invoice)

    deliver_one_batch(connection, invoices)

    syncs = DocumentSync.objects.filter(document__in=invoices)
    assert {s.status for s in syncs} == {SyncStatus.SENT}
    vendors = quiet_qbo.query("SELECT * FROM Vendor WHERE DisplayName = 'Brand New Supplier'")["Vendor"]
    assert len(vendors) == 1
    bills = [quiet_qbo.bill(s.qbo_id) for s in syncs if s.document.supplier_id == newcomer.pk]
    assert [b["VendorRef"]["value"] for b in bills] == [vendors[0]["Id"]] * 2
