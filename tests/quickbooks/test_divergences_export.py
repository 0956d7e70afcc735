"""Divergences between procuresync and QuickBooks found by review (issue 9), each pinned by a test
that failed before its fix: QuickBooks must end up holding exactly the latest approved revision."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import httpx
import pytest

from procurement import workflow
from procurement.services import document_create, document_transition, document_update
from procurement.validation import document_data_from
from quickbooks.errors import QboDuplicate, QboThrottled, classify
from quickbooks.export import delivery, reconcile
from quickbooks.models import Connection, OutboxItem, SyncStatus
from tests.conftest import invoice_data, line
from tests.quickbooks.conftest import settle, sync_of

A = workflow.DocumentAction


def approved_invoice(creator, approver, supplier, code="DV-1", **kwargs):
    invoice = document_create(actor=creator, kind="invoice", data=invoice_data(supplier, code=code, **kwargs))
    document_transition(actor=creator, document=invoice, action=A.SUBMIT)
    return document_transition(actor=approver, document=invoice, action=A.APPROVE)


def revise(creator, approver, invoice, *lines, approve=True, **changes):
    document_transition(actor=creator, document=invoice, action=A.REVISE)
    data = document_data_from(invoice)
    if lines:
        data.lines = list(lines)
    for name, value in changes.items():
        setattr(data, name, value)
    document_update(actor=creator, document=invoice, data=data)
    if approve:
        document_transition(actor=creator, document=invoice, action=A.SUBMIT)
        document_transition(actor=approver, document=invoice, action=A.APPROVE)
    return invoice


def vendor_of(qbo, creator, approver, supplier):
    """The supplier's vendor in QuickBooks, linked by sending a first invoice."""
    from quickbooks.models import VendorLink

    approved_invoice(creator, approver, supplier, "FIRST-1")
    settle()
    return VendorLink.objects.get(supplier=supplier).qbo_id


def typed_bill(qbo, vendor_id, number):
    """A bill a bookkeeper types in QuickBooks by hand."""
    return qbo.api("POST", "bill", json={
        "VendorRef": {"value": vendor_id}, "DocNumber": number, "TxnDate": "2026-11-02",
        "Line": [{"Amount": 7, "DetailType": "AccountBasedExpenseLineDetail",
                  "AccountBasedExpenseLineDetail": {"AccountRef": {"value": "7"}}}],
    })["Bill"]


def bills_numbered(qbo, code):
    return qbo.query(f"SELECT * FROM Bill WHERE DocNumber = '{code}'").get("Bill", [])


def deliver_now(invoice):
    """What the worker does for the document's outbox row (the test's worker is paused)."""
    delivery.deliver(str(OutboxItem.objects.filter(document=invoice).latest("created_at").pk))


# -------------------------------------------------------------------- 2. draft lines in the gap


@pytest.mark.in_process_worker
def test_given_a_revision_starts_while_the_bill_is_being_built_then_its_draft_lines_never_reach_quickbooks(
    qbo, creator, approver, supplier, worker, monkeypatch
):
    worker.pause()
    invoice = approved_invoice(creator, approver, supplier, "GAP-1")  # 10 × 5.00
    real_ensure_vendor = reconcile.ensure_vendor
    raced = []

    def vendor_while_someone_revises(**kwargs):
        if not raced:  # between reading the document and reading its lines: revise and edit
            raced.append(revise(creator, approver, invoice, line("Draft", "1", "999"), approve=False))
        return real_ensure_vendor(**kwargs)

    monkeypatch.setattr(reconcile, "ensure_vendor", vendor_while_someone_revises)
    deliver_now(invoice)
    monkeypatch.undo()
    worker.resume()
    settle()

    assert raced
    assert [Decimal(str(b["TotalAmt"])) for b in bills_numbered(qbo, "GAP-1")] != [Decimal("999.00")]
    invoice.refresh_from_db()
    assert sync_of(invoice).synced_revision != invoice.revision  # nothing claims the draft is in QuickBooks
    document_transition(actor=creator, document=invoice, action=A.SUBMIT)
    document_transition(actor=approver, document=invoice, action=A.APPROVE)
    settle()
    (bill,) = bills_numbered(qbo, "GAP-1")
    assert Decimal(str(bill["TotalAmt"])) == Decimal("999.00")
    assert sync_of(invoice).status == SyncStatus.SENT


# -------------------------------------------------------------------- 3, 4. a lost create answer


@pytest.mark.in_process_worker
def test_given_the_create_answer_was_lost_and_the_invoice_revised_then_quickbooks_holds_the_revision(
    qbo, creator, approver, supplier, worker
):
    worker.pause()
    invoice = approved_invoice(creator, approver, supplier, "LOST-REV")  # 50.00
    qbo.fault(kind="drop", count=3, match="/bill")  # QBO creates it; every answer is lost
    deliver_now(invoice)
    assert len(bills_numbered(qbo, "LOST-REV")) == 1 and sync_of(invoice).qbo_id == ""
    revise(creator, approver, invoice, line("Revised paper", "4", "10"))  # 40.00, revision 2
    worker.resume()
    settle()

    (bill,) = bills_numbered(qbo, "LOST-REV")
    assert Decimal(str(bill["TotalAmt"])) == Decimal("40.00")
    assert [ln["Description"] for ln in bill["Line"]] == ["Revised paper"]
    sync = sync_of(invoice)
    invoice.refresh_from_db()
    assert (sync.status, sync.synced_revision, sync.qbo_id) == (SyncStatus.SENT, invoice.revision, str(bill["Id"]))


@pytest.mark.in_process_worker
def test_given_the_create_answer_was_lost_and_the_supplier_code_changed_then_no_second_bill(
    qbo, creator, approver, supplier, worker
):
    worker.pause()
    invoice = approved_invoice(creator, approver, supplier, "OLD-CODE")
    qbo.fault(kind="drop", count=3, match="/bill")
    deliver_now(invoice)
    revise(creator, approver, invoice, supplier_unique_code="NEW-CODE")
    worker.resume()
    settle()

    assert bills_numbered(qbo, "OLD-CODE") == []
    assert len(bills_numbered(qbo, "NEW-CODE")) == 1
    assert sync_of(invoice).status == SyncStatus.SENT


@pytest.mark.in_process_worker
def test_given_the_create_answer_was_lost_when_the_invoice_is_cancelled_then_the_bill_is_removed(
    qbo, creator, approver, supplier, worker
):
    worker.pause()
    invoice = approved_invoice(creator, approver, supplier, "LOST-CANCEL")
    qbo.fault(kind="drop", count=3, match="/bill")
    deliver_now(invoice)
    assert len(bills_numbered(qbo, "LOST-CANCEL")) == 1
    document_transition(actor=creator, document=invoice, action=A.CANCEL)
    worker.resume()
    settle()

    assert bills_numbered(qbo, "LOST-CANCEL") == []
    assert sync_of(invoice).status == SyncStatus.SENT  # what QuickBooks should hold: nothing


def test_given_a_bookkeeper_typed_a_bill_with_our_number_then_a_lost_create_does_not_take_it_over(
    qbo, creator, approver, supplier, worker
):
    typed = typed_bill(qbo, vendor_of(qbo, creator, approver, supplier), "TYPED-1")
    invoice = document_create(actor=creator, kind="invoice", data=invoice_data(supplier, code="TYPED-1"))
    from quickbooks.models import DocumentSync

    DocumentSync.objects.create(document=invoice, company_id=invoice.company_id, create_uncertain=True)
    document_transition(actor=creator, document=invoice, action=A.SUBMIT)
    document_transition(actor=approver, document=invoice, action=A.APPROVE)
    settle()

    sync = sync_of(invoice)
    assert sync.qbo_id != str(typed["Id"])  # the bookkeeper's bill is not ours
    assert qbo.bill(typed["Id"])["TotalAmt"] == 7


# -------------------------------------------------------------------- 8. throttling by fault code


def test_given_a_duplicate_number_fault_naming_003001_then_it_is_a_duplicate_not_a_throttle():
    body = {"Fault": {"type": "ValidationFault", "Error": [{
        "Message": "Duplicate Document Number Error", "code": "6140",
        "Detail": "Duplicate Document Number Error : You must specify a different number. This number has "
                  "already been used. DocNumber=INV-003001 is assigned to TxnType=Bill with TxnId=31",
    }]}}
    error = classify(httpx.Response(400, json=body))
    assert isinstance(error, QboDuplicate) and not error.retryable


def test_given_a_throttle_answered_in_xml_then_it_is_still_a_throttle():
    xml = '<IntuitResponse><Fault type="ValidationFault"><Error code="3001"><Message>message=ThrottleExceeded' \
          '</Message></Error></Fault></IntuitResponse>'
    assert isinstance(classify(httpx.Response(429, text=xml)), QboThrottled)
    assert isinstance(classify(httpx.Response(400, text=xml)), QboThrottled)


def test_given_quickbooks_already_has_bill_003001_then_the_invoice_fails_once_with_the_duplicate_message(
    qbo, creator, approver, supplier
):
    typed_bill(qbo, vendor_of(qbo, creator, approver, supplier), "INV-003001")
    invoice = approved_invoice(creator, approver, supplier, "INV-003001")
    settle()
    sync = sync_of(invoice)
    assert sync.status == SyncStatus.FAILED and "duplicate" in sync.error_message.lower()
    assert list(invoice.qbo_attempts.values_list("outcome", flat=True)) == ["failed"]


# -------------------------------------------------------------------- 9, 14. closed books


def test_given_a_sent_bill_in_a_closed_period_when_a_revision_moves_its_date_out_then_the_message_names_the_held_date(
    qbo, creator, approver, supplier
):
    invoice = approved_invoice(creator, approver, supplier, "HELD-1", issue_date=dt.date(2026, 11, 2))
    settle()
    qbo.close_books(dt.date(2026, 11, 15))
    revise(creator, approver, invoice, issue_date=dt.date(2026, 11, 20))
    settle()
    sync = sync_of(invoice)
    assert sync.status == SyncStatus.FAILED
    assert "02 Nov 2026" in sync.error_message and "15 Nov 2026" in sync.error_message
    assert "change its date" not in sync.error_message  # the new date is already open
    assert "reopen" in sync.error_message


def test_given_the_books_were_reopened_when_the_user_presses_retry_then_it_is_sent_at_once(
    qbo, creator, approver, supplier
):
    from quickbooks.export.services import document_send

    qbo.close_books(dt.date(2026, 11, 15))
    invoice = approved_invoice(creator, approver, supplier, "REOPEN-1", issue_date=dt.date(2026, 11, 2))
    settle()
    assert sync_of(invoice).error_code == "closed_period"
    # The accountant reopens the period in QuickBooks; our cached closing date is minutes old.
    qbo.control("PUT", "/closing-date", json={"date": None})
    document_send(actor=creator, document=invoice)
    settle()
    assert sync_of(invoice).status == SyncStatus.SENT
    assert len(bills_numbered(qbo, "REOPEN-1")) == 1


# -------------------------------------------------------------------- 15, 16. failures keep their trace


def test_given_a_failed_invoice_when_the_document_type_goes_to_pos_and_back_then_it_is_still_failed(
    qbo, admin, creator, approver, supplier
):
    from quickbooks.services import connection_update_settings

    qbo.close_books(dt.date(2026, 11, 15))
    invoice = approved_invoice(creator, approver, supplier, "SWITCH-1", issue_date=dt.date(2026, 11, 2))
    settle()
    message = sync_of(invoice).error_message
    connection = Connection.objects.get(pk=qbo.connection.pk)
    settings_now = {
        "auto_send": True, "import_payments": True,
        "default_ap_account_id": connection.default_ap_account_id,
        "default_expense_account_id": connection.default_expense_account_id,
    }
    connection_update_settings(actor=admin, document_kind="purchase_order", **settings_now)
    connection_update_settings(actor=admin, document_kind="invoice", **settings_now)
    sync = sync_of(invoice)
    assert (sync.status, sync.error_message) == (SyncStatus.FAILED, message)


def test_given_a_failed_invoice_when_a_revision_is_rejected_then_the_failure_stays_visible(
    qbo, creator, approver, supplier
):
    from quickbooks.export.services import documents_retry_failed

    qbo.close_books(dt.date(2026, 11, 15))
    invoice = approved_invoice(creator, approver, supplier, "REJ-1", issue_date=dt.date(2026, 11, 2))
    settle()
    revise(creator, approver, invoice, approve=False)
    documents_retry_failed(actor=creator)  # someone presses "Retry all failed" meanwhile
    settle()
    document_transition(actor=creator, document=invoice, action=A.SUBMIT)
    document_transition(actor=approver, document=invoice, action=A.REJECT, comment="Wrong supplier")
    settle()
    sync = sync_of(invoice)
    assert sync.status != SyncStatus.NOT_SENT
    assert "closing date" in sync.error_message


def test_given_a_sent_invoice_when_its_revision_is_rejected_then_the_bill_leaves_quickbooks(
    qbo, creator, approver, supplier
):
    invoice = approved_invoice(creator, approver, supplier, "REJ-2")
    settle()
    assert len(bills_numbered(qbo, "REJ-2")) == 1
    revise(creator, approver, invoice, approve=False)
    document_transition(actor=creator, document=invoice, action=A.SUBMIT)
    document_transition(actor=approver, document=invoice, action=A.REJECT, comment="Not ours")
    settle()
    assert bills_numbered(qbo, "REJ-2") == []  # rejected is final: it will never be paid here
    assert sync_of(invoice).status == SyncStatus.SENT


# -------------------------------------------------------------------- 12. a slow delivery's late answer


def test_given_a_delivery_outlived_its_claim_when_its_late_failure_arrives_then_it_changes_nothing(
    db, creator, approver, supplier
):
    from quickbooks.export import outbox
    from quickbooks.export.attempts import DeliveryResult, Outcome
    from quickbooks.models import DocumentSync, OutboxState

    invoice = document_create(actor=creator, kind="invoice", data=invoice_data(supplier, code="SLOW-1"))
    DocumentSync.objects.create(document=invoice, company_id=invoice.company_id, status=SyncStatus.QUEUED)
    row = outbox.add(document=invoice, reason="approved")
    (slow,) = outbox.claim(row.pk)  # worker A claims it, then stalls past its lease
    OutboxItem.objects.filter(pk=row.pk).update(claimed_until=dt.datetime(2000, 1, 1, tzinfo=dt.UTC))
    outbox.due_for_sweep()  # the sweeper takes A for dead
    (fast,) = outbox.claim(row.pk)  # worker B delivers it
    DocumentSync.objects.filter(document=invoice).update(status=SyncStatus.SENT, qbo_id="77")
    delivery.settle(fast, DeliveryResult.done("create Bill", qbo_id="77"))

    delivery.settle(slow, DeliveryResult(Outcome.FAILED, operation="?", message="QuickBooks did not answer in time."))

    assert OutboxItem.objects.get(pk=row.pk).state == OutboxState.DONE
    assert (sync_of(invoice).status, sync_of(invoice).error_message) == (SyncStatus.SENT, "")


def test_given_the_delivery_actor_then_its_time_limit_ends_before_its_claim_expires():
    from quickbooks.export import outbox

    limit_ms = delivery.deliver_outbox_item.options["time_limit"]
    assert dt.timedelta(milliseconds=limit_ms) < outbox.CLAIM_LEASE


def test_given_a_revision_of_a_sent_invoice_is_pending_then_the_approver_is_told_what_rejecting_does(
    qbo, creator, approver, supplier, client
):
    from django.urls import reverse

    invoice = approved_invoice(creator, approver, supplier, "TELL-1")
    settle()
    revise(creator, approver, invoice, approve=False)
    document_transition(actor=creator, document=invoice, action=A.SUBMIT)
    client.force_login(approver)
    page = client.get(reverse("invoice-detail", args=[invoice.pk])).content.decode()
    assert "Rejecting is final: the bill is removed from QuickBooks" in page
