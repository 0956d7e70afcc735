"""The control API acting as a QBO user in the QuickBooks UI: bills created, edited and deleted,
bill payments recorded, voided and deleted, vendor credits, the closing date. Everything goes
through the same Ledger as the v3 API, so it fires webhooks and shows up in CDC."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from starlette.requests import Request

from .control_http import ControlError, _body, _company, _emu
from .currency import vendor_currency_fields
from .ledger_core import money, num
from .models import Company, Obj
from .seed import find_account
from .tax_tables import default_code_ref

# --- acting as a QBO user -------------------------------------------------------------------

def _account(company: Company, account_id: Any, account_type: str) -> str:
    if account_id:
        return str(account_id)
    account = find_account(company, account_type)
    if account is None:
        raise ControlError(f"no {account_type} account; pass account_id")
    return str(account["Id"])


def _expense_txn(company: Company, body: Obj) -> Obj:
    """A one-line bill or supplier credit as a user types it: the vendor's currency and, outside
    the US, the tax code chosen (`tax_code_id`) or the edition's standard purchase code."""
    account = body.get("account_id") or next(
        (a["Id"] for a in company.table("Account").values() if a.get("AccountType") == "Expense"), None)
    detail: Obj = {"AccountRef": {"value": str(account)}}
    code = default_code_ref(company, body.get("tax_code_id"))
    if code:
        detail["TaxCodeRef"] = code
    vendor = str(body["vendor_id"])
    return {"VendorRef": {"value": vendor}, **vendor_currency_fields(company, vendor),
            "Line": [{"DetailType": "AccountBasedExpenseLineDetail", "Amount": float(body["amount"]),
                      "AccountBasedExpenseLineDetail": detail}]}


def _copy_optional(body: Obj, txn: Obj, *more: tuple[str, str]) -> None:
    """The optional fields a QuickBooks user may fill in, from the control body onto the transaction."""
    for key, qbo in (("txn_date", "TxnDate"), ("doc_number", "DocNumber"), ("private_note", "PrivateNote"), *more):
        if body.get(key):
            txn[qbo] = body[key]


async def bill_create(request: Request) -> Any:
    company = _company(request)
    body = await _body(request)
    ledger = _emu(request).ledger(company)
    bill = _expense_txn(company, body)
    _copy_optional(body, bill, ("due_date", "DueDate"))
    return {"Bill": ledger.create("Bill", bill)}


async def bill_edit(request: Request) -> Any:
    """PATCH a bill like a user editing it: QBO fields merged in; `amount` sets a one-line total."""
    company = _company(request)
    body = await _body(request)
    ledger = _emu(request).ledger(company)
    bill = ledger.read("Bill", request.path_params["id"])
    change: Obj = {k: v for k, v in body.items() if k[:1].isupper()}
    if "amount" in body:
        lines = [dict(line) for line in bill["Line"]]
        lines[0]["Amount"] = float(body["amount"])
        change["Line"] = lines[:1]
    change.update(Id=bill["Id"], SyncToken=bill["SyncToken"], sparse=True)
    return {"Bill": ledger.update("Bill", change)}


async def bill_delete(request: Request) -> Any:
    company = _company(request)
    ledger = _emu(request).ledger(company)
    bill = ledger.read("Bill", request.path_params["id"])
    return {"Bill": ledger.delete("Bill", {"Id": bill["Id"], "SyncToken": bill["SyncToken"]})}


async def payment_create(request: Request) -> Any:
    """Record a bill payment: by cheque/bank ("Check") or card ("CreditCard"), full or partial,
    one or several bills of one vendor, optionally applying vendor credits."""
    company = _company(request)
    body = await _body(request)
    ledger = _emu(request).ledger(company)
    pay_type = body.get("pay_type", "Check")
    bills = body.get("bills") or []
    credits = body.get("vendor_credits") or []
    if not bills:
        raise ControlError("bills is required")
    lines: list[Obj] = []
    total = Decimal(0)
    vendor: str | None = None
    for entry in bills:
        bill = ledger.read("Bill", entry["bill_id"])
        vendor = vendor or bill["VendorRef"]["value"]
        amount = money(entry.get("amount", bill["Balance"]))
        total += amount
        lines.append({"Amount": num(amount), "LinkedTxn": [{"TxnId": bill["Id"], "TxnType": "Bill"}]})
    for entry in credits:
        credit = ledger.read("VendorCredit", entry["vendor_credit_id"])
        amount = money(entry.get("amount", credit["Balance"]))
        total -= amount
        lines.append({"Amount": num(amount), "LinkedTxn": [{"TxnId": credit["Id"], "TxnType": "VendorCredit"}]})
    payment: Obj = {"VendorRef": {"value": vendor}, "PayType": pay_type, "TotalAmt": num(max(total, Decimal(0))),
                    "Line": lines, **vendor_currency_fields(company, str(vendor))}
    if pay_type == "CreditCard":
        payment["CreditCardPayment"] = {"CCAccountRef": {"value": _account(company, body.get("account_id"),
                                                                          "Credit Card")}}
    else:
        payment["CheckPayment"] = {"BankAccountRef": {"value": _account(company, body.get("account_id"), "Bank")},
                                   "PrintStatus": body.get("print_status", "NeedToPrint")}
    _copy_optional(body, payment)
    return {"BillPayment": ledger.create("BillPayment", payment)}


async def payment_void(request: Request) -> Any:
    company = _company(request)
    ledger = _emu(request).ledger(company)
    payment = ledger.read("BillPayment", request.path_params["id"])
    return {"BillPayment": ledger.void("BillPayment", {"Id": payment["Id"], "SyncToken": payment["SyncToken"]})}


async def payment_delete(request: Request) -> Any:
    company = _company(request)
    ledger = _emu(request).ledger(company)
    payment = ledger.read("BillPayment", request.path_params["id"])
    return {"BillPayment": ledger.delete("BillPayment", {"Id": payment["Id"], "SyncToken": payment["SyncToken"]})}


async def vendor_credit_create(request: Request) -> Any:
    company = _company(request)
    body = await _body(request)
    ledger = _emu(request).ledger(company)
    credit = _expense_txn(company, body)
    _copy_optional(body, credit)
    return {"VendorCredit": ledger.create("VendorCredit", credit)}


async def closing_date(request: Request) -> Any:
    company = _company(request)
    body = await _body(request)
    prefs = _emu(request).ledger(company).set_closing_date(body.get("date"))
    return {"Preferences": prefs}
