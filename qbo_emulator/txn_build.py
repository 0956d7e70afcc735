"""Building transactions as QBO computes them: PurchaseOrder, Bill, VendorCredit and
BillPayment objects with their lines, totals, balances, terms and the checks on each.

The links these transactions keep with each other are in txn_links.py; the public operations
are in services.py (`Ledger`).
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from . import faults
from .currency import CurrencyRules
from .ledger_core import CENT, dec, money, num
from .models import EntitySpec, Obj, doc_key
from .tax import TaxRules
from .txn_links import TransactionLinks

EXPENSE_DETAILS = ("AccountBasedExpenseLineDetail", "ItemBasedExpenseLineDetail")


class TransactionRules(TransactionLinks, TaxRules, CurrencyRules):
    """Building transactions (validation and computed fields); links come from `TransactionLinks`,
    tax from `TaxRules` (tax.py), currencies from `CurrencyRules` (currency.py)."""

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
        self.check_txn_currency(obj, vendor)
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
        mode = self.tax_mode(obj)
        total = self._expense_lines(obj, current, mode)
        if mode is not None:
            total = self.apply_tax(obj, mode)  # TotalAmt includes the tax QBO computes (§11a)
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

    def _expense_lines(self, obj: Obj, current: Obj | None, mode: str | None) -> Decimal:
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
                    # TaxInclusive prices are gross, so the gross is what Qty × UnitPrice must give.
                    if expected != self.sent_amount(line, detail, mode).quantize(CENT):
                        raise faults.amount_mismatch(line["Amount"])
            for key, entity in (("ClassRef", "Class"), ("CustomerRef", "Customer")):
                if detail.get(key):
                    self.ref(entity, detail[key], f"Line.{detail_type}.{key}")
            detail.setdefault("BillableStatus", "NotBillable")
            if mode is None:
                detail.setdefault("TaxCodeRef", {"value": "NON"})  # US: QBO's default pseudo code
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
