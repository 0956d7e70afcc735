"""Reconciliation of documents against the live emulator: after a clean export it finds nothing; each
way a bill or purchase order can drift apart — a QBO user deleting, editing or copying it, a change
here that never reached QuickBooks — is found as its own kind of difference, and the fix offered
puts it right (the next run finds nothing). QuickBooks is read in bulk, never per document.

Payments and statuses: ``test_reconciliation_payments.py``, which shares the helpers here."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from procurement import workflow
from procurement.models import Document, DocumentKind, Status
from procurement.services import document_create, document_transition
from quickbooks.connection import client_for
from quickbooks.export.mapping import our_marker
from quickbooks.models import Connection, ConnectionStatus, ReconciliationRun
from quickbooks.reconciliation import DifferenceKind as K
from quickbooks.reconciliation import Fix, Report, reconcile
from quickbooks.reconciliation_runs import execute, run_fix, run_fix_all
from tests.conftest import invoice_data, line, po_data
from tests.quickbooks.conftest import Qbo, connect, settle, sync_of
from tests.quickbooks.test_payments_in import bill_id, catch_up, exported_invoice, pay, status_of

A = workflow.DocumentAction
D = Decimal


def check(qbo: Qbo) -> Report:
    """One reconciliation of the test company, straight through the engine."""
    connection = Connection.objects.get(pk=qbo.connection.pk)
    return reconcile(connection, client_for(connection))


def messages(report: Report) -> list[str]:
    return [f"{d.number} {d.kind.value}: {d.message}" for d in report.differences]


def kinds(report: Report) -> list[tuple[str, str]]:
    return sorted((d.number, d.kind.value) for d in report.differences)


def one(report: Report, kind: K) -> Any:
    found = [d for d in report.differences if d.kind == kind]
    assert len(found) == 1, report.differences
    return found[0]


def fixed_by(qbo: Qbo, admin: Any) -> Report:
    """Apply every fix through a run, as the page's "Fix all" does, then reconcile again."""
    run = ReconciliationRun.objects.create(company_id=admin.tenant_id, realm_id=qbo.realm_id, requested_by=admin)
    run = execute(run.pk)
    run_fix_all(actor=admin, run=run)
    settle()
    return check(qbo)


def approved(creator: Any, approver: Any, document: Document) -> Document:
    document_transition(actor=creator, document=document, action=A.SUBMIT)
    return document_transition(actor=approver, document=document, action=A.APPROVE)


# ------------------------------------------------------------------------------------ clean


def test_given_a_clean_export_when_reconciled_then_no_difference_and_few_calls(qbo, creator, approver, supplier, admin):
    paid = exported_invoice(creator, approver, supplier, code="CLEAN-1")
    exported_invoice(creator, approver, supplier, code="CLEAN-2", amount="80.00")
    discounted = document_create(
        actor=creator,
        kind="invoice",
        data=invoice_data(
            supplier,
            line("Chairs", "3", "19.99", discount_type="percent", discount_value=D("12.5")),
            line("Pens", "7", "1.3333"),
            discount_type="percent",
            discount_value=D("3.3"),
            code="CLEAN-3",
        ),
    )
    approved(creator, approver, discounted)
    cancelled = exported_invoice(creator, approver, supplier, code="CLEAN-4")
    document_transition(actor=creator, document=cancelled, action=A.CANCEL)
    document_create(actor=creator, kind="invoice", data=invoice_data(supplier, code="CLEAN-5"))  # a draft
    settle()
    pay(qbo, (paid, "20.00"))
    catch_up(qbo)
    assert status_of(paid) == Status.PARTLY_PAID

    report = check(qbo)

    assert messages(report) == []
    assert report.documents_checked == 5
    # By number, then the payments of our bills: no read per document.
    assert report.api_calls == 2


# ------------------------------------------------------------------------------------ documents


def test_given_a_bill_deleted_in_qbo_then_deleted_and_send_again_creates_it_anew(
    qbo, creator, approver, supplier, admin
):
    invoice = exported_invoice(creator, approver, supplier, code="DEL-1")
    old = bill_id(invoice)
    qbo.control("DELETE", f"/bills/{old}")

    found = one(check(qbo), K.DELETED)

    assert (found.number, found.fix, found.qbo_id, found.gone_from_qbo) == (invoice.number, Fix.SEND_AGAIN, old, True)
    assert f"sent as bill {old}" in found.message
    assert messages(fixed_by(qbo, admin)) == []
    new = bill_id(invoice)
    assert new != old and qbo.bill(new)["DocNumber"] == "DEL-1"


def test_given_a_bill_edited_in_qbo_then_lines_total_and_edited_and_send_again_writes_ours(
    qbo, creator, approver, supplier, admin
):
    invoice = exported_invoice(creator, approver, supplier, code="EDIT-1")
    qbo.control("PATCH", f"/bills/{bill_id(invoice)}", json={"amount": 60, "TxnDate": "2026-11-09"})

    report = check(qbo)

    assert kinds(report) == sorted((invoice.number, k) for k in ("date", "lines", "total", "edited"))
    assert "Total: QuickBooks has 60.00, procuresync 50.00." in one(report, K.TOTAL).message
    assert "Date: QuickBooks has 2026-11-09, procuresync 2026-11-02." in one(report, K.DATE).message
    assert "SyncToken" in one(report, K.EDITED).message
    assert all(d.fix == Fix.SEND_AGAIN and d.qbo_id == bill_id(invoice) for d in report.differences)
    assert messages(fixed_by(qbo, admin)) == []
    assert D(str(qbo.bill(bill_id(invoice))["TotalAmt"])) == D("50.00")


def test_given_a_bill_renumbered_and_moved_to_another_vendor_in_qbo_then_number_and_vendor_differ(
    qbo, creator, approver, supplier, admin
):
    invoice = exported_invoice(creator, approver, supplier, code="NUM-1")
    other = qbo.control("GET", "")["ids"]["Vendor"]
    vendor = next(v for name, v in other.items() if name != supplier.name)
    qbo.control("PATCH", f"/bills/{bill_id(invoice)}", json={"DocNumber": "NUM-1X", "VendorRef": {"value": vendor}})

    report = check(qbo)

    assert {d.kind for d in report.differences} == {K.DOC_NUMBER, K.VENDOR, K.EDITED}
    assert "Number: QuickBooks has NUM-1X, procuresync NUM-1." in one(report, K.DOC_NUMBER).message
    assert messages(fixed_by(qbo, admin)) == []


def test_given_a_second_copy_of_a_bill_in_qbo_then_more_than_one_and_open_in_quickbooks(
    qbo, creator, approver, supplier
):
    invoice = exported_invoice(creator, approver, supplier, code="DUP-1")
    ours = qbo.bill(bill_id(invoice))
    copy = {k: v for k, v in ours.items() if k not in ("Id", "SyncToken", "MetaData", "Balance", "TotalAmt")}
    extra = qbo.api("POST", "bill", params={"include": "allowduplicatedocnum"}, json=copy)["Bill"]["Id"]

    found = one(check(qbo), K.DUPLICATE)

    assert (found.fix, found.qbo_id) == (Fix.OPEN_IN_QBO, extra)
    assert f"realm={qbo.realm_id}" in found.qbo_url
    assert f"({ours['Id']}, {extra})" in found.message
    qbo.control("DELETE", f"/bills/{extra}")  # the person deletes the extra copy in QuickBooks
    assert messages(check(qbo)) == []


def test_given_auto_send_off_then_an_approved_invoice_is_missing_and_send_again_sends_it(
    qbo, creator, approver, supplier, admin
):
    Connection.objects.filter(pk=qbo.connection.pk).update(auto_send=False)
    invoice = approved(creator, approver, document_create(actor=creator, kind="invoice", data=invoice_data(supplier)))
    settle()

    found = one(check(qbo), K.MISSING)

    assert (found.number, found.fix, found.qbo_id) == (invoice.number, Fix.SEND_AGAIN, "")
    assert "Here it is Not sent." in found.message
    assert messages(fixed_by(qbo, admin)) == []
    assert sync_of(invoice).qbo_id


def test_given_an_invoice_cancelled_while_disconnected_then_in_qbo_but_should_not_be_and_send_again_deletes(
    qbo, creator, approver, supplier, admin
):
    invoice = exported_invoice(creator, approver, supplier, code="GONE-1")
    Connection.objects.filter(pk=qbo.connection.pk).update(status=ConnectionStatus.NOT_CONNECTED)
    document_transition(actor=creator, document=invoice, action=A.CANCEL)  # nothing queued: not connected
    Connection.objects.filter(pk=qbo.connection.pk).update(status=ConnectionStatus.CONNECTED)

    found = one(check(qbo), K.SHOULD_NOT_BE)

    assert (found.fix, found.qbo_id) == (Fix.SEND_AGAIN, bill_id(invoice))
    assert "is Cancelled, but QuickBooks holds it as bill" in found.message
    assert messages(fixed_by(qbo, admin)) == []
    assert qbo.query(f"SELECT * FROM Bill WHERE Id = '{bill_id(invoice)}'").get("Bill") is None


def test_given_a_bill_with_our_marker_for_a_draft_then_in_qbo_but_should_not_be(qbo, creator, supplier):
    draft = document_create(actor=creator, kind="invoice", data=invoice_data(supplier, code="DRAFT-1"))
    vendor = next(iter(qbo.control("GET", "")["ids"]["Vendor"].values()))
    stray = qbo.control(
        "POST",
        "/bills",
        json={
            "vendor_id": vendor,
            "amount": "50.00",
            "doc_number": "DRAFT-1",
            "private_note": our_marker("invoice", draft.number),
        },
    )["Bill"]

    found = one(check(qbo), K.SHOULD_NOT_BE)

    assert (found.number, found.fix, found.qbo_id) == (draft.number, Fix.OPEN_IN_QBO, stray["Id"])
    assert "Draft and was never approved" in found.message


def test_given_a_revised_invoice_then_qbo_keeps_the_approved_revision_and_nothing_is_reported(
    qbo, creator, approver, supplier
):
    invoice = exported_invoice(creator, approver, supplier, code="REV-1")
    document_transition(actor=creator, document=invoice, action=A.REVISE)
    settle()
    assert messages(check(qbo)) == []
    qbo.control("DELETE", f"/bills/{bill_id(invoice)}")

    found = one(check(qbo), K.DELETED)

    assert found.fix == Fix.NONE and "once it is approved" in found.message


def test_given_purchase_orders_then_the_same_checks_on_purchase_orders(
    qbo_settings, worker, admin, creator, approver, supplier
):
    from tests.quickbooks import conftest

    conftest._EMULATOR[:] = [qbo_settings]
    qbo = connect(admin, document_kind="purchase_order")
    po = approved(creator, approver, document_create(actor=creator, kind="purchase_order", data=po_data(supplier)))
    settle()
    assert messages(check(qbo)) == []
    qbo.api(
        "POST",
        "purchaseorder",
        params={"operation": "delete"},
        json={
            "Id": sync_of(po).qbo_id,
            "SyncToken": qbo.api("GET", f"purchaseorder/{sync_of(po).qbo_id}")["PurchaseOrder"]["SyncToken"],
        },
    )

    found = one(check(qbo), K.DELETED)

    assert f"sent as purchase order {found.qbo_id}" in found.message
    assert messages(fixed_by(qbo, admin)) == []
    assert po.kind == DocumentKind.PURCHASE_ORDER


# ------------------------------------------------------------------------------------ fixes


def test_given_one_row_when_fixed_then_it_is_marked_and_fixing_again_changes_nothing(
    qbo, creator, approver, supplier, admin
):
    invoice = exported_invoice(creator, approver, supplier, code="ONE-1")
    qbo.control("DELETE", f"/bills/{bill_id(invoice)}")
    run = execute(
        ReconciliationRun.objects.create(company_id=admin.tenant_id, realm_id=qbo.realm_id, requested_by=admin).pk
    )
    assert run.differences == 1

    first = run_fix(actor=admin, run=run, index=0)
    settle()
    again = run_fix(actor=admin, run=run, index=0)

    assert first == again == f"{invoice.number}: queued to send again."
    run.refresh_from_db()
    assert run.rows[0]["fixed"] == "Queued to send again"
    assert messages(check(qbo)) == []


def test_given_send_again_then_it_needs_the_send_role_and_an_approved_or_final_document(
    qbo, creator, approver, supplier, payer
):
    import pytest

    from procuresync.errors import RoleRequired
    from quickbooks.errors import SendRefused
    from quickbooks.export.services import document_send_again

    invoice = exported_invoice(creator, approver, supplier, code="SA-1")
    with pytest.raises(RoleRequired):
        document_send_again(actor=payer, document=invoice)
    document_transition(actor=creator, document=invoice, action=A.REVISE)
    invoice.refresh_from_db()
    with pytest.raises(SendRefused, match="once it is approved"):
        document_send_again(actor=creator, document=invoice)
    settle()
    assert sync_of(invoice).qbo_id == bill_id(invoice) and sync_of(invoice).synced_revision == 0


# ------------------------------------------------------------------------------------ reading in bulk


class FakeClient:
    """Answers queries from a list of rows, as QBO would: IN on one field, ORDERBY Id, pages of 1,000."""

    def __init__(self, rows: list[dict[str, Any]]) -> None:
        self.rows = rows
        self.calls = 0
        self.sizes: list[int] = []

    def request(self, method: str, path: str, *, body: str, content_type: str) -> dict[str, Any]:
        import re

        assert (method, path, content_type) == ("POST", "query", "application/text")
        self.calls += 1
        match = re.match(
            r"SELECT \* FROM Bill WHERE (\w+) IN \((.*)\) ORDERBY Id STARTPOSITION (\d+) MAXRESULTS (\d+)", body
        )
        assert match, body
        field_name, listed, start, size = match.groups()
        values = {v.strip().strip("'") for v in listed.split(",")}
        self.sizes.append(len(values))
        found = sorted((r for r in self.rows if str(r[field_name]) in values), key=lambda r: int(r["Id"]))
        return {"QueryResponse": {"Bill": found[int(start) - 1 : int(start) - 1 + int(size)]}}


def test_given_thousands_of_ids_then_at_most_a_thousand_a_query_and_no_empty_pages():
    from quickbooks.reconciliation.reading import read_in

    client = FakeClient([{"Id": str(i), "DocNumber": f"N-{i}"} for i in range(1, 2501)])

    rows = read_in(client, "Bill", "Id", [str(i) for i in range(1, 2501)])  # type: ignore[arg-type]

    assert len(rows) == 2500
    assert client.sizes == [1000, 1000, 500] and client.calls == 3


def test_given_many_copies_of_numbers_then_the_query_pages_until_all_are_read():
    from quickbooks.reconciliation.reading import read_in

    copies = [{"Id": str(i), "DocNumber": f"N-{i % 600}"} for i in range(1, 1801)]  # 3 bills a number
    client = FakeClient(copies)

    rows = read_in(client, "Bill", "DocNumber", [f"N-{i}" for i in range(600)])  # type: ignore[arg-type]

    assert len(rows) == 1800
    assert max(client.sizes) <= 1000 and client.calls == 2  # one chunk, two pages
