"""Payments and statuses, checked after the documents: what QuickBooks applied to our bills
against the payments here, and each invoice's status against its payments.

What QuickBooks applied to each bill is computed by ``quickbooks.inbound.feed.parts_of``, the code
the payments import uses, and compared with the payments here part by part (a payment and a
supplier credit on one bill payment are two parts), so that a difference found here is one the
import would put right. Only the bill payments linked to our bills, or held here as active, are
read, by ``Id IN (...)``; a bill payment voided or deleted in QuickBooks is found that way too.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db.models import Sum

from payments.models import Payment, PaymentStatus, Source
from payments.services import payment_status_for
from procurement.models import Status
from procurement.workflow import APPROVED_STATUSES
from quickbooks.client import QboClient
from quickbooks.inbound.feed import parts_of
from quickbooks.models import Connection
from quickbooks.reconciliation.compare import money
from quickbooks.reconciliation.desired import Doc
from quickbooks.reconciliation.reading import read_in
from quickbooks.reconciliation.report import Difference, DifferenceKind, Fix
from quickbooks.selectors import qbo_bill_link, qbo_txn_link


def check_payments(
    connection: Connection,
    client: QboClient,
    docs: list[Doc],
    rows: dict[str, dict[str, Any]],
    found_bill_of: dict[int, str],
) -> list[Difference]:
    """What QuickBooks applied to our bills, part by part, against the payments here."""
    realm = connection.realm_id
    invoices = {d.document.pk: d.document for d in docs}
    invoice_of_bill = {bill_id: doc_id for doc_id, bill_id in found_bill_of.items()}
    here = list(
        Payment.objects.filter(
            company_id=connection.company_id,
            source=Source.QUICKBOOKS,
            qbo_realm_id=realm,
            invoice_id__in=list(invoices),
        ).values("invoice_id", "qbo_txn_id", "qbo_line_key", "amount", "status", "cancelled_by_id", "cancel_reason")
    )
    linked_payments = {
        str(t.get("TxnId"))
        for bill_id in invoice_of_bill
        for t in rows[bill_id].get("LinkedTxn", []) or []
        if str(t.get("TxnType", "")).startswith("BillPayment")
    }
    active_here = {p["qbo_txn_id"] for p in here if p["status"] == PaymentStatus.ACTIVE}
    bill_payments = read_in(client, "BillPayment", "Id", linked_payments | active_here)

    expected: dict[tuple[str, str], tuple[int, Decimal]] = {}
    for txn_id, bp in bill_payments.items():
        parts, _ = parts_of(bp, invoice_of_bill)
        for part in parts:
            expected[(txn_id, part.line_key)] = (part.invoice_id, part.amount)
    mine = {(p["qbo_txn_id"], p["qbo_line_key"]): p for p in here}
    out: list[Difference] = []

    def diff(invoice_id: int, kind: DifferenceKind, message: str, fix: Fix, txn_id: str) -> Difference:
        number = invoices[invoice_id].number
        url = qbo_txn_link("BillPayment", txn_id, realm_id=realm)
        return Difference(invoice_id, number, kind, message, fix, qbo_id=txn_id, qbo_url=url, payment_ids=(txn_id,))

    for (txn_id, key), (invoice_id, amount) in sorted(expected.items()):
        number = invoices[invoice_id].number
        ours = mine.get((txn_id, key))
        what = "a supplier credit" if ":credit:" in key else "a payment"
        if ours is None:
            out.append(
                diff(
                    invoice_id,
                    DifferenceKind.PAYMENT_NOT_HERE,
                    f"QuickBooks bill payment {txn_id} applies {amount:,.2f} ({what}) to {number}; "
                    "procuresync has no such payment.",
                    Fix.IMPORT_PAYMENTS,
                    txn_id,
                )
            )
        elif ours["status"] == PaymentStatus.CANCELLED:
            by_person = ours["cancelled_by_id"] is not None
            reason = f" ({ours['cancel_reason']})" if ours["cancel_reason"] else ""
            then = (
                " A person cancelled it here, so importing keeps it cancelled: void or delete it in QuickBooks, "
                "or record it again here."
                if by_person
                else ""
            )
            out.append(
                diff(
                    invoice_id,
                    DifferenceKind.PAYMENT_NOT_HERE,
                    f"QuickBooks bill payment {txn_id} applies {amount:,.2f} to {number}; here it is cancelled"
                    f"{reason}.{then}",
                    Fix.OPEN_IN_QBO if by_person else Fix.IMPORT_PAYMENTS,
                    txn_id,
                )
            )
        elif money(ours["amount"]) != amount:
            out.append(
                diff(
                    invoice_id,
                    DifferenceKind.PAYMENT_AMOUNT,
                    f"Bill payment {txn_id} on {number}: QuickBooks applies {amount:,.2f}, "
                    f"procuresync has {money(ours['amount']):,.2f}.",
                    Fix.IMPORT_PAYMENTS,
                    txn_id,
                )
            )
    for (txn_id, key), payment in sorted(mine.items()):
        if payment["status"] != PaymentStatus.ACTIVE or (txn_id, key) in expected:
            continue
        theirs = bill_payments.get(txn_id)
        if theirs is None:
            why = "was deleted in QuickBooks"
        elif not theirs.get("Line"):
            why = "was voided in QuickBooks"
        else:
            why = "no longer applies to this bill in QuickBooks"
        out.append(
            diff(
                payment["invoice_id"],
                DifferenceKind.PAYMENT_GONE,
                f"Payment of {money(payment['amount']):,.2f} on {invoices[payment['invoice_id']].number} is "
                "active here, "
                f"but QuickBooks bill payment {txn_id} {why}.",
                Fix.IMPORT_PAYMENTS,
                txn_id,
            )
        )
    return out


def check_statuses(
    connection: Connection, docs: list[Doc], rows: dict[str, dict[str, Any]], found_bill_of: dict[int, str]
) -> list[Difference]:
    """Each approved invoice's status against its active payments here (Approved / Partly Paid / Paid)."""
    approved = [d.document for d in docs if d.document.status in APPROVED_STATUSES]
    paid = dict(
        Payment.objects.filter(invoice_id__in=[d.pk for d in approved], status=PaymentStatus.ACTIVE)
        .values_list("invoice_id")
        .annotate(s=Sum("amount"))
        .values_list("invoice_id", "s")
    )
    out: list[Difference] = []
    for document in approved:
        amount = money(paid.get(document.pk))
        expected = payment_status_for(total=document.total, paid=amount)
        if expected == document.status:
            continue
        bill_id = found_bill_of.get(document.pk, "")
        balance = ""
        if bill_id:
            row = rows[bill_id]
            balance = (
                f" In QuickBooks {money(row.get('TotalAmt')) - money(row.get('Balance')):,.2f} is applied to "
                f"bill {bill_id}."
            )
        out.append(
            Difference(
                document.pk,
                document.number,
                DifferenceKind.STATUS,
                f"{document.number} is {document.get_status_display()}, but its active payments here add up to "
                f"{amount:,.2f} of {document.total:,.2f} {document.currency}, which makes it "
                f"{Status(expected).label}.{balance}",
                Fix.RECOMPUTE_STATUS,
                qbo_id=bill_id,
                qbo_url=qbo_bill_link(bill_id, realm_id=connection.realm_id) if bill_id else "",
            )
        )
    return out
