"""The chaos oracle: after the world settles, is the promise kept? Read from QuickBooks' own state.

The promise (issue 9): QuickBooks holds exactly the latest approved revision of every document (no
duplicate, none missing, none stale, none that should not be there), payments here equal
QuickBooks' active payments per bill, invoice statuses follow their payments, and no document is
stuck without a reason a user can see.

It is kept apart from the driver so that the judge shares nothing with the actor but what the
driver saw approved (``Tracked``): QuickBooks is read through its real API and our bills are
recognised by their memo, not through the links procuresync keeps, so a wrong link cannot hide a
missing or duplicate bill. A divergence shown to a user as a failure with its reason is counted
apart (``failed_with_reason``): visible and explained is allowed, silent is not.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol

from payments.models import Payment, PaymentStatus, Source
from payments.services import payment_status_for
from procurement.models import Document, Status
from procurement.workflow import APPROVED_STATUSES
from quickbooks.models import Connection, DocumentSync, OutboxItem, OutboxState, SyncStatus, VendorLink

CENT = Decimal("0.01")


class QuickBooksApi(Protocol):
    """QuickBooks as the oracle sees it: its real API, nothing of the emulator's console."""

    def query_all(self, entity: str) -> list[dict[str, Any]]: ...


@dataclass
class Approved:
    """What the driver saw approved last: the revision QuickBooks must end up holding."""

    revision: int
    total: Decimal
    doc_number: str
    txn_date: dt.date
    line_amounts: list[Decimal]


@dataclass
class Tracked:
    """What the driver did to one document that the oracle needs: its last approval, if any, and
    whether a bookkeeper changed its bill since."""

    document_id: int
    approved: Approved | None = None
    edited_in_qbo: bool = False  # a bookkeeper changed the bill after our last write
    ever_edited_in_qbo: bool = False
    approved_totals: set[Decimal] = field(default_factory=set)  # every revision ever approved


@dataclass
class Report:
    documents: int = 0
    actions: Counter[str] = field(default_factory=Counter)
    refused: int = 0  # user actions the product refused with a message (guards, workflow)
    faults: int = 0
    crashes: int = 0
    duplicates: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)
    should_not_be_there: list[str] = field(default_factory=list)
    payment_mismatches: list[str] = field(default_factory=list)
    status_mismatches: list[str] = field(default_factory=list)
    stuck: list[str] = field(default_factory=list)
    failed_with_reason: list[str] = field(default_factory=list)  # visible, explained, not silent
    edited_in_qbo: int = 0

    def summary(self) -> dict[str, Any]:
        return {
            "documents": self.documents,
            "actions": sum(self.actions.values()),
            "by_action": dict(sorted(self.actions.items())),
            "refused_by_the_product": self.refused,
            "faults_injected": self.faults,
            "crashes": self.crashes,
            "duplicates": len(self.duplicates),
            "missing": len(self.missing),
            "stale": len(self.stale),
            "should_not_be_in_quickbooks": len(self.should_not_be_there),
            "payment_mismatches": len(self.payment_mismatches),
            "status_mismatches": len(self.status_mismatches),
            "stuck": len(self.stuck),
            "failed_with_a_reason_shown": len(self.failed_with_reason),
            "bills_edited_in_quickbooks": self.edited_in_qbo,
        }

    def divergences(self) -> list[str]:
        return [
            *self.duplicates,
            *self.missing,
            *self.stale,
            *self.should_not_be_there,
            *self.payment_mismatches,
            *self.status_mismatches,
            *self.stuck,
        ]


def money(value: object) -> Decimal:
    return Decimal(str(value or 0)).quantize(CENT)


def our_bills(qbo: QuickBooksApi) -> list[dict[str, Any]]:
    """The bills procuresync wrote, known by the memo it writes on them (not by our links)."""
    return [b for b in qbo.query_all("Bill") if str(b.get("PrivateNote", "")).startswith("procuresync ")]


def check(qbo: QuickBooksApi, tracked_by_id: dict[int, Tracked], report: Report) -> Report:
    """Hold QuickBooks and procuresync to the promise; the divergences are added to ``report``."""
    report.documents = len(tracked_by_id)
    bills: dict[str, list[dict[str, Any]]] = {}
    for bill in our_bills(qbo):
        number = str(bill["PrivateNote"]).split()[2]
        bills.setdefault(number, []).append(bill)
    applied: Counter[str] = Counter()
    for payment in qbo.query_all("BillPayment"):
        for line in payment.get("Line") or []:
            for link in line.get("LinkedTxn") or []:
                if link.get("TxnType") == "Bill":
                    applied[str(link["TxnId"])] += money(line.get("Amount"))
    vendors = dict(VendorLink.objects.values_list("supplier_id", "qbo_id"))
    departments = {str(d["Id"]): str(d["Name"]) for d in qbo.query_all("Department")}
    documents = Document.objects.filter(pk__in=list(tracked_by_id)).prefetch_related("lines", "custom_values__field")
    for document in documents:
        tracked = tracked_by_id[document.pk]
        sync = DocumentSync.objects.filter(document=document).first()
        held = bills.get(document.number, [])
        name = f"{document.number} ({document.get_status_display()}, revision {document.revision})"
        reason = sync.error_message if sync and sync.status in (SyncStatus.FAILED, SyncStatus.INTERNAL) else ""
        if len(held) > 1:
            report.duplicates.append(f"{name}: {len(held)} bills {[b['Id'] for b in held]}")
        waiting = OutboxItem.objects.filter(
            document=document, state__in=[OutboxState.PENDING, OutboxState.IN_FLIGHT]
        ).first()
        if waiting is not None:
            report.stuck.append(
                f"{name}: still queued after the world settled ({waiting.state}, due {waiting.not_before:%H:%M:%S}, "
                f"{waiting.attempts} attempts, {waiting.last_error!r}; QuickBooks "
                f"{Connection.objects.get(company_id=document.company_id).status})"
            )
        elif sync and sync.status == SyncStatus.QUEUED:
            report.stuck.append(f"{name}: shows Queued with nothing on its way")
        if sync and sync.status == SyncStatus.FAILED and not sync.error_message:
            report.stuck.append(f"{name}: Failed without a message")
        if tracked.edited_in_qbo and held:
            report.edited_in_qbo += 1
        if document.status in APPROVED_STATUSES:
            if not held:
                (report.failed_with_reason if reason else report.missing).append(f"{name}: not in QuickBooks {reason}")
            elif not tracked.edited_in_qbo:
                department = departments.get(str(held[0].get("DepartmentRef", {}).get("value")), "")
                _compare(report, name, document, held[0], vendors.get(document.supplier_id), department, reason)
        elif document.status in (Status.CANCELLED, Status.REJECTED) or tracked.approved is None:
            if held:
                target = report.failed_with_reason if reason else report.should_not_be_there
                target.append(f"{name}: QuickBooks holds bill {held[0]['Id']} {reason}")
        elif (
            held
            and tracked.approved is not None
            and not tracked.ever_edited_in_qbo
            and money(held[0]["TotalAmt"]) not in tracked.approved_totals
            and not reason
        ):
            # In revision or pending again: QuickBooks keeps an approved revision — the last one,
            # or an earlier one when the last was revised before it went out — never a draft.
            report.stale.append(
                f"{name}: QuickBooks holds {held[0]['TotalAmt']}, approved {sorted(tracked.approved_totals)}"
            )
        # Payments: what QuickBooks applied to this document's bill equals the payments here.
        payments = Payment.objects.filter(invoice=document, status=PaymentStatus.ACTIVE)
        here_qbo = sum((p.amount for p in payments if p.source == Source.QUICKBOOKS), Decimal("0"))
        there = sum((applied[str(b["Id"])] for b in held), Decimal("0"))
        if here_qbo != there:
            report.payment_mismatches.append(f"{name}: {here_qbo} here, {there} applied in QuickBooks")
        if document.status in APPROVED_STATUSES:
            paid = sum((p.amount for p in payments), Decimal("0"))
            expected = payment_status_for(total=document.total, paid=paid)
            if document.status != expected:
                report.status_mismatches.append(f"{name}: paid {paid} of {document.total}, shows {document.status}")
    return report


def _compare(
    report: Report,
    name: str,
    document: Document,
    bill: dict[str, Any],
    vendor: str | None,
    department: str,
    reason: str,
) -> None:
    lines = sorted(money(ln.net_amount - ln.document_discount_share + ln.tax_amount) for ln in document.lines.all())
    held_lines = sorted(
        money(ln.get("Amount")) for ln in bill.get("Line", []) if ln.get("DetailType") != "SubTotalLineDetail"
    )
    differences = []
    if money(bill.get("TotalAmt")) != document.total:
        differences.append(f"total {bill.get('TotalAmt')} ≠ {document.total}")
    if str(bill.get("DocNumber", "")) != document.supplier_unique_code:
        differences.append(f"DocNumber {bill.get('DocNumber')} ≠ {document.supplier_unique_code}")
    if str(bill.get("TxnDate", ""))[:10] != document.issue_date.isoformat():
        differences.append(f"date {bill.get('TxnDate')} ≠ {document.issue_date}")
    if vendor and str(bill.get("VendorRef", {}).get("value")) != vendor:
        differences.append("vendor")
    if held_lines != lines:
        differences.append(f"lines {held_lines} ≠ {lines}")
    # The document custom field sent as the Department (the chaos company's "Location" field).
    location = next((v.value for v in document.custom_values.all() if v.field.name == "Location"), "")
    if department.lower() != location.lower():
        differences.append(f"location {department!r} ≠ {location!r}")
    if differences:
        target = report.failed_with_reason if reason else report.stale
        target.append(f"{name}: {', '.join(differences)} {reason}")
