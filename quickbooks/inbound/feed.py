"""QuickBooks bill payments → payments here: the one feed, used by webhooks, catch-up and import.

A BillPayment line linked to a Bill one of our invoices was exported as pays that invoice. Supplier
credits applied in the same BillPayment (VendorCredit lines) are spread over its bills in line
order, and each bill gets a cash part and a credit part, so the two add up to what QuickBooks
applied to the bill. The mapping table is in docs/payments-mapping.md.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from payments.models import Method
from payments.services import ImportedPart, ImportOutcome, qbo_payments_apply
from quickbooks.client import MAX_RESULTS, QboClient, quote
from quickbooks.connection import client_for
from quickbooks.models import Connection, DocumentSync

log = logging.getLogger(__name__)

CENT = Decimal("0.01")
PRINTED = {"NeedToPrint", "PrintComplete"}
DELETED_VERSION = 2**62  # QBO never reuses an Id: after a deletion no state of it is newer
VIA_LABEL = {"webhook": "webhook", "catch_up": "catch-up", "import": "import"}
ID_CHUNK = 200  # ids per "Id IN (...)" query


def method_of(bill_payment: dict[str, Any]) -> str:
    """PayType CreditCard → card; a cheque to print → cheque; otherwise a bank bill payment (QBO
    records bank transfers and ACH as Check with nothing to print)."""
    if bill_payment.get("PayType") == "CreditCard":
        return Method.CARD
    print_status = (bill_payment.get("CheckPayment") or {}).get("PrintStatus")
    return Method.CHEQUE if print_status in PRINTED else Method.BILL_PAYMENT


def _amount(value: object) -> Decimal:
    return Decimal(str(value or 0)).quantize(CENT)


def _links(line: dict[str, Any], txn_type: str) -> list[str]:
    return [str(t.get("TxnId")) for t in line.get("LinkedTxn") or [] if t.get("TxnType") == txn_type]


def bill_amounts(bill_payment: dict[str, Any]) -> tuple[dict[str, Decimal], list[tuple[str, Decimal]]]:
    """(bill id → amount applied, in line order; [(vendor credit id, amount)]). A voided payment has no lines."""
    bills: dict[str, Decimal] = {}
    credits: list[tuple[str, Decimal]] = []
    for line in bill_payment.get("Line") or []:
        amount = _amount(line.get("Amount"))
        for bill_id in _links(line, "Bill"):
            bills[bill_id] = bills.get(bill_id, Decimal("0")) + amount
        for credit_id in _links(line, "VendorCredit"):
            credits.append((credit_id, amount))
    return bills, credits


def parts_of(
    bill_payment: dict[str, Any],
    invoice_of_bill: dict[str, int],
    credit_note_of: dict[str, int] | None = None,
    amounts: tuple[dict[str, Decimal], list[tuple[str, Decimal]]] | None = None,
) -> tuple[list[ImportedPart], int]:
    """The parts paying our invoices, and how many bill lines are not linked to our invoices. A
    supplier credit part points at our credit note when the VendorCredit applied is one we sent.
    ``amounts``: ``bill_amounts(bill_payment)`` when the caller has it already."""
    bills, credits = amounts or bill_amounts(bill_payment)
    method = method_of(bill_payment)
    paid_on = dt.date.fromisoformat(str(bill_payment.get("TxnDate"))[:10])
    reference = f"QuickBooks bill payment {bill_payment.get('DocNumber') or bill_payment.get('Id')}"
    credit_left = list(credits)
    parts: list[ImportedPart] = []
    unlinked = 0
    for bill_id, applied in bills.items():
        # Credits go to the bills in line order, whether or not the bill is ours, as QBO applies them.
        from_credit: list[tuple[str, Decimal]] = []
        need = applied
        while need > 0 and credit_left:
            credit_id, available = credit_left[0]
            take = min(need, available)
            from_credit.append((credit_id, take))
            need -= take
            if take == available:
                credit_left.pop(0)
            else:
                credit_left[0] = (credit_id, available - take)
        invoice_id = invoice_of_bill.get(bill_id)
        if invoice_id is None:
            unlinked += 1
            continue
        if need > 0:
            parts.append(ImportedPart(invoice_id, f"bill:{bill_id}:cash", need, paid_on, method, reference))
        for credit_id, take in from_credit:
            if take > 0:
                key = f"bill:{bill_id}:credit:{credit_id}"
                credit_note = (credit_note_of or {}).get(credit_id)
                parts.append(
                    ImportedPart(invoice_id, key, take, paid_on, Method.SUPPLIER_CREDIT, reference, credit_note)
                )
    return parts, unlinked


def is_deleted(obj: dict[str, Any]) -> bool:
    return str(obj.get("status", "")).lower() == "deleted"


@dataclass
class FeedResult:
    bill_payments: int = 0
    unlinked: int = 0
    outcome: ImportOutcome = field(default_factory=ImportOutcome)


def feed(connection: Connection, bill_payments: Iterable[dict[str, Any]], *, via: str) -> FeedResult:
    """Apply BillPayments as QuickBooks has them now (full objects, or CDC's deleted form)."""
    items = list(bill_payments)
    result = FeedResult(bill_payments=len(items))
    if not items:
        return result
    realm = connection.realm_id
    amounts = {id(bp): bill_amounts(bp) for bp in items if not is_deleted(bp)}  # each payment's lines read once
    bill_ids = {bill_id for bills, _ in amounts.values() for bill_id in bills}
    invoice_of_bill = dict(
        DocumentSync.objects.filter(
            realm_id=realm, qbo_entity="Bill", qbo_id__in=list(bill_ids), company_id=connection.company_id
        ).values_list("qbo_id", "document_id")
    )
    credit_ids = {credit_id for _, credits in amounts.values() for credit_id, _ in credits}
    credit_note_of = dict(
        DocumentSync.objects.filter(
            realm_id=realm, qbo_entity="VendorCredit", qbo_id__in=list(credit_ids), company_id=connection.company_id
        ).values_list("qbo_id", "document_id")
    )
    txns: dict[str, list[ImportedPart]] = {}
    reasons: dict[str, str] = {}
    versions: dict[str, int] = {}
    for bp in items:
        txn_id = str(bp.get("Id"))
        if is_deleted(bp):
            txns[txn_id], reasons[txn_id] = [], "Bill payment deleted in QuickBooks"
            versions[txn_id] = DELETED_VERSION
            continue
        if str(bp.get("SyncToken", "")).isdigit():
            versions[txn_id] = int(bp["SyncToken"])
        parts, unlinked = parts_of(bp, invoice_of_bill, credit_note_of, amounts[id(bp)])
        result.unlinked += unlinked
        txns[txn_id] = parts
        if not bp.get("Line") and "voided" in str(bp.get("PrivateNote", "")).lower():
            reasons[txn_id] = "Bill payment voided in QuickBooks"
    label = VIA_LABEL.get(via, via)
    result.outcome = qbo_payments_apply(
        company_id=connection.company_id,
        realm_id=realm,
        txns=txns,
        via=via,
        reason_gone=reasons,
        versions=versions,
        source=lambda txn_id: f"QuickBooks bill payment {txn_id} ({label})",
    )
    return result


def deleted(txn_id: str) -> dict[str, Any]:
    """CDC's form of a deleted object, for deletions learnt another way (webhook, 610 on read)."""
    return {"Id": txn_id, "status": "Deleted", "domain": "QBO"}


def refresh_bill_payments(
    connection: Connection,
    *,
    read_ids: Iterable[str],
    deleted_ids: Iterable[str],
    via: str,
    client: QboClient | None = None,
) -> FeedResult:
    """Read bill payments as they are now (one query per 200 ids) and feed them; ids QuickBooks no
    longer returns were deleted (a read would answer 610 Object Not Found)."""
    client = client or client_for(connection)
    ids = sorted(set(read_ids))
    found: list[dict[str, Any]] = []
    for start in range(0, len(ids), ID_CHUNK):
        quoted = ", ".join(quote(i) for i in ids[start : start + ID_CHUNK])
        found += client.query(f"SELECT * FROM BillPayment WHERE Id IN ({quoted}) MAXRESULTS {MAX_RESULTS}").get(
            "BillPayment", []
        )
    seen = {str(bp.get("Id")) for bp in found}
    gone = [deleted(i) for i in {*deleted_ids, *(i for i in ids if i not in seen)}]
    return feed(connection, [*found, *gone], via=via)
