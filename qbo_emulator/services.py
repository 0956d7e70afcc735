"""QBO's business rules: create, update, delete and void, with the fields QBO computes.

Every change, whether it comes from the v3 API, a batch item or the control API ("a QBO user"),
goes through `Ledger`, so webhooks and CDC see all of them alike. Each operation validates
everything first and only then mutates, so a fault never leaves half an object behind.
"""

from __future__ import annotations

import copy
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


class Ledger:
    """Operations on one company. Cheap to build per request."""

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

    # --- public operations --------------------------------------------------------------

    def create(self, entity: str, body: Obj, *, allow_duplicate_docnum: bool = False,
               obj_id: str | None = None) -> Obj:
        spec = self.spec(entity)
        if spec.read_only and obj_id is None:
            raise faults.unsupported_operation(f"Operation Create is not supported for {entity}")
        if entity == "Attachable":
            raise faults.unsupported_operation("Use /upload or the Attachable create with AttachableRef")
        obj = self._clean(body)
        self._require(spec, obj)
        new_id = obj_id or self.company.new_id()
        obj = self._build(spec, obj, None, new_id, allow_duplicate_docnum)
        obj.update(Id=new_id, SyncToken="0", domain="QBO", sparse=False, MetaData=self.new_meta())
        self._commit(spec, obj, None)
        self.emit(entity, obj, "Create")
        return obj

    def update(self, entity: str, body: Obj, *, allow_duplicate_docnum: bool = False) -> Obj:
        spec = self.spec(entity)
        if spec.read_only:
            raise faults.unsupported_operation(f"Operation Update is not supported for {entity}")
        if not body.get("Id"):
            raise faults.required_param_missing("Id")
        current = self.read(entity, body["Id"])
        self.check_sync_token(current, body)
        if body.get("sparse") is True:
            # Sparse: only the fields sent change; a sent Line array replaces all lines
            # (third-party reports, UNCONFIRMED by Intuit: qbo-api.md §2).
            merged = copy.deepcopy(current)
            merged.update(self._clean(body))
            merged = self._clean(merged)
        else:
            # Full update: "Writable fields omitted from the request body are set to NULL."
            merged = self._clean(body)
        self._require(spec, merged)
        if spec.kind == "txn":
            self.check_open_period(current.get("TxnDate"), merged.get("TxnDate") or current.get("TxnDate"))
        obj = self._build(spec, merged, current, current["Id"], allow_duplicate_docnum)
        obj.update(Id=current["Id"], SyncToken=str(int(current["SyncToken"]) + 1), domain="QBO", sparse=False,
                   MetaData={"CreateTime": current["MetaData"]["CreateTime"], "LastUpdatedTime": self.stamp()})
        self._commit(spec, obj, current)
        self.emit(entity, obj, "Update")
        return obj

    def delete(self, entity: str, body: Obj) -> Obj:
        spec = self.spec(entity)
        if not spec.deletable:
            # Name lists are deactivated (Active=false), never deleted (qbo-api.md §1.7).
            raise faults.unsupported_operation(f"Operation Delete is not supported for {entity}")
        if not body.get("Id"):
            raise faults.required_param_missing("Id")
        current = self.read(entity, body["Id"])
        self.check_sync_token(current, body)
        if spec.kind == "txn":
            self.check_open_period(current.get("TxnDate"))
        if entity == "Bill" and any(lt.get("TxnType") in PAYMENT_LINK_TYPE.values()
                                    for lt in current.get("LinkedTxn", [])):
            raise faults.linked_transaction("Bill")
        if entity == "VendorCredit" and current.get("LinkedTxn"):
            raise faults.linked_transaction("VendorCredit")
        self._unlink(entity, current)
        del self.company.table(entity)[current["Id"]]
        key = doc_key(entity, current)
        if key:
            self.company.doc_numbers.pop(key, None)
        if entity == "Attachable":
            self.company.attachments.pop(current["Id"], None)
        stamp = self.stamp()
        self.company.tombstones.setdefault(entity, {})[current["Id"]] = {
            "domain": "QBO", "status": "Deleted", "Id": current["Id"], "MetaData": {"LastUpdatedTime": stamp}}
        self._emit(self.company.realm_id, entity, current["Id"], "Delete", stamp)
        return {"status": "Deleted", "domain": "QBO", "Id": current["Id"]}

    def void(self, entity: str, body: Obj) -> Obj:
        """BillPayment void: the payment stays, amounts go to 0, lines are cleared and "Voided"
        is put into PrivateNote; the bills' balances come back (qbo-api.md §2)."""
        if entity != "BillPayment":
            raise faults.unsupported_operation(f"Operation Void is not supported for {entity}")
        if not body.get("Id"):
            raise faults.required_param_missing("Id")
        current = self.read(entity, body["Id"])
        self.check_sync_token(current, body)
        self.check_open_period(current.get("TxnDate"))
        self._unlink(entity, current)
        current["Line"] = []
        current["TotalAmt"] = 0
        current["PrivateNote"] = "Voided"
        if "CheckPayment" in current:
            current["CheckPayment"]["PrintStatus"] = "NotSet"
        self.touch(current)
        self.emit(entity, current, "Void")
        return current

    def upload_attachable(self, meta: Obj, content: bytes | None, base_url: str) -> Obj:
        obj = self._clean(meta)
        refs = obj.get("AttachableRef") or []
        for ref in refs:
            entity_ref = ref.get("EntityRef") or {}
            etype = str(entity_ref.get("type", ""))
            if etype not in ("Bill", "PurchaseOrder", "VendorCredit", "BillPayment", "Vendor"):
                raise faults.unsupported_attachable_ref(etype)
            if self.company.get(etype, entity_ref.get("value")) is None:
                raise faults.invalid_reference(etype, str(entity_ref.get("value")), "AttachableRef")
            ref.setdefault("IncludeOnSend", False)
        if content is not None and len(content) > 100 * 1024 * 1024:
            raise faults.file_too_large()
        new_id = self.company.new_id()
        if content is not None:
            ctype = str(obj.get("ContentType") or "application/octet-stream")
            # QBO normalises the non-standard image/jpg to image/jpeg (attachable-upload-*.json).
            obj["ContentType"] = "image/jpeg" if ctype == "image/jpg" else ctype
            obj["Size"] = len(content)
            uri = f"/v3/company/{self.company.realm_id}/download/{new_id}"
            obj["FileAccessUri"] = uri
            obj["TempDownloadUri"] = f"{base_url}/_emulator/files/{self.company.realm_id}/{new_id}"
            if obj["ContentType"].startswith("image/"):
                obj["ThumbnailFileAccessUri"] = uri + "?thumbnail=true"
            self.company.attachments[new_id] = content
        obj.update(Id=new_id, SyncToken="0", domain="QBO", sparse=False, MetaData=self.new_meta())
        self.company.table("Attachable")[new_id] = obj
        self.emit("Attachable", obj, "Create")
        return obj

    def set_closing_date(self, book_close_date: str | None) -> Obj:
        """The closing date is set by a QBO user, never through the API (qbo-api.md §8.4)."""
        if book_close_date:
            date.fromisoformat(book_close_date)
        prefs = self.read("Preferences", "1")
        info = prefs.setdefault("AccountingInfoPrefs", {})
        if book_close_date:
            info["BookCloseDate"] = book_close_date
        else:
            info.pop("BookCloseDate", None)  # "If Close the books is off, the field is absent"
        self.touch(prefs)
        return prefs

    # --- building objects ---------------------------------------------------------------

    @staticmethod
    def _clean(body: Obj) -> Obj:
        obj = copy.deepcopy(body)
        for key in SERVER_FIELDS:
            obj.pop(key, None)
        return obj

    @staticmethod
    def _require(spec: EntitySpec, obj: Obj) -> None:
        for field in spec.required:
            value = obj.get(field)
            if value is None or value == "" or (field == "Line" and not isinstance(value, list)):
                raise faults.required_param_missing(field)

    def _build(self, spec: EntitySpec, obj: Obj, current: Obj | None, obj_id: str, allow_dup: bool) -> Obj:
        if spec.kind == "list":
            return self._build_list(spec, obj, current, obj_id)
        if spec.kind == "txn":
            return self._build_txn(spec, obj, current, obj_id, allow_dup)
        return obj

    def _build_list(self, spec: EntitySpec, obj: Obj, current: Obj | None, obj_id: str) -> Obj:
        entity = spec.name
        if entity in ("Vendor", "Customer") and not obj.get("DisplayName"):
            parts = [obj.get(k) for k in ("GivenName", "MiddleName", "FamilyName")]
            derived = " ".join(p for p in parts if p) or obj.get("CompanyName")
            if not derived:
                raise faults.required_param_missing("DisplayName")
            obj["DisplayName"] = derived
        name_field = spec.name_field or "Name"
        name = str(obj.get(name_field, ""))
        if len(name) > (500 if entity in ("Vendor", "Customer") else 100):
            raise faults.string_too_long(name_field, 500 if entity in ("Vendor", "Customer") else 100)
        holder = self.company.names.get(self.company.name_key(entity, name))
        if holder is not None and holder != obj_id:
            raise faults.duplicate_name()
        obj.setdefault("Active", True)
        if entity in ("Vendor", "Customer"):
            obj.setdefault("PrintOnCheckName", obj["DisplayName"])
            obj.setdefault("Balance", current.get("Balance", 0) if current else 0)
            currency = obj.get("CurrencyRef") or (current or {}).get("CurrencyRef") or {"value": "USD"}
            if current and current.get("CurrencyRef") and currency.get("value") != current["CurrencyRef"]["value"]:
                # A vendor's currency is fixed at creation (qbo-api.md §1.6).
                raise faults.business_validation("You can't change the currency of a vendor.", "CurrencyRef")
            currency.setdefault("name", CURRENCY_NAMES.get(currency.get("value", ""), currency.get("value")))
            obj["CurrencyRef"] = currency
            if entity == "Vendor":
                obj.setdefault("Vendor1099", False)
                if obj.get("TermRef"):
                    self.ref("Term", obj["TermRef"], "TermRef")
        if entity in ("Account", "Class", "Department"):
            parent = obj.get("ParentRef")
            if parent:
                parent_obj = self.ref(entity, parent, "ParentRef")
                obj["FullyQualifiedName"] = f"{parent_obj['FullyQualifiedName']}:{name}"
            else:
                obj["FullyQualifiedName"] = name
            if entity == "Account":
                if ":" in name:
                    raise faults.invalid_property("The account name cannot contain a colon (:).", "Name")
                atype = obj.setdefault("AccountType", "Expense")
                obj.setdefault("Classification", ACCOUNT_CLASSIFICATION.get(atype, "Expense"))
                obj.setdefault("CurrentBalance", 0)
                obj.setdefault("SubAccount", bool(parent))
                obj.setdefault("CurrencyRef", {"value": "USD", "name": CURRENCY_NAMES["USD"]})
            else:
                key = "SubClass" if entity == "Class" else "SubDepartment"
                obj.setdefault(key, bool(parent))
        if entity == "Item":
            obj.setdefault("Type", "NonInventory")
            obj.setdefault("FullyQualifiedName", name)
            if obj.get("ExpenseAccountRef"):
                self.ref("Account", obj["ExpenseAccountRef"], "ExpenseAccountRef")
        if entity == "Term":
            obj.setdefault("Type", "STANDARD")
            if obj["Type"] == "STANDARD":
                obj.setdefault("DueDays", 0)
        return obj

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

    def _commit(self, spec: EntitySpec, obj: Obj, current: Obj | None) -> None:
        entity = spec.name
        if current is not None:
            self._unlink(entity, current)
            old_key = doc_key(entity, current)
            if old_key:
                self.company.doc_numbers.pop(old_key, None)
            if spec.name_field and current.get(spec.name_field):
                self.company.names.pop(self.company.name_key(entity, current[spec.name_field]), None)
        self.company.table(entity)[obj["Id"]] = obj
        key = doc_key(entity, obj)
        if key:
            self.company.doc_numbers[key] = obj["Id"]
        if spec.name_field and obj.get(spec.name_field):
            self.company.names[self.company.name_key(entity, obj[spec.name_field])] = obj["Id"]
        self._link(entity, obj)

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
