"""Transactions as QBO computes them: lines, totals, balances, terms, and the links between
purchase orders, bills, payments and vendor credits (on both sides).

`LedgerCore` holds the per-request context and small checks; `TransactionRules` builds
PurchaseOrder, Bill, VendorCredit and BillPayment objects and keeps their links. The public
operations are in services.py (`Ledger`).
"""


from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from typing import Any

from . import faults
from .models import ENTITIES, Company, EntitySpec, Obj, doc_key, fmt_time

CENT = Decimal("0.01")
EXPENSE_DETAILS = ("AccountBasedExpenseLineDetail", "ItemBasedExpenseLineDetail")
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


class TransactionRules(LedgerCore):
    """Building transactions and keeping their links."""

    def _build_txn(self, spec: EntitySpec, obj: Obj, current: Obj | None, obj_id: str, allow_dup: bool) -> Obj:
        entity = spec.name
        txn_date = obj.get("TxnDate") or (current or {}).get("TxnDate") or self.today()
        try:
            date.fromisoformat(str(txn_date))
        except ValueError as exc:
            raise faults.invalid_property(f"Invalid date {txn_date}", "TxnDate") from exc
        obj["TxnDate"] = txn_date
        self.check_open_period(txn_date)
        vendor = self.ref("Vendor", obj["VendorRef"], "VendorRef")
        if obj.get("CurrencyRef"):
            code = obj["CurrencyRef"].get("value", "")
            obj["CurrencyRef"].setdefault("name", CURRENCY_NAMES.get(code, code))
        if obj.get("DepartmentRef"):
            self.ref("Department", obj["DepartmentRef"], "DepartmentRef")
        if obj.get("ClassRef"):
            self.ref("Class", obj["ClassRef"], "ClassRef")
        if len(str(obj.get("DocNumber") or "")) > 21:
            raise faults.string_too_long("DocNumber", 21)
        if len(str(obj.get("PrivateNote") or "")) > 4000:
            raise faults.string_too_long("PrivateNote", 4000)
        if entity != "BillPayment":
            self._ap_account(obj, vendor)
        if self.reject_dups and not allow_dup:
            key = doc_key(entity, obj)
            holder = self.company.doc_numbers.get(key) if key else None
            if holder is not None and holder != obj_id:
                raise faults.duplicate_doc_number(str(obj["DocNumber"]), entity, holder)
        if entity == "BillPayment":
            return self._build_payment(obj, current, obj_id)
        total = self._expense_lines(obj, current)
        obj["TotalAmt"] = num(total)
        if entity == "Bill":
            self._bill_terms(obj)
            paid = money((current or {}).get("TotalAmt", 0)) - money((current or {}).get("Balance", 0))
            if total < paid:
                raise faults.business_validation(
                    "The bill total cannot be less than the amount already paid on it.", "Line")
            obj["Balance"] = num(total - paid)
            self._bill_po_links(obj, current)
        elif entity == "VendorCredit":
            applied = money((current or {}).get("TotalAmt", 0)) - money((current or {}).get("Balance", 0))
            if total < applied:
                raise faults.business_validation(
                    "The credit total cannot be less than the amount already applied.", "Line")
            obj["Balance"] = num(total - applied)
            if current and current.get("LinkedTxn"):
                obj["LinkedTxn"] = current["LinkedTxn"]
        elif entity == "PurchaseOrder":
            obj.setdefault("POStatus", (current or {}).get("POStatus", "Open"))
            obj.setdefault("EmailStatus", "NotSet")
            obj["LinkedTxn"] = (current or {}).get("LinkedTxn", []) or obj.pop("LinkedTxn", [])
            if not obj["LinkedTxn"]:
                obj.pop("LinkedTxn")
            self._po_custom_fields(obj)
            for addr in ("ShipAddr", "VendorAddr"):
                if isinstance(obj.get(addr), dict):
                    obj[addr].setdefault("Id", self.company.new_id())
        return obj

    def _ap_account(self, obj: Obj, vendor: Obj) -> None:
        if obj.get("APAccountRef"):
            self.ref("Account", obj["APAccountRef"], "APAccountRef")
            return
        default = vendor.get("APAccountRef") or self._default_account("Accounts Payable")
        if default:
            obj["APAccountRef"] = {"value": default["value"] if "value" in default else default["Id"]}
            self.ref("Account", obj["APAccountRef"], "APAccountRef")

    def _default_account(self, account_type: str) -> Obj | None:
        for acct in self.company.table("Account").values():
            if acct.get("AccountType") == account_type and acct.get("Active", True):
                return acct
        return None

    def _expense_lines(self, obj: Obj, current: Obj | None) -> Decimal:
        lines = obj["Line"]
        old_ids = {str(line.get("Id")) for line in (current or {}).get("Line", [])}
        used: set[str] = set()
        next_line = 1 + max([int(i) for i in old_ids if i.isdigit()] or [0])
        total = Decimal(0)
        for index, line in enumerate(lines):
            if not isinstance(line, dict):
                raise faults.invalid_property("Line must be an object", "Line")
            detail_type = line.get("DetailType")
            if not detail_type:
                raise faults.required_param_missing("Line.DetailType")
            if detail_type not in EXPENSE_DETAILS:
                # A Bill has no DiscountLineDetail (qbo-api.md §1.2).
                raise faults.invalid_enumeration("Line.DetailType", detail_type)
            if line.get("Amount") is None:
                raise faults.required_param_missing("Line.Amount")
            amount = dec(line["Amount"], "Line.Amount")
            line["Amount"] = float(amount)  # QBO answers numbers even when sent strings
            detail = line.get(detail_type)
            if not isinstance(detail, dict):
                raise faults.required_param_missing(f"Line.{detail_type}")
            if detail_type == "AccountBasedExpenseLineDetail":
                self.ref("Account", detail.get("AccountRef"), "Line.AccountBasedExpenseLineDetail.AccountRef")
            else:
                self.ref("Item", detail.get("ItemRef"), "Line.ItemBasedExpenseLineDetail.ItemRef")
                if detail.get("Qty") is not None and detail.get("UnitPrice") is not None:
                    expected = (dec(detail["Qty"], "Qty") * dec(detail["UnitPrice"], "UnitPrice")).quantize(CENT)
                    if expected != amount.quantize(CENT):
                        raise faults.amount_mismatch(line["Amount"])
            for key, entity in (("ClassRef", "Class"), ("CustomerRef", "Customer")):
                if detail.get(key):
                    self.ref(entity, detail[key], f"Line.{detail_type}.{key}")
            detail.setdefault("BillableStatus", "NotBillable")
            detail.setdefault("TaxCodeRef", {"value": "NON"})
            # "If Id ... exists for the company, the request is considered an update operation
            # for a line item"; otherwise the line is new and gets a fresh Id.
            line_id = str(line.get("Id", ""))
            if current is None:
                line["Id"] = str(index + 1)
            elif line_id in old_ids and line_id not in used:
                line["Id"] = line_id
            else:
                line["Id"] = str(next_line)
                next_line += 1
            used.add(line["Id"])
            total += amount
        return total

    def _bill_terms(self, obj: Obj) -> None:
        if obj.get("SalesTermRef"):
            term = self.ref("Term", obj["SalesTermRef"], "SalesTermRef")
            obj["SalesTermRef"].pop("name", None)  # bill.json shows SalesTermRef with value only
        else:
            term = None
        if not obj.get("DueDate"):
            days = int(term.get("DueDays", 0)) if term else 0
            obj["DueDate"] = (date.fromisoformat(obj["TxnDate"]) + timedelta(days=days)).isoformat()

    def _po_custom_fields(self, obj: Obj) -> None:
        prefs = self.company.get("Preferences", "1") or {}
        defs = {d["DefinitionId"]: d for d in prefs.get("VendorAndPurchasesPrefs", {}).get("POCustomField", [])}
        for field in obj.get("CustomField", []) or []:
            if not field.get("DefinitionId"):
                raise faults.required_param_missing("CustomField.DefinitionId")
            definition = defs.get(str(field["DefinitionId"]))
            field["Type"] = "StringType"  # "Only one type is currently supported: StringType"
            if definition:
                field["Name"] = definition["Name"]

    # --- links between transactions --------------------------------------------------------

    def _po_ids(self, obj: Obj) -> list[str]:
        ids = [str(lt["TxnId"]) for lt in obj.get("LinkedTxn", []) or [] if lt.get("TxnType") == "PurchaseOrder"]
        for line in obj.get("Line", []):
            ids += [str(lt["TxnId"]) for lt in line.get("LinkedTxn", []) or []
                    if lt.get("TxnType") == "PurchaseOrder"]
        return list(dict.fromkeys(ids))

    def _bill_po_links(self, obj: Obj, current: Obj | None) -> None:
        """Header LinkedTxn = the POs this bill was made from (sent by the client, header or
        line level; UNCONFIRMED which, both accepted) + the payments QBO linked itself."""
        po_ids = self._po_ids(obj)
        for po_id in po_ids:
            if self.company.get("PurchaseOrder", po_id) is None:
                raise faults.invalid_reference("PurchaseOrder", po_id, "LinkedTxn")
        payments = [lt for lt in (current or {}).get("LinkedTxn", []) if lt["TxnType"] in PAYMENT_LINK_TYPE.values()]
        links = [{"TxnId": po_id, "TxnType": "PurchaseOrder"} for po_id in po_ids] + payments
        if links:
            obj["LinkedTxn"] = links
        else:
            obj.pop("LinkedTxn", None)

    def _build_payment(self, obj: Obj, current: Obj | None, obj_id: str) -> Obj:
        pay_type = obj["PayType"]
        if pay_type == "Check":
            check = obj.get("CheckPayment")
            if not isinstance(check, dict):
                raise faults.required_param_missing("CheckPayment")
            acct = self.ref("Account", check.get("BankAccountRef"), "CheckPayment.BankAccountRef")
            if acct.get("AccountType") != "Bank":
                raise faults.business_validation("BankAccountRef must be a Bank account.", "BankAccountRef")
            check.setdefault("PrintStatus", "NeedToPrint")
            obj.pop("CreditCardPayment", None)
        elif pay_type == "CreditCard":
            card = obj.get("CreditCardPayment")
            if not isinstance(card, dict):
                raise faults.required_param_missing("CreditCardPayment")
            acct = self.ref("Account", card.get("CCAccountRef"), "CreditCardPayment.CCAccountRef")
            if acct.get("AccountType") != "Credit Card":
                raise faults.business_validation("CCAccountRef must be a Credit Card account.", "CCAccountRef")
            obj.pop("CheckPayment", None)
        else:
            raise faults.invalid_enumeration("PayType", pay_type)
        if obj.get("APAccountRef"):
            self.ref("Account", obj["APAccountRef"], "APAccountRef")
        total = dec(obj["TotalAmt"], "TotalAmt")
        if total < 0:
            raise faults.business_validation("TotalAmt cannot be negative.", "TotalAmt")
        obj["TotalAmt"] = num(total)
        already = self._applied(current) if current else {}
        bills = credits = Decimal(0)
        for line in obj["Line"]:
            if line.get("Amount") is None:
                raise faults.required_param_missing("Line.Amount")
            links = line.get("LinkedTxn")
            if not links:
                raise faults.required_param_missing("Line.LinkedTxn")
            amount = money(line["Amount"])
            line["Amount"] = num(amount)
            # One LinkedTxn per line: the line amount is applied to it. (Several links on one
            # line are accepted, the amount goes to the first; UNCONFIRMED how QBO splits it.)
            link = links[0]
            txn_type, txn_id = link.get("TxnType"), str(link.get("TxnId", ""))
            if txn_type not in ("Bill", "VendorCredit"):
                raise faults.invalid_enumeration("Line.LinkedTxn.TxnType", txn_type)
            target = self.company.get(txn_type, txn_id)
            if target is None:
                raise faults.invalid_reference(txn_type, txn_id, "Line.LinkedTxn")
            if target["VendorRef"]["value"] != obj["VendorRef"]["value"]:
                raise faults.business_validation(
                    f"{txn_type} {txn_id} belongs to another vendor.", "Line.LinkedTxn")
            available = money(target.get("Balance", 0)) + already.get((txn_type, txn_id), Decimal(0))
            if amount > available or amount < 0:
                raise faults.over_payment(txn_type, txn_id)
            if txn_type == "Bill":
                bills += amount
            else:
                credits += amount
        if bills - credits > total:
            # Overpayment (TotalAmt larger) is a documented credit; paying less than is applied is not.
            raise faults.business_validation(
                "The amount applied to bills, less credits, is more than the payment total.", "TotalAmt")
        return obj

    @staticmethod
    def _applied(payment: Obj) -> dict[tuple[str, str], Decimal]:
        applied: dict[tuple[str, str], Decimal] = {}
        for line in payment.get("Line", []):
            for link in (line.get("LinkedTxn") or [])[:1]:
                key = (link["TxnType"], str(link["TxnId"]))
                applied[key] = applied.get(key, Decimal(0)) + money(line["Amount"])
        return applied

    def _link(self, entity: str, obj: Obj) -> None:
        if entity == "BillPayment":
            link_type = PAYMENT_LINK_TYPE[obj["PayType"]]
            for (txn_type, txn_id), amount in self._applied(obj).items():
                target = self.company.get(txn_type, txn_id)
                assert target is not None
                target["Balance"] = num(money(target["Balance"]) - amount)
                links = target.setdefault("LinkedTxn", [])
                if not any(lt["TxnId"] == obj["Id"] and lt["TxnType"] == link_type for lt in links):
                    links.append({"TxnId": obj["Id"], "TxnType": link_type})
                self.touch(target)
        elif entity == "Bill":
            for po_id in self._po_ids(obj):
                po = self.company.get("PurchaseOrder", po_id)
                assert po is not None
                links = po.setdefault("LinkedTxn", [])
                if not any(lt["TxnId"] == obj["Id"] for lt in links):
                    links.append({"TxnId": obj["Id"], "TxnType": "Bill"})
                self._po_status(po)
                self.touch(po)

    def _unlink(self, entity: str, current: Obj) -> None:
        """Undo what `_link` did for `current` (before an update, a delete or a void)."""
        if entity == "BillPayment":
            for (txn_type, txn_id), amount in self._applied(current).items():
                target = self.company.get(txn_type, txn_id)
                if target is None:
                    continue
                target["Balance"] = num(money(target["Balance"]) + amount)
                remaining = [lt for lt in target.get("LinkedTxn", []) if lt["TxnId"] != current["Id"]]
                if remaining:
                    target["LinkedTxn"] = remaining
                else:
                    target.pop("LinkedTxn", None)
                self.touch(target)
        elif entity == "Bill":
            for po_id in self._po_ids(current):
                po = self.company.get("PurchaseOrder", po_id)
                if po is None:
                    continue
                po["LinkedTxn"] = [lt for lt in po.get("LinkedTxn", []) if lt["TxnId"] != current["Id"]]
                if not po["LinkedTxn"]:
                    po.pop("LinkedTxn")
                self._po_status(po)
                self.touch(po)
        elif entity == "PurchaseOrder":
            for link in current.get("LinkedTxn", []):
                bill = self.company.get("Bill", link["TxnId"])
                if bill is not None and bill.get("LinkedTxn"):
                    bill["LinkedTxn"] = [lt for lt in bill["LinkedTxn"] if lt["TxnId"] != current["Id"]]
                    for line in bill["Line"]:
                        if line.get("LinkedTxn"):
                            line["LinkedTxn"] = [lt for lt in line["LinkedTxn"] if lt["TxnId"] != current["Id"]]
                    self.touch(bill)

    def _po_status(self, po: Obj) -> None:
        # Simplification: a PO closes once its linked bills add up to its total (QBO closes it
        # when every line is received; per-line receiving is not modelled).
        billed = sum((money(b["TotalAmt"]) for lt in po.get("LinkedTxn", [])
                      if (b := self.company.get("Bill", lt["TxnId"])) is not None), Decimal(0))
        po["POStatus"] = "Closed" if po.get("LinkedTxn") and billed >= money(po["TotalAmt"]) else "Open"
