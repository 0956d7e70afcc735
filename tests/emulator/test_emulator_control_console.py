"""The control API acting as a QBO user, and the console page's plain-form buttons."""

from __future__ import annotations

import pytest
from emulator_helpers import Qbo

pytestmark = pytest.mark.anyio


async def test_given_a_user_partial_card_payment_over_two_bills_then_balances_follow(qbo: Qbo) -> None:
    first = await qbo.create("Bill", qbo.bill_body(100.0))
    second = await qbo.create("Bill", qbo.bill_body(50.0))
    result = await qbo.control("POST", f"/companies/{qbo.realm}/bill-payments", json={
        "pay_type": "CreditCard", "txn_date": "2026-03-15",
        "bills": [{"bill_id": first["Id"], "amount": 40}, {"bill_id": second["Id"]}]})
    payment = result["BillPayment"]
    assert payment["PayType"] == "CreditCard" and payment["TotalAmt"] == 90.0 and payment["TxnDate"] == "2026-03-15"
    assert (await qbo.read("Bill", first["Id"]))["Balance"] == 60.0
    assert (await qbo.read("Bill", second["Id"]))["Balance"] == 0


async def test_given_a_user_supplier_credit_when_applied_then_cash_paid_is_net(qbo: Qbo) -> None:
    bill = await qbo.create("Bill", qbo.bill_body(100.0))
    credit = (await qbo.control("POST", f"/companies/{qbo.realm}/vendor-credits",
                                json={"vendor_id": qbo.vendor(), "amount": 15}))["VendorCredit"]
    payment = (await qbo.control("POST", f"/companies/{qbo.realm}/bill-payments", json={
        "bills": [{"bill_id": bill["Id"]}], "vendor_credits": [{"vendor_credit_id": credit["Id"]}]}))["BillPayment"]
    assert payment["TotalAmt"] == 85.0 and len(payment["Line"]) == 2
    assert (await qbo.read("VendorCredit", credit["Id"]))["Balance"] == 0


async def test_given_a_user_edits_and_deletes_a_bill_then_api_sees_it_and_tokens_go_stale(qbo: Qbo) -> None:
    bill = await qbo.create("Bill", qbo.bill_body(100.0))
    edited = (await qbo.control("PATCH", f"/companies/{qbo.realm}/bills/{bill['Id']}",
                                json={"amount": 120, "PrivateNote": "fixed by accountant"}))["Bill"]
    assert edited["TotalAmt"] == 120.0 and edited["SyncToken"] == "1"
    stale = await qbo.post("bill", {"Id": bill["Id"], "SyncToken": "0", "sparse": True, "PrivateNote": "x"})
    assert stale.json()["Fault"]["Error"][0]["code"] == "5010"
    await qbo.control("DELETE", f"/companies/{qbo.realm}/bills/{bill['Id']}")
    assert (await qbo.get(f"bill/{bill['Id']}")).status_code == 400


async def test_given_a_closed_period_when_user_pays_into_it_then_refused_with_qbo_fault(qbo: Qbo) -> None:
    bill = await qbo.create("Bill", qbo.bill_body(10.0, TxnDate="2026-03-10"))
    await qbo.control("PUT", f"/companies/{qbo.realm}/closing-date", json={"date": "2026-03-12"})
    response = await qbo.client.post(f"/_emulator/companies/{qbo.realm}/bill-payments", json={
        "bills": [{"bill_id": bill["Id"]}], "txn_date": "2026-03-11"})
    assert response.status_code == 400 and response.json()["Fault"]["Error"][0]["code"] == "6210"


async def test_given_seed_data_when_posted_then_objects_exist_by_name(qbo: Qbo) -> None:
    created = await qbo.control("POST", f"/companies/{qbo.realm}/seed", json={
        "vendors": ["Acme Paper", {"DisplayName": "Globex", "CompanyName": "Globex Corp"}],
        "accounts": [{"Name": "Postage", "AccountType": "Expense"}], "classes": ["R&D"]})
    assert set(created["created"]["Vendor"]) == {"Acme Paper", "Globex"}
    assert (await qbo.read("Account", created["created"]["Account"]["Postage"]))["Classification"] == "Expense"


async def test_given_reset_when_posted_then_companies_and_tokens_are_gone(qbo: Qbo) -> None:
    await qbo.control("POST", "/reset")
    assert (await qbo.control("GET", "/companies"))["companies"] == []
    assert (await qbo.get("preferences")).status_code == 401


async def test_given_the_batch_minute_limit_when_exceeded_then_429(qbo: Qbo) -> None:
    await qbo.control("PUT", "/limits", json={"enabled": True, "batch_per_minute": 1})
    body = {"BatchItemRequest": [{"bId": "1", "Query": "select count(*) from Bill"}]}
    assert (await qbo.post("batch", body)).status_code == 200
    assert (await qbo.post("batch", body)).status_code == 429
    assert (await qbo.get("preferences")).status_code == 200


async def test_given_the_console_when_a_payment_is_recorded_by_form_then_bill_balance_falls(qbo: Qbo) -> None:
    bill = await qbo.create("Bill", qbo.bill_body(100.0, DocNumber="CONSOLE-1"))
    page = await qbo.client.get(f"/_emulator/console?realm={qbo.realm}")
    assert page.status_code == 200 and "CONSOLE-1" in page.text and "<script" not in page.text
    response = await qbo.client.post(f"/_emulator/console/{qbo.realm}/pay",
                                     data={"bill_id": bill["Id"], "amount": "30", "pay_type": "CreditCard"})
    assert response.status_code == 303
    assert (await qbo.read("Bill", bill["Id"]))["Balance"] == 70.0
    payment = (await qbo.query("select * from BillPayment"))["BillPayment"][0]
    await qbo.client.post(f"/_emulator/console/{qbo.realm}/payments/{payment['Id']}/void")
    assert (await qbo.read("Bill", bill["Id"]))["Balance"] == 100.0
    await qbo.client.post(f"/_emulator/console/{qbo.realm}/closing-date", data={"date": "2026-03-31"})
    prefs = (await qbo.get("preferences")).json()["Preferences"]
    assert prefs["AccountingInfoPrefs"]["BookCloseDate"] == "2026-03-31"
    refused = await qbo.client.post(f"/_emulator/console/{qbo.realm}/payments/{payment['Id']}/delete")
    assert "Refused" in (await qbo.client.get(refused.headers["location"])).text


async def test_given_the_console_when_a_bill_is_deleted_by_form_then_it_is_gone_unless_paid(qbo: Qbo) -> None:
    bill = await qbo.create("Bill", qbo.bill_body(40.0, DocNumber="CONSOLE-DEL"))
    paid = await qbo.create("Bill", qbo.bill_body(10.0, DocNumber="CONSOLE-PAID"))
    await qbo.control("POST", f"/companies/{qbo.realm}/bill-payments", json={"bills": [{"bill_id": paid["Id"]}]})
    page = await qbo.client.get(f"/_emulator/console?realm={qbo.realm}")
    assert f"/_emulator/console/{qbo.realm}/bills/{bill['Id']}/delete" in page.text

    response = await qbo.client.post(f"/_emulator/console/{qbo.realm}/bills/{bill['Id']}/delete")
    refused = await qbo.client.post(f"/_emulator/console/{qbo.realm}/bills/{paid['Id']}/delete")

    assert response.status_code == 303
    assert f"Bill {bill['Id']} deleted" in (await qbo.client.get(response.headers["location"])).text
    assert (await qbo.get(f"bill/{bill['Id']}")).status_code == 400
    assert "Refused" in (await qbo.client.get(refused.headers["location"])).text
    assert (await qbo.read("Bill", paid["Id"]))["TotalAmt"] == 10.0


async def test_given_the_console_home_when_a_company_is_created_then_listed(client) -> None:
    response = await client.post("/_emulator/console/companies", data={"name": "Console Co"})
    assert response.status_code == 303
    home = await client.get("/")
    assert home.status_code == 302
    assert "Console Co" in (await client.get("/_emulator/console")).text
