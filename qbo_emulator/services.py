"""QBO's business rules: create, update, delete and void, with the fields QBO computes.

Every change, whether it comes from the v3 API, a batch item or the control API ("a QBO user"),
goes through `Ledger`, so webhooks and CDC see all of them alike. Each operation validates
everything first and only then mutates, so a fault never leaves half an object behind.
"""

from __future__ import annotations

import copy
from datetime import date

from . import faults
from .ledger_core import ACCOUNT_CLASSIFICATION, CURRENCY_NAMES, PAYMENT_LINK_TYPE, SERVER_FIELDS
from .models import EntitySpec, Obj, doc_key
from .txn_build import TransactionRules


class Ledger(TransactionRules):
    """Operations on one company. Cheap to build per request."""

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
        self._unlink(entity, current, deleting=True)
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
            currency = (obj.get("CurrencyRef") or (current or {}).get("CurrencyRef")
                        or {"value": self.home_currency()})
            if current and current.get("CurrencyRef") and currency.get("value") != current["CurrencyRef"]["value"]:
                # A vendor's currency is fixed at creation (qbo-api.md §1.6).
                raise faults.business_validation("You can't change the currency of a vendor.", "CurrencyRef")
            currency.setdefault("name", CURRENCY_NAMES.get(currency.get("value", ""), currency.get("value")))
            self.check_name_currency(entity, str(currency.get("value") or "").upper())
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
                books = self.home_currency()
                obj.setdefault("CurrencyRef", {"value": books, "name": CURRENCY_NAMES.get(books, books)})
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
