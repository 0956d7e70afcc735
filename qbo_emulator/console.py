"""The console page a person uses during the demo: companies, bills, POs, payments, and buttons
to delete bills, record or void payments and set the closing date. Plain HTML forms, no JavaScript, no
external assets. Every button goes through the same Ledger as the API (webhooks, CDC).
"""

from __future__ import annotations

import html
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from .faults import QBOFault
from .ledger_core import money, num
from .models import Company, Obj
from .runtime import Emulator
from .seed import create_company, find_account

ROWS = 200  # newest rows shown per table
CSS = """body{font:14px system-ui,sans-serif;margin:0;color:#222;background:#f6f7f9}
header{background:#2ca01c;color:#fff;padding:.8rem 1.5rem}header a{color:#fff}
main{padding:1rem 1.5rem}table{border-collapse:collapse;background:#fff;margin:.5rem 0 1.5rem;width:100%}
th,td{border-bottom:1px solid #e3e3e3;padding:.35rem .5rem;text-align:left}th{background:#eef0f3}
td.n{text-align:right;font-variant-numeric:tabular-nums}form.i{display:inline}
input,select{font:inherit;padding:.15rem .3rem}button{font:inherit;padding:.2rem .7rem;cursor:pointer}
.msg{background:#fff8d6;border:1px solid #e6d27a;padding:.5rem 1rem}.muted{color:#777}
section{margin-bottom:1rem}"""


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value))


def _emu(request: Request) -> Emulator:
    emulator: Emulator = request.app.state.emulator
    return emulator


def _page(body: str) -> HTMLResponse:
    return HTMLResponse(f"<!doctype html><html><head><meta charset='utf-8'><title>QBO emulator console</title>"
                        f"<style>{CSS}</style></head><body><header><b>QuickBooks Online emulator</b> · "
                        f"<a href='/_emulator/console'>companies</a></header><main>{body}</main></body></html>")


def _back(realm: str | None, msg: str) -> Response:
    url = "/_emulator/console" + (f"?realm={quote(realm)}&" if realm else "?") + f"msg={quote(msg)}"
    return RedirectResponse(url, status_code=303)


def _newest(company: Company, entity: str) -> list[Obj]:
    return list(company.table(entity).values())[-ROWS:][::-1]


async def console(request: Request) -> Response:
    emulator = _emu(request)
    msg = request.query_params.get("msg")
    parts = [f"<p class='msg'>{_e(msg)}</p>"] if msg else []
    realm = request.query_params.get("realm")
    company = emulator.store.get(realm) if realm else None
    if company is None:
        rows = "".join(
            f"<tr><td><a href='?realm={_e(c.realm_id)}'>{_e(c.name)}</a></td><td>{_e(c.realm_id)}</td>"
            f"<td class='n'>{len(c.table('Bill'))}</td><td class='n'>{len(c.table('BillPayment'))}</td></tr>"
            for c in emulator.store.companies.values())
        parts.append("<h2>Companies</h2><table><tr><th>Name</th><th>realmId</th><th>Bills</th><th>Payments</th></tr>"
                     f"{rows or '<tr><td colspan=4 class=muted>none yet</td></tr>'}</table>"
                     "<form method='post' action='/_emulator/console/companies'><input name='name' "
                     "value='Demo Company'> <button>Create seeded company</button></form>")
        return _page("".join(parts))
    parts.append(_company_html(company))
    return _page("".join(parts))


def _company_html(company: Company) -> str:
    r = _e(company.realm_id)
    prefs = company.get("Preferences", "1") or {}
    closed = prefs.get("AccountingInfoPrefs", {}).get("BookCloseDate") or ""
    out = [f"<h2>{_e(company.name)} <span class='muted'>realmId {r}</span></h2>",
           f"<section><form method='post' action='/_emulator/console/{r}/closing-date'>Closing date "
           f"<input type='date' name='date' value='{_e(closed)}'> <button>Set</button> "
           "<span class='muted'>(empty = books open)</span></form></section>"]
    bills = "".join(
        f"<tr><td>{_e(b['Id'])}</td><td>{_e(b['VendorRef'].get('name'))}</td><td>{_e(b.get('DocNumber'))}</td>"
        f"<td>{_e(b['TxnDate'])}</td><td class='n'>{b['TotalAmt']:.2f}</td><td class='n'>{b['Balance']:.2f}</td>"
        f"<td>{_pay_form(r, b) if b['Balance'] > 0 else '<span class=muted>paid</span>'}</td>"
        f"<td><form class='i' method='post' action='/_emulator/console/{r}/bills/{_e(b['Id'])}/delete'>"
        "<button>Delete</button></form></td></tr>"
        for b in _newest(company, "Bill"))
    out.append("<h3>Bills</h3><table><tr><th>Id</th><th>Vendor</th><th>No.</th><th>Date</th><th>Total</th>"
               f"<th>Balance</th><th>Record payment</th><th></th></tr>{bills}</table>")
    pos = "".join(
        f"<tr><td>{_e(p['Id'])}</td><td>{_e(p['VendorRef'].get('name'))}</td><td>{_e(p.get('DocNumber'))}</td>"
        f"<td>{_e(p['TxnDate'])}</td><td class='n'>{p['TotalAmt']:.2f}</td><td>{_e(p.get('POStatus'))}</td></tr>"
        for p in _newest(company, "PurchaseOrder"))
    out.append("<h3>Purchase orders</h3><table><tr><th>Id</th><th>Vendor</th><th>No.</th><th>Date</th>"
               f"<th>Total</th><th>Status</th></tr>{pos}</table>")
    pays = "".join(
        f"<tr><td>{_e(p['Id'])}</td><td>{_e(p['VendorRef'].get('name'))}</td><td>{_e(p['PayType'])}</td>"
        f"<td>{_e(p['TxnDate'])}</td><td class='n'>{p['TotalAmt']:.2f}</td>"
        f"<td>{_e(', '.join(lt['TxnType'] + ' ' + lt['TxnId'] for line in p['Line'] for lt in line['LinkedTxn']))}"
        f"</td><td>{_e(p.get('PrivateNote'))}</td><td>"
        f"<form class='i' method='post' action='/_emulator/console/{r}/payments/{_e(p['Id'])}/void'>"
        "<button>Void</button></form> "
        f"<form class='i' method='post' action='/_emulator/console/{r}/payments/{_e(p['Id'])}/delete'>"
        "<button>Delete</button></form></td></tr>"
        for p in _newest(company, "BillPayment"))
    out.append("<h3>Bill payments</h3><table><tr><th>Id</th><th>Vendor</th><th>Type</th><th>Date</th>"
               f"<th>Total</th><th>Applied to</th><th>Note</th><th></th></tr>{pays}</table>")
    return "".join(out)


def _pay_form(realm: str, bill: Obj) -> str:
    return (f"<form class='i' method='post' action='/_emulator/console/{realm}/pay'>"
            f"<input type='hidden' name='bill_id' value='{_e(bill['Id'])}'>"
            f"<input name='amount' size='8' value='{bill['Balance']:.2f}'> "
            "<select name='pay_type'><option value='Check'>Cheque / bank</option>"
            "<option value='CreditCard'>Credit card</option></select> "
            "<input type='date' name='txn_date'> <button>Pay</button></form>")


async def create_company_form(request: Request) -> Response:
    form = await request.form()
    company = create_company(_emu(request), name=str(form.get("name") or "Demo Company"))
    return _back(company.realm_id, f"Created {company.name}")


async def pay(request: Request) -> Response:
    realm = request.path_params["realm"]
    emulator = _emu(request)
    company = emulator.store.get(realm)
    if company is None:
        return _back(None, "company not found")
    form = await request.form()
    ledger = emulator.ledger(company)
    try:
        bill = ledger.read("Bill", str(form.get("bill_id")))
        amount = money(str(form.get("amount") or bill["Balance"]))
        pay_type = str(form.get("pay_type") or "Check")
        account = find_account(company, "Credit Card" if pay_type == "CreditCard" else "Bank")
        if account is None:
            return _back(realm, "no bank or card account")
        body: Obj = {"VendorRef": {"value": bill["VendorRef"]["value"]}, "PayType": pay_type,
                     "TotalAmt": num(amount),
                     "Line": [{"Amount": num(amount), "LinkedTxn": [{"TxnId": bill["Id"], "TxnType": "Bill"}]}]}
        key = "CreditCardPayment" if pay_type == "CreditCard" else "CheckPayment"
        body[key] = {"CCAccountRef" if pay_type == "CreditCard" else "BankAccountRef": {"value": account["Id"]}}
        if form.get("txn_date"):
            body["TxnDate"] = str(form.get("txn_date"))
        payment = ledger.create("BillPayment", body)
    except (QBOFault, ArithmeticError) as exc:
        return _back(realm, f"Refused: {exc}")
    return _back(realm, f"Recorded payment {payment['Id']} of {amount:.2f} ({Decimal(bill['Balance']):.2f} left)")


async def payment_action(request: Request) -> Response:
    realm, pay_id, action = (request.path_params[k] for k in ("realm", "id", "action"))
    emulator = _emu(request)
    company = emulator.store.get(realm)
    if company is None:
        return _back(None, "company not found")
    ledger = emulator.ledger(company)
    try:
        payment = ledger.read("BillPayment", pay_id)
        ident = {"Id": payment["Id"], "SyncToken": payment["SyncToken"]}
        if action == "void":
            ledger.void("BillPayment", ident)
        elif action == "delete":
            ledger.delete("BillPayment", ident)
        else:
            return _back(realm, f"Unknown action {action}")
    except QBOFault as exc:
        return _back(realm, f"Refused: {exc}")
    return _back(realm, f"Payment {pay_id}: {action} done")


async def bill_delete(request: Request) -> Response:
    """A user deletes a bill (QBO refuses while payments are linked to it)."""
    realm, bill_id = request.path_params["realm"], request.path_params["id"]
    emulator = _emu(request)
    company = emulator.store.get(realm)
    if company is None:
        return _back(None, "company not found")
    ledger = emulator.ledger(company)
    try:
        bill = ledger.read("Bill", bill_id)
        ledger.delete("Bill", {"Id": bill["Id"], "SyncToken": bill["SyncToken"]})
    except QBOFault as exc:
        return _back(realm, f"Refused: {exc}")
    return _back(realm, f"Bill {bill_id} deleted")


async def closing_date(request: Request) -> Response:
    realm = request.path_params["realm"]
    emulator = _emu(request)
    company = emulator.store.get(realm)
    if company is None:
        return _back(None, "company not found")
    form = await request.form()
    value = str(form.get("date") or "") or None
    try:
        emulator.ledger(company).set_closing_date(value)
    except ValueError as exc:
        return _back(realm, f"Refused: {exc}")
    return _back(realm, f"Closing date set to {value or 'none'}")


routes = [
    Route("/_emulator/console", console),
    Route("/_emulator/console/companies", create_company_form, methods=["POST"]),
    Route("/_emulator/console/{realm}/pay", pay, methods=["POST"]),
    Route("/_emulator/console/{realm}/payments/{id}/{action:str}", payment_action, methods=["POST"]),
    Route("/_emulator/console/{realm}/bills/{id}/delete", bill_delete, methods=["POST"]),
    Route("/_emulator/console/{realm}/closing-date", closing_date, methods=["POST"]),
]
