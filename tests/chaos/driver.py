"""The chaos driver: random interleavings of users, QuickBooks users, faults and crashes, then an
oracle that checks the promise from QuickBooks' own state.

The promise (issue 9): after the world settles, QuickBooks holds exactly the latest approved
revision of every document (no duplicate, none missing, none stale, none that should not be
there), payments here equal QuickBooks' active payments per bill, invoice statuses follow their
payments, and no document is stuck without a reason a user can see.

Used by ``tests/quickbooks/test_chaos.py`` (small, every CI run) and ``bench/chaos.py`` (large,
scaled out, worker kills). It acts through the product's services, as the pages and the API do,
and on QuickBooks only through the emulator's control API and its real API, as a QuickBooks user
and Intuit would. The oracle reads QuickBooks through the real API (independent of our links).
"""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol

import httpx

from procurement.inputs import DocumentData, LineData
from procurement.models import Document, Status
from procurement.services import document_create, document_transition, document_update
from procurement.validation import document_data_from
from procurement.workflow import APPROVED_STATUSES, DocumentAction
from procuresync.errors import DomainError

A = DocumentAction
CENT = Decimal("0.01")
FIRST_DAY = dt.date(2026, 11, 1)


class QuickBooks(Protocol):
    """The emulator as the driver sees it: a QuickBooks user's console and the real API."""

    def control(self, method: str, path: str, **kwargs: Any) -> Any: ...  # company-scoped control API

    def fault(self, **body: Any) -> None: ...

    def clear_faults(self) -> None: ...

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
    document_id: int
    approved: Approved | None = None
    edited_in_qbo: bool = False  # a bookkeeper changed the bill after our last write


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


class ChaosDriver:
    def __init__(
        self,
        *,
        seed: int,
        user: Any,
        suppliers: list[Any],
        qbo: QuickBooks,
        documents: int,
        fault_rate: float,
        crash: Callable[[random.Random], bool] | None = None,
        tick: Callable[[], None] | None = None,
    ) -> None:
        self.rng = random.Random(seed)
        self.user = user
        self.suppliers = suppliers
        self.qbo = qbo
        self.target = documents
        self.fault_rate = fault_rate
        self.crash = crash
        self.tick = tick
        self.tracked: dict[int, Tracked] = {}
        self.report = Report()
        self.codes = 0

    # ------------------------------------------------------------------ acting

    def run(self, steps: int) -> None:
        for _ in range(steps):
            if self.rng.random() < self.fault_rate:
                self._inject_fault()
            if self.crash is not None and self.rng.random() < self.fault_rate / 4 and self.crash(self.rng):
                self.report.crashes += 1
            if self.tick is not None and self.rng.random() < 0.05:
                self.tick()
            self._act()

    def _act(self) -> None:
        actions: list[tuple[Callable[[], bool], float]] = [
            (self._create, 3.0 if len(self.tracked) < self.target else 0.0),
            (self._submit, 3.0),
            (self._approve, 3.0),
            (self._reject, 0.3),
            (self._revise, 1.5),
            (self._cancel, 0.4),
            (self._notes, 0.5),
            (self._qbo_pay, 1.5),
            (self._qbo_credit, 0.4),
            (self._qbo_void, 0.6),
            (self._qbo_delete_payment, 0.4),
            (self._qbo_edit_bill, 0.3),
            (self._closing_date, 0.3),
        ]
        action = self.rng.choices([a for a, _ in actions], weights=[w for _, w in actions])[0]
        try:
            done = action()
        except DomainError:  # the product refused, with a message (a guard, the workflow)
            self.report.refused += 1
            done = True
        except httpx.HTTPStatusError as exc:  # QuickBooks refused its user (closed period, ...)
            if exc.response.status_code != 400:
                raise
            self.report.refused += 1
            done = True
        if done:
            self.report.actions[action.__name__.strip("_")] += 1

    def _documents(self, *statuses: str) -> list[Document]:
        ids = list(self.tracked)
        return list(Document.objects.filter(pk__in=ids, status__in=statuses).order_by("pk"))

    def _pick(self, *statuses: str) -> Document | None:
        documents = self._documents(*statuses)
        return self.rng.choice(documents) if documents else None

    def _lines(self) -> list[LineData]:
        return [
            LineData(
                description=self.rng.choice(["Paper", "Toner", "Chairs", "Cables", "Service"]),
                quantity=Decimal(self.rng.randint(1, 9)),
                unit_price=Decimal(self.rng.randint(100, 99999)) / 100,
            )
            for _ in range(self.rng.randint(1, 3))
        ]

    def _date(self) -> dt.date:
        return FIRST_DAY + dt.timedelta(days=self.rng.randint(0, 27))

    def _code(self) -> str:
        self.codes += 1
        return f"CH-{self.codes:04d}"

    def _create(self) -> bool:
        data = DocumentData(
            supplier_id=self.rng.choice(self.suppliers).pk,
            issue_date=self._date(),
            due_date=None,
            lines=self._lines(),
            supplier_unique_code=self._code(),
        )
        document = document_create(actor=self.user, kind="invoice", data=data)
        self.tracked[document.pk] = Tracked(document.pk)
        return True

    def _submit(self) -> bool:
        document = self._pick(Status.DRAFT, Status.IN_REVISION)
        if document is None:
            return False
        document_transition(actor=self.user, document=document, action=A.SUBMIT)
        return True

    def _approve(self) -> bool:
        document = self._pick(Status.PENDING)
        if document is None:
            return False
        document = document_transition(actor=self.user, document=document, action=A.APPROVE)
        self._remember_approval(document)
        return True

    def _remember_approval(self, document: Document) -> None:
        lines = document.lines.all()
        self.tracked[document.pk].approved = Approved(
            revision=document.revision,
            total=document.total,
            doc_number=document.supplier_unique_code,
            txn_date=document.issue_date,
            line_amounts=sorted(money(ln.net_amount - ln.document_discount_share + ln.tax_amount) for ln in lines),
        )
        self.tracked[document.pk].edited_in_qbo = False  # our update overwrites a bookkeeper's edit

    def _reject(self) -> bool:
        document = self._pick(Status.PENDING)
        if document is None:
            return False
        document_transition(actor=self.user, document=document, action=A.REJECT, comment="chaos says no")
        return True

    def _revise(self) -> bool:
        document = self._pick(Status.APPROVED, Status.IN_REVISION)
        if document is None:
            return False
        if document.status == Status.APPROVED:
            document = document_transition(actor=self.user, document=document, action=A.REVISE)
        data = document_data_from(document)
        change = self.rng.choice(["lines", "date", "code", "lines"])
        if change == "lines":
            data.lines = self._lines()
        elif change == "date":
            data.issue_date = self._date()
        else:
            data.supplier_unique_code = self._code()
        document_update(actor=self.user, document=document, data=data)
        if self.rng.random() < 0.7:
            document = document_transition(actor=self.user, document=document, action=A.SUBMIT)
            if self.rng.random() < 0.8:
                document = document_transition(actor=self.user, document=document, action=A.APPROVE)
                self._remember_approval(document)
        return True

    def _cancel(self) -> bool:
        document = self._pick(Status.DRAFT, Status.PENDING, Status.APPROVED, Status.IN_REVISION)
        if document is None:
            return False
        document_transition(actor=self.user, document=document, action=A.CANCEL)
        return True

    def _notes(self) -> bool:
        document = self._pick(*APPROVED_STATUSES)
        if document is None:
            return False
        data = document_data_from(document)
        data.notes = f"note {self.rng.randint(0, 10**6)}"
        document_update(actor=self.user, document=document, data=data)
        return True

    # ------------------------------------------------------------------ QuickBooks users

    def _our_bills(self) -> list[dict[str, Any]]:
        return [b for b in self.qbo.query_all("Bill") if str(b.get("PrivateNote", "")).startswith("procuresync ")]

    def _qbo_pay(self) -> bool:
        bills = [b for b in self._our_bills() if money(b.get("Balance")) > 0]
        if not bills:
            return False
        bill = self.rng.choice(bills)
        balance = money(bill["Balance"])
        amount = balance if self.rng.random() < 0.5 else money(balance * Decimal(self.rng.randint(10, 90)) / 100)
        if amount <= 0:
            return False
        body = {
            "pay_type": self.rng.choice(["Check", "Check", "CreditCard"]),
            "bills": [{"bill_id": bill["Id"], "amount": str(amount)}],
            "txn_date": self._date().isoformat(),
        }
        self.qbo.control("POST", "/bill-payments", json=body)
        return True

    def _qbo_credit(self) -> bool:
        bills = [b for b in self._our_bills() if money(b.get("Balance")) > 1]
        if not bills:
            return False
        bill = self.rng.choice(bills)
        credit_amount = money(money(bill["Balance"]) / 2)
        credit = self.qbo.control(
            "POST",
            "/vendor-credits",
            json={
                "vendor_id": bill["VendorRef"]["value"],
                "amount": str(credit_amount),
                "txn_date": self._date().isoformat(),
            },
        )["VendorCredit"]
        self.qbo.control(
            "POST",
            "/bill-payments",
            json={
                "bills": [{"bill_id": bill["Id"], "amount": str(credit_amount)}],
                "vendor_credits": [{"vendor_credit_id": credit["Id"], "amount": str(credit_amount)}],
                "txn_date": self._date().isoformat(),
            },
        )
        return True

    def _active_payments(self) -> list[dict[str, Any]]:
        return [p for p in self.qbo.query_all("BillPayment") if p.get("Line")]

    def _qbo_void(self) -> bool:
        payments = self._active_payments()
        if not payments:
            return False
        self.qbo.control("POST", f"/bill-payments/{self.rng.choice(payments)['Id']}/void")
        return True

    def _qbo_delete_payment(self) -> bool:
        payments = self._active_payments()
        if not payments:
            return False
        self.qbo.control("DELETE", f"/bill-payments/{self.rng.choice(payments)['Id']}")
        return True

    def _qbo_edit_bill(self) -> bool:
        bills = [b for b in self._our_bills() if money(b.get("Balance")) == money(b.get("TotalAmt"))]
        if not bills:
            return False
        bill = self.rng.choice(bills)
        change: dict[str, Any] = {"PrivateNote": bill["PrivateNote"] + " (checked)"}
        if self.rng.random() < 0.5:
            change["amount"] = str(money(bill["TotalAmt"]) + 1)  # and corrects the amount
        try:
            self.qbo.control("PATCH", f"/bills/{bill['Id']}", json=change)
        except Exception:  # a closed period refuses the bookkeeper too
            return False
        number = str(bill["PrivateNote"]).split()[2]
        document = Document.objects.filter(pk__in=list(self.tracked), number=number).first()
        if document is not None:
            self.tracked[document.pk].edited_in_qbo = True
        return True

    def _closing_date(self) -> bool:
        day = None if self.rng.random() < 0.5 else FIRST_DAY + dt.timedelta(days=self.rng.randint(0, 10))
        self.qbo.control("PUT", "/closing-date", json={"date": day.isoformat() if day else None})
        return True

    # ------------------------------------------------------------------ faults

    def _inject_fault(self) -> None:
        kind = self.rng.choice(["status", "status", "drop", "timeout", "throttle", "throttle_xml", "expire"])
        match = self.rng.choice(["/bill", "/billpayment", "/query", "/cdc", "/vendor", "/batch", ""])
        if kind == "status":
            self.qbo.fault(kind="status", status=self.rng.choice([500, 502, 503]), count=1, match=match)
        elif kind == "drop":
            self.qbo.fault(kind="drop", count=self.rng.randint(1, 3), match=match)
        elif kind == "timeout":
            self.qbo.fault(kind="timeout", count=1, match=match, after_commit=True, seconds=1.5)
        elif kind in ("throttle", "throttle_xml"):
            self.qbo.fault(kind="throttle", count=1, match=match, xml=kind == "throttle_xml")
        else:
            self.qbo.fault(kind="expire_tokens")
        self.report.faults += 1

    # ------------------------------------------------------------------ settling and checking

    def remedy(
        self, settle: Callable[[], None], retry_failed: Callable[[], None], catch_up: Callable[[], None]
    ) -> None:
        """What people do at the end of the day: faults stop, the accountant reopens the books,
        someone presses Retry all failed, the catch-up runs."""
        self.qbo.clear_faults()
        settle()
        self.qbo.control("PUT", "/closing-date", json={"date": None})
        retry_failed()
        settle()
        catch_up()
        settle()

    def check(self) -> Report:
        from payments.models import PaymentStatus, Source
        from payments.services import payment_status_for
        from quickbooks.models import DocumentSync, OutboxItem, OutboxState, SyncStatus, VendorLink

        report = self.report
        report.documents = len(self.tracked)
        bills: dict[str, list[dict[str, Any]]] = {}
        for bill in self._our_bills():
            number = str(bill["PrivateNote"]).split()[2]
            bills.setdefault(number, []).append(bill)
        applied: Counter[str] = Counter()
        for payment in self.qbo.query_all("BillPayment"):
            for line in payment.get("Line") or []:
                for link in line.get("LinkedTxn") or []:
                    if link.get("TxnType") == "Bill":
                        applied[str(link["TxnId"])] += money(line.get("Amount"))
        vendors = dict(VendorLink.objects.values_list("supplier_id", "qbo_id"))
        for document in Document.objects.filter(pk__in=list(self.tracked)).prefetch_related("lines"):
            tracked = self.tracked[document.pk]
            sync = DocumentSync.objects.filter(document=document).first()
            held = bills.get(document.number, [])
            name = f"{document.number} ({document.get_status_display()}, revision {document.revision})"
            reason = sync.error_message if sync and sync.status in (SyncStatus.FAILED, SyncStatus.INTERNAL) else ""
            if len(held) > 1:
                report.duplicates.append(f"{name}: {len(held)} bills {[b['Id'] for b in held]}")
            if OutboxItem.objects.filter(
                document=document, state__in=[OutboxState.PENDING, OutboxState.IN_FLIGHT]
            ).exists():
                report.stuck.append(f"{name}: still queued after the world settled")
            elif sync and sync.status == SyncStatus.QUEUED:
                report.stuck.append(f"{name}: shows Queued with nothing on its way")
            if sync and sync.status == SyncStatus.FAILED and not sync.error_message:
                report.stuck.append(f"{name}: Failed without a message")
            if tracked.edited_in_qbo and held:
                report.edited_in_qbo += 1
            if document.status in APPROVED_STATUSES:
                if not held:
                    (report.failed_with_reason if reason else report.missing).append(
                        f"{name}: not in QuickBooks {reason}"
                    )
                elif not tracked.edited_in_qbo:
                    self._compare(report, name, document, held[0], vendors.get(document.supplier_id), reason)
            elif document.status in (Status.CANCELLED, Status.REJECTED) or tracked.approved is None:
                if held:
                    target = report.failed_with_reason if reason else report.should_not_be_there
                    target.append(f"{name}: QuickBooks holds bill {held[0]['Id']} {reason}")
            elif held and tracked.approved is not None and not tracked.edited_in_qbo:
                # In revision or pending again: QuickBooks keeps the last approved revision (or
                # nothing, if that revision had not gone out yet) — never a draft.
                last = tracked.approved
                if money(held[0]["TotalAmt"]) != last.total and not reason:
                    report.stale.append(f"{name}: QuickBooks holds {held[0]['TotalAmt']}, last approved {last.total}")
            # Payments: what QuickBooks applied to this document's bill equals the payments here.
            from payments.models import Payment

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
        self, report: Report, name: str, document: Document, bill: dict[str, Any], vendor: str | None, reason: str
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
        if differences:
            target = report.failed_with_reason if reason else report.stale
            target.append(f"{name}: {', '.join(differences)} {reason}")
