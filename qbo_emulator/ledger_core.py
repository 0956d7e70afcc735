"""The ledger's shared ground: money helpers, the constants QBO's rules use, and `LedgerCore`,
the per-request context (clock, time zone, change listener) with the small checks every
operation makes (references, SyncToken, closed period).

Transactions are built in txn_build.py and linked in txn_links.py; the public operations are
in services.py (`Ledger`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation
from typing import Any

from . import faults
from .models import ENTITIES, Company, EntitySpec, Obj, fmt_time

CENT = Decimal("0.01")
# Fields the client may send but QBO computes; they are dropped from requests.
SERVER_FIELDS = ("Id", "SyncToken", "MetaData", "domain", "sparse", "status", "HomeBalance")
COMPUTED_TOTALS = ("TotalAmt", "Balance")
CURRENCY_NAMES = {"USD": "United States Dollar", "CAD": "Canadian Dollar", "EUR": "Euro",
                  "GBP": "British Pound Sterling"}
# How a Bill's LinkedTxn names the payment that paid it (qbo-samples/bill.json shows
# BillPaymentCheck; the credit-card name is UNCONFIRMED by a sample).
PAYMENT_LINK_TYPE = {"Check": "BillPaymentCheck", "CreditCard": "BillPaymentCreditCard"}
ACCOUNT_CLASSIFICATION = {"Bank": "Asset", "Accounts Payable": "Liability", "Credit Card": "Liability",
                          "Expense": "Expense", "Cost of Goods Sold": "Expense", "Other Expense": "Expense",
                          "Income": "Revenue", "Other Current Asset": "Asset", "Equity": "Equity"}


def dec(value: Any, element: str = "Amount") -> Decimal:
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError) as exc:
        raise faults.invalid_property(f"Invalid number {value!r}", element) from exc


def num(value: Decimal) -> float:
    """Money as QBO's JSON sends it: a number with at most two decimals."""
    return float(value.quantize(CENT))


def money(value: Any) -> Decimal:
    return dec(value).quantize(CENT)


class LedgerCore:
    """Per-request context for one company: clock, time zone, change listener, and checks."""

    def __init__(self, company: Company, *, clock: Callable[[], datetime], tz: timezone,
                 emit: Callable[[str, str, str, str, str], None], reject_duplicate_docnumber: bool = True) -> None:
        self.company = company
        self.now = clock()
        self.tz = tz
        self._emit = emit
        self.reject_dups = reject_duplicate_docnumber

    # --- small helpers ----------------------------------------------------------------------

    def stamp(self) -> str:
        return fmt_time(self.now, self.tz)

    def today(self) -> str:
        return self.now.astimezone(self.tz).date().isoformat()

    def emit(self, entity: str, obj: Obj, operation: str) -> None:
        when = obj.get("MetaData", {}).get("LastUpdatedTime", self.stamp())
        self._emit(self.company.realm_id, entity, obj["Id"], operation, when)

    def touch(self, obj: Obj) -> None:
        """A server-side change to an object (e.g. a payment lowers a bill's Balance): QBO bumps
        its SyncToken and LastUpdatedTime, so a client holding the old token gets 5010."""
        obj["SyncToken"] = str(int(obj["SyncToken"]) + 1)
        obj["MetaData"]["LastUpdatedTime"] = self.stamp()

    def spec(self, entity: str) -> EntitySpec:
        spec = ENTITIES.get(entity)
        if spec is None:
            raise faults.unsupported_operation(f"Unsupported entity {entity}")
        return spec

    def read(self, entity: str, obj_id: Any) -> Obj:
        obj = self.company.get(entity, obj_id)
        if obj is None:
            raise faults.object_not_found()  # element "" as in the published sample
        return obj

    def ref(self, entity: str, ref: Any, element: str, *, name_field: str | None = None) -> Obj:
        """Resolve `{"value": id}` to an object, fill in `name` as QBO does, return the object."""
        if not isinstance(ref, dict) or not ref.get("value"):
            raise faults.required_param_missing(element)
        target = self.company.get(entity, ref["value"])
        if target is None:
            raise faults.invalid_reference(entity, str(ref["value"]), element)
        if target.get("Active") is False:
            raise faults.object_not_found(element)  # "...has been made inactive"
        name = target.get(name_field or ENTITIES[entity].name_field or "Name")
        if entity in ("Account", "Class", "Department"):
            name = target.get("FullyQualifiedName", name)
        if name is not None:
            ref["name"] = name
        return target

    def home_currency(self) -> str:
        """The currency the company keeps its books in (Preferences.CurrencyPrefs.HomeCurrency): what
        a vendor, customer or account without a CurrencyRef is in."""
        prefs = self.company.get("Preferences", "1") or {}
        return str(((prefs.get("CurrencyPrefs") or {}).get("HomeCurrency") or {}).get("value") or "USD")

    def multicurrency(self) -> bool:
        prefs = self.company.get("Preferences", "1") or {}
        return bool((prefs.get("CurrencyPrefs") or {}).get("MultiCurrencyEnabled"))

    def closing_date(self) -> str | None:
        prefs = self.company.get("Preferences", "1") or {}
        return prefs.get("AccountingInfoPrefs", {}).get("BookCloseDate")

    def check_open_period(self, *txn_dates: Any) -> None:
        """Transactions dated on or before the closing date cannot be created, changed, deleted
        or voided through the API (qbo-api.md §8.4; void/delete is inferred there, UNCONFIRMED)."""
        closed = self.closing_date()
        if closed and any(d and str(d) <= closed for d in txn_dates):
            raise faults.account_period_closed()

    def check_sync_token(self, current: Obj, body: Obj) -> None:
        if "SyncToken" not in body:
            raise faults.required_param_missing("SyncToken")
        if str(body["SyncToken"]) != current["SyncToken"]:
            raise faults.stale_object()

    def new_meta(self) -> Obj:
        t = self.stamp()
        return {"CreateTime": t, "LastUpdatedTime": t}
