"""The chaos driver: random interleavings of users, QuickBooks users, faults and crashes, then the
oracle (``tests.chaos.oracle``) checks the promise from QuickBooks' own state.

Used by ``tests/quickbooks/test_chaos.py`` (small, every CI run) and ``bench/chaos.py`` (large,
scaled out, worker kills). It acts through the product's services, as the pages and the API do,
and on QuickBooks only through the emulator's control API and its real API, as a QuickBooks user
and Intuit would, so that every path it takes is one a person can take. It is seeded: a failing
run is replayed from its seed.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from decimal import Decimal
from typing import Any, Protocol

import httpx

from procurement.inputs import DocumentData, LineData
from procurement.models import Document, ListKind, ListOption, Status
from procurement.services import custom_field_create, document_create, document_transition, document_update
from procurement.validation import document_data_from
from procurement.workflow import APPROVED_STATUSES, DocumentAction
from procuresync.errors import DomainError
from quickbooks.connection import connection_of
from quickbooks.services import connection_update_settings
from tests.chaos import oracle
from tests.chaos.oracle import Approved, Report, Tracked, money, our_bills

A = DocumentAction
FIRST_DAY = dt.date(2026, 11, 1)


class QuickBooks(Protocol):
    """The emulator as the driver sees it: a QuickBooks user's console and the real API."""

    def control(self, method: str, path: str, **kwargs: Any) -> Any: ...  # company-scoped control API

    def fault(self, **body: Any) -> None: ...

    def clear_faults(self) -> None: ...

    def query_all(self, entity: str) -> list[dict[str, Any]]: ...


class SignIn(Protocol):
    """Intuit's sign-in for the connected company, as the test or the bench reaches it."""

    def revoke(self) -> None: ...

    def reconnect(self) -> None: ...


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
        sign_in: SignIn | None = None,
    ) -> None:
        self.rng = random.Random(seed)
        self.user = user
        self.suppliers = suppliers
        self.qbo = qbo
        self.target = documents
        self.fault_rate = fault_rate
        self.crash = crash
        self.tick = tick
        self.sign_in = sign_in
        self.revoked = False
        self.tracked: dict[int, Tracked] = {}
        self.report = Report()
        self.codes = 0
        self.location_field_id: int | None = None
        self.locations: list[str] = []

    # ------------------------------------------------------------------ acting

    def run(self, steps: int) -> None:
        if self.location_field_id is None:
            self._set_up_location_field()
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
            (self._revoke, 0.15 if self.sign_in and not self.revoked else 0.0),
            (self._reconnect, 0.5 if self.revoked else 0.0),
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

    def _set_up_location_field(self) -> None:
        """The document custom field that reaches QuickBooks: "Location", sent as the Department.
        Changing it is a revision's business like the lines (the seed's "document custom field")."""
        field = custom_field_create(actor=self.user, name="Location", choices_from=ListKind.LOCATION)
        connection = connection_of(self.user.tenant_id)
        connection_update_settings(
            actor=self.user,
            document_kind=connection.document_kind,
            auto_send=connection.auto_send,
            import_payments=connection.import_payments,
            default_ap_account_id=connection.default_ap_account_id,
            default_expense_account_id=connection.default_expense_account_id,
            location_field_id=field.pk,
        )
        options = ListOption.objects.filter(company_id=self.user.tenant_id, kind=ListKind.LOCATION)
        self.locations = ["", *sorted(options.exclude(external_id="").values_list("name", flat=True))]
        self.location_field_id = field.pk

    def _location(self) -> dict[int, str]:
        assert self.location_field_id is not None
        return {self.location_field_id: self.rng.choice(self.locations)}

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
            custom_values=self._location(),
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
        self.tracked[document.pk].approved_totals.add(document.total)

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
        change = self.rng.choice(["lines", "date", "code", "lines", "location"])
        if change == "lines":
            data.lines = self._lines()
        elif change == "date":
            data.issue_date = self._date()
        elif change == "location":
            data.custom_values = self._location()
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

    def _qbo_pay(self) -> bool:
        bills = [b for b in our_bills(self.qbo) if money(b.get("Balance")) > 0]
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
        bills = [b for b in our_bills(self.qbo) if money(b.get("Balance")) > 1]
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
        bills = [b for b in our_bills(self.qbo) if money(b.get("Balance")) == money(b.get("TotalAmt"))]
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
            self.tracked[document.pk].ever_edited_in_qbo = True
        return True

    def _closing_date(self) -> bool:
        day = None if self.rng.random() < 0.5 else FIRST_DAY + dt.timedelta(days=self.rng.randint(0, 10))
        self.qbo.control("PUT", "/closing-date", json={"date": day.isoformat() if day else None})
        return True

    # ------------------------------------------------------------------ sign-in

    def _revoke(self) -> bool:
        """The grant is revoked at Intuit (someone disconnected the app there) and the access token
        expires: the product must pause, say "needs reconnect", and lose nothing."""
        assert self.sign_in is not None
        self.sign_in.revoke()
        self.qbo.fault(kind="expire_tokens")
        self.revoked = True
        return True

    def _reconnect(self) -> bool:
        """An Admin connects the same QuickBooks company again (Intuit's consent page)."""
        assert self.sign_in is not None
        self.qbo.clear_faults()  # Intuit's sign-in is not what is being tested here
        self.sign_in.reconnect()
        self.revoked = False
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
        """What people do at the end of the day: faults stop, an Admin reconnects if QuickBooks
        asked for it, the accountant reopens the books, someone presses Retry all failed, the
        catch-up runs."""
        self.qbo.clear_faults()
        if self.revoked:
            self._reconnect()
        settle()
        self.qbo.control("PUT", "/closing-date", json={"date": None})
        retry_failed()
        settle()
        catch_up()
        settle()

    def check(self) -> Report:
        """The oracle's verdict once the world has settled (``remedy``)."""
        return oracle.check(self.qbo, self.tracked, self.report)
