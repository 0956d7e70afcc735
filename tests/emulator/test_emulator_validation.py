"""QBO's validation faults, word for word, for what a client can get wrong."""

from __future__ import annotations

import pytest
from emulator_helpers import Qbo, fault_of

pytestmark = pytest.mark.anyio

CLOSED_DETAIL = ("The account period has closed and the account books cannot be updated through the QBO "
                 "Services API. Please use the QBO website to make these changes.")


async def test_given_a_bill_without_vendor_when_created_then_2020_names_the_field(qbo: Qbo) -> None:
    body = qbo.bill_body()
    del body["VendorRef"]
    response = await qbo.post("bill", body)
    assert response.status_code == 400
    error = fault_of(response)
    assert error["code"] == "2020" and error["element"] == "VendorRef"
    assert response.json()["Fault"]["type"] == "ValidationFault"
    assert isinstance(response.json()["time"], str)


async def test_given_an_unknown_account_when_bill_created_then_invalid_reference(qbo: Qbo) -> None:
    body = qbo.bill_body()
    body["Line"][0]["AccountBasedExpenseLineDetail"]["AccountRef"]["value"] = "7777"
    error = fault_of(await qbo.post("bill", body))
    assert error["code"] == "2500"
    assert error["Detail"] == "Invalid Reference Id : Accounts element id 7777 not found"


async def test_given_an_inactive_vendor_when_referenced_then_610_object_not_found(qbo: Qbo) -> None:
    vendor = await qbo.create("Vendor", {"DisplayName": "Gone Ltd"})
    await qbo.create("Vendor", {"Id": vendor["Id"], "SyncToken": "0", "sparse": True, "Active": False})
    error = fault_of(await qbo.post("bill", qbo.bill_body(vendor=vendor["Id"])))
    assert error["code"] == "610" and error["Message"] == "Object Not Found"


async def test_given_item_line_where_amount_is_not_qty_times_price_then_6070(qbo: Qbo) -> None:
    body = {"VendorRef": {"value": qbo.vendor()},
            "Line": [{"DetailType": "ItemBasedExpenseLineDetail", "Amount": 50.0,
                      "ItemBasedExpenseLineDetail": {"ItemRef": {"value": qbo.ids["Item"]["Office Chair"]},
                                                     "Qty": 3, "UnitPrice": 20}}]}
    error = fault_of(await qbo.post("bill", body))
    assert error["code"] == "6070" and error["Message"] == "Amount is not equal to Qty * UnitPrice"
    body["Line"][0]["Amount"] = 60.0
    assert (await qbo.create("Bill", body))["TotalAmt"] == 60.0


async def test_given_a_bill_number_used_for_the_vendor_when_reused_then_6140_unless_allowed(qbo: Qbo) -> None:
    first = await qbo.create("Bill", qbo.bill_body(DocNumber="INV-7"))
    error = fault_of(await qbo.post("bill", qbo.bill_body(DocNumber="INV-7")))
    assert error["code"] == "6140" and error["Message"] == "Duplicate Document Number Error"
    assert f"TxnId={first['Id']}" in error["Detail"]
    other_vendor = qbo.vendor("Hicks Hardware")
    assert (await qbo.create("Bill", qbo.bill_body(DocNumber="INV-7", vendor=other_vendor)))["DocNumber"] == "INV-7"
    allowed = await qbo.create("Bill", qbo.bill_body(DocNumber="INV-7"), include="allowduplicatedocnum")
    assert allowed["DocNumber"] == "INV-7"


async def test_given_a_taken_display_name_when_vendor_created_then_6240_verbatim(qbo: Qbo) -> None:
    response = await qbo.post("vendor", {"DisplayName": "amy's bird sanctuary"})  # a customer's name
    error = fault_of(response)
    assert error == {"Message": "Duplicate Name Exists Error", "code": "6240", "element": "",
                     "Detail": "The name supplied already exists. : Another customer, vendor or employee is "
                               "already using this \nname. Please use a different name."}


async def test_given_an_unknown_id_when_read_then_610(qbo: Qbo) -> None:
    response = await qbo.get("vendor/424242")
    assert response.status_code == 400 and fault_of(response)["code"] == "610"


async def test_given_a_payment_larger_than_the_balance_when_created_then_refused_and_nothing_applied(
        qbo: Qbo) -> None:
    bill = await qbo.create("Bill", qbo.bill_body(100.0))
    await qbo.create("BillPayment", qbo.payment_body(bill, 60.0))
    response = await qbo.post("billpayment", qbo.payment_body(bill, 50.0))
    assert response.status_code == 400
    assert fault_of(response)["code"] == "6000" and "open balance" in fault_of(response)["Detail"]
    assert (await qbo.read("Bill", bill["Id"]))["Balance"] == 40.0
    assert (await qbo.query("select count(*) from BillPayment"))["totalCount"] == 1


async def test_given_a_closing_date_when_creating_a_bill_on_or_before_it_then_6210(qbo: Qbo) -> None:
    await qbo.control("PUT", f"/companies/{qbo.realm}/closing-date", json={"date": "2026-02-28"})
    error = fault_of(await qbo.post("bill", qbo.bill_body(TxnDate="2026-02-28")))
    assert error["code"] == "6210"
    assert error["Message"] == "Account Period Closed, Cannot Update Through Services API"
    assert error["Detail"] == CLOSED_DETAIL
    assert (await qbo.create("Bill", qbo.bill_body(TxnDate="2026-03-01")))["TxnDate"] == "2026-03-01"


async def test_given_a_closed_period_when_updating_deleting_or_voiding_old_transactions_then_6210(qbo: Qbo) -> None:
    bill = await qbo.create("Bill", qbo.bill_body(100.0, TxnDate="2026-02-10"))
    payment = await qbo.create("BillPayment", qbo.payment_body(bill, 100.0, TxnDate="2026-02-11"))
    fresh = await qbo.create("Bill", qbo.bill_body(100.0, TxnDate="2026-03-10"))
    await qbo.control("PUT", f"/companies/{qbo.realm}/closing-date", json={"date": "2026-02-28"})
    bill = await qbo.read("Bill", bill["Id"])
    update = await qbo.post("bill", {"Id": bill["Id"], "SyncToken": bill["SyncToken"], "sparse": True,
                                     "PrivateNote": "x"})
    delete = await qbo.post("billpayment", {"Id": payment["Id"], "SyncToken": "0"}, operation="delete")
    void = await qbo.post("billpayment", {"Id": payment["Id"], "SyncToken": "0", "sparse": True},
                          operation="update", include="void")
    move_back = await qbo.post("bill", {"Id": fresh["Id"], "SyncToken": "0", "sparse": True, "TxnDate": "2026-01-05"})
    for response in (update, delete, void, move_back):
        assert response.status_code == 400 and fault_of(response)["code"] == "6210"
    assert (await qbo.read("Bill", bill["Id"]))["Balance"] == 0


async def test_given_a_bill_with_payments_when_deleted_then_refused_until_unlinked(qbo: Qbo) -> None:
    bill = await qbo.create("Bill", qbo.bill_body(10.0))
    payment = await qbo.create("BillPayment", qbo.payment_body(bill, 10.0))
    bill = await qbo.read("Bill", bill["Id"])
    response = await qbo.post("bill", {"Id": bill["Id"], "SyncToken": bill["SyncToken"]}, operation="delete")
    assert fault_of(response)["code"] == "6000"
    await qbo.post("billpayment", {"Id": payment["Id"], "SyncToken": "0"}, operation="delete")
    bill = await qbo.read("Bill", bill["Id"])
    response = await qbo.post("bill", {"Id": bill["Id"], "SyncToken": bill["SyncToken"]}, operation="delete")
    assert response.json()["Bill"]["status"] == "Deleted"


async def test_given_a_check_payment_from_a_non_bank_account_then_refused(qbo: Qbo) -> None:
    bill = await qbo.create("Bill", qbo.bill_body(10.0))
    body = qbo.payment_body(bill, 10.0)
    body["CheckPayment"]["BankAccountRef"]["value"] = qbo.account("Visa")
    assert (await qbo.post("billpayment", body)).status_code == 400


async def test_given_a_vendor_when_deleted_then_unsupported_because_name_lists_deactivate(qbo: Qbo) -> None:
    response = await qbo.post("vendor", {"Id": qbo.vendor(), "SyncToken": "0"}, operation="delete")
    assert response.status_code == 400 and fault_of(response)["code"] == "500"
