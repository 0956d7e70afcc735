"""Create / read / update / delete / void, and the fields QBO computes."""

from __future__ import annotations

import json

import pytest
from emulator_helpers import Qbo, fault_of

pytestmark = pytest.mark.anyio


async def test_given_a_bill_request_when_created_then_server_fields_are_computed(qbo: Qbo) -> None:
    bill = await qbo.create("Bill", qbo.bill_body(120.5, SalesTermRef={"value": qbo.ids["Term"]["Net 30"]},
                                                  TxnDate="2026-03-01"))
    assert bill["Id"].isdigit() and isinstance(bill["Id"], str)
    assert bill["SyncToken"] == "0"
    assert bill["TotalAmt"] == 120.5 and bill["Balance"] == 120.5
    assert bill["DueDate"] == "2026-03-31"  # TxnDate + Net 30
    assert bill["APAccountRef"]["name"] == "Accounts Payable (A/P)"
    assert bill["VendorRef"]["name"] == "Bob's Burger Joint"
    assert bill["MetaData"]["CreateTime"] == bill["MetaData"]["LastUpdatedTime"] == "2026-03-16T10:00:00-08:00"


async def test_given_no_txn_date_when_bill_created_then_it_defaults_to_company_today(qbo: Qbo) -> None:
    bill = await qbo.create("Bill", qbo.bill_body())
    assert bill["TxnDate"] == "2026-03-16"


async def test_given_a_bill_when_fully_updated_then_sync_token_rises_and_omitted_fields_clear(qbo: Qbo) -> None:
    bill = await qbo.create("Bill", qbo.bill_body(PrivateNote="first"))
    body = qbo.bill_body(300.0, Id=bill["Id"], SyncToken=bill["SyncToken"])
    updated = await qbo.create("Bill", body)
    assert updated["SyncToken"] == "1"
    assert updated["TotalAmt"] == 300.0 and updated["Balance"] == 300.0
    assert "PrivateNote" not in updated


async def test_given_a_bill_when_sparse_updated_then_only_sent_fields_change(qbo: Qbo) -> None:
    bill = await qbo.create("Bill", qbo.bill_body(PrivateNote="first", DocNumber="INV-1"))
    updated = await qbo.create("Bill", {"Id": bill["Id"], "SyncToken": "0", "sparse": True, "PrivateNote": "second"})
    assert updated["PrivateNote"] == "second"
    assert updated["DocNumber"] == "INV-1" and updated["TotalAmt"] == 200.0


async def test_given_a_stale_sync_token_when_updating_then_5010_and_nothing_changes(qbo: Qbo) -> None:
    bill = await qbo.create("Bill", qbo.bill_body())
    await qbo.create("Bill", {"Id": bill["Id"], "SyncToken": "0", "sparse": True, "PrivateNote": "a"})
    response = await qbo.post("bill", {"Id": bill["Id"], "SyncToken": "0", "sparse": True, "PrivateNote": "b"})
    assert response.status_code == 400
    assert fault_of(response)["code"] == "5010"
    assert (await qbo.read("Bill", bill["Id"]))["PrivateNote"] == "a"


async def test_given_a_bill_when_deleted_then_deleted_form_is_returned_and_read_fails(qbo: Qbo) -> None:
    bill = await qbo.create("Bill", qbo.bill_body())
    response = await qbo.post("bill", {"Id": bill["Id"], "SyncToken": "0"}, operation="delete")
    assert response.json()["Bill"] == {"status": "Deleted", "domain": "QBO", "Id": bill["Id"]}
    assert fault_of(await qbo.get(f"bill/{bill['Id']}"))["code"] == "610"


async def test_given_a_bill_when_paid_in_two_parts_then_balance_and_links_follow(qbo: Qbo) -> None:
    bill = await qbo.create("Bill", qbo.bill_body(200.0))
    first = await qbo.create("BillPayment", qbo.payment_body(bill, 50.0))
    second = await qbo.create("BillPayment", qbo.payment_body(bill, 150.0))
    read = await qbo.read("Bill", bill["Id"])
    assert read["Balance"] == 0
    assert read["LinkedTxn"] == [{"TxnId": first["Id"], "TxnType": "BillPaymentCheck"},
                                 {"TxnId": second["Id"], "TxnType": "BillPaymentCheck"}]
    assert read["SyncToken"] == "2"  # each payment changed the bill
    assert first["Line"][0]["LinkedTxn"] == [{"TxnId": bill["Id"], "TxnType": "Bill"}]
    assert first["CheckPayment"]["PrintStatus"] == "NeedToPrint"


async def test_given_a_paid_bill_when_payment_voided_then_balance_returns_and_payment_zeroed(qbo: Qbo) -> None:
    bill = await qbo.create("Bill", qbo.bill_body(200.0))
    payment = await qbo.create("BillPayment", qbo.payment_body(bill, 200.0, DocNumber="11"))
    response = await qbo.post("billpayment", {"Id": payment["Id"], "SyncToken": "0", "sparse": True},
                              operation="update", include="void")
    voided = response.json()["BillPayment"]
    assert voided["TotalAmt"] == 0 and voided["Line"] == [] and voided["PrivateNote"] == "Voided"
    assert voided["SyncToken"] == "1" and voided["DocNumber"] == "11"
    read = await qbo.read("Bill", bill["Id"])
    assert read["Balance"] == 200.0 and "LinkedTxn" not in read


async def test_given_a_paid_bill_when_payment_deleted_then_balance_returns(qbo: Qbo) -> None:
    bill = await qbo.create("Bill", qbo.bill_body(80.0))
    payment = await qbo.create("BillPayment", qbo.payment_body(bill, 30.0))
    await qbo.post("billpayment", {"Id": payment["Id"], "SyncToken": "0"}, operation="delete")
    assert (await qbo.read("Bill", bill["Id"]))["Balance"] == 80.0


async def test_given_a_credit_card_payment_when_created_then_bill_links_as_credit_card(qbo: Qbo) -> None:
    bill = await qbo.create("Bill", qbo.bill_body(60.0))
    body = qbo.payment_body(bill, 60.0, PayType="CreditCard",
                            CreditCardPayment={"CCAccountRef": {"value": qbo.account("Visa")}})
    del body["CheckPayment"]
    payment = await qbo.create("BillPayment", body)
    assert payment["CreditCardPayment"]["CCAccountRef"]["name"] == "Visa"
    assert (await qbo.read("Bill", bill["Id"]))["LinkedTxn"][0]["TxnType"] == "BillPaymentCreditCard"


async def test_given_a_vendor_credit_when_applied_in_a_payment_then_both_balances_fall(qbo: Qbo) -> None:
    bill = await qbo.create("Bill", qbo.bill_body(100.0))
    credit = await qbo.create("VendorCredit", qbo.bill_body(30.0))
    assert credit["Balance"] == 30.0
    body = qbo.payment_body(bill, 70.0)
    body["Line"] = [{"Amount": 100.0, "LinkedTxn": [{"TxnId": bill["Id"], "TxnType": "Bill"}]},
                    {"Amount": 30.0, "LinkedTxn": [{"TxnId": credit["Id"], "TxnType": "VendorCredit"}]}]
    payment = await qbo.create("BillPayment", body)
    assert (await qbo.read("Bill", bill["Id"]))["Balance"] == 0
    read_credit = await qbo.read("VendorCredit", credit["Id"])
    assert read_credit["Balance"] == 0
    assert read_credit["LinkedTxn"] == [{"TxnId": payment["Id"], "TxnType": "BillPaymentCheck"}]
    await qbo.post("billpayment", {"Id": payment["Id"], "SyncToken": "0", "sparse": True},
                   operation="update", include="void")
    assert (await qbo.read("VendorCredit", credit["Id"]))["Balance"] == 30.0


async def test_given_a_purchase_order_when_billed_then_both_sides_link_and_po_closes(qbo: Qbo) -> None:
    po = await qbo.create("PurchaseOrder", {
        "VendorRef": {"value": qbo.vendor()}, "APAccountRef": {"value": qbo.account("Accounts Payable (A/P)")},
        "Line": [{"DetailType": "ItemBasedExpenseLineDetail", "Amount": 25.0,
                  "ItemBasedExpenseLineDetail": {"ItemRef": {"value": qbo.ids["Item"]["Garden Supplies"]},
                                                 "Qty": 1, "UnitPrice": 25}}]})
    assert po["POStatus"] == "Open" and po["TotalAmt"] == 25.0
    body = qbo.bill_body(25.0, LinkedTxn=[{"TxnId": po["Id"], "TxnType": "PurchaseOrder"}])
    # A PO closes only when its lines are billed through line links (TxnLineId, qbo-api.md §11a).
    body["Line"][0]["LinkedTxn"] = [{"TxnId": po["Id"], "TxnType": "PurchaseOrder", "TxnLineId": po["Line"][0]["Id"]}]
    bill = await qbo.create("Bill", body)
    assert bill["LinkedTxn"] == [{"TxnId": po["Id"], "TxnType": "PurchaseOrder"}]
    po_read = await qbo.read("PurchaseOrder", po["Id"])
    assert po_read["LinkedTxn"] == [{"TxnId": bill["Id"], "TxnType": "Bill"}]
    assert po_read["POStatus"] == "Closed"
    await qbo.post("bill", {"Id": bill["Id"], "SyncToken": bill["SyncToken"]}, operation="delete")
    po_after = await qbo.read("PurchaseOrder", po["Id"])
    assert po_after["POStatus"] == "Open" and "LinkedTxn" not in po_after


async def test_given_a_bill_when_total_updated_after_partial_payment_then_balance_keeps_paid_part(qbo: Qbo) -> None:
    bill = await qbo.create("Bill", qbo.bill_body(100.0))
    await qbo.create("BillPayment", qbo.payment_body(bill, 40.0))
    current = await qbo.read("Bill", bill["Id"])
    body = qbo.bill_body(150.0, Id=bill["Id"], SyncToken=current["SyncToken"])
    updated = await qbo.create("Bill", body)
    assert updated["Balance"] == 110.0
    assert updated["LinkedTxn"][0]["TxnType"] == "BillPaymentCheck"


async def test_given_name_lists_when_deactivated_then_hidden_from_default_query(qbo: Qbo) -> None:
    vendor = await qbo.create("Vendor", {"DisplayName": "Temp Supplier"})
    assert vendor["Active"] is True and vendor["Balance"] == 0
    await qbo.create("Vendor", {"Id": vendor["Id"], "SyncToken": "0", "sparse": True, "Active": False})
    assert "Vendor" not in await qbo.query("select * from Vendor where DisplayName = 'Temp Supplier'")
    found = await qbo.query("select * from Vendor where DisplayName = 'Temp Supplier' and Active in (true, false)")
    assert found["Vendor"][0]["Active"] is False


async def test_given_each_name_list_entity_when_created_then_readable(qbo: Qbo) -> None:
    cases = {"Account": {"Name": "Freight", "AccountType": "Expense"}, "Item": {"Name": "Desk"},
             "Class": {"Name": "Retail"}, "Department": {"Name": "Remote"}, "Term": {"Name": "Net 45", "DueDays": 45},
             "Customer": {"DisplayName": "Travis Waldron"}}
    for entity, body in cases.items():
        obj = await qbo.create(entity, body)
        assert (await qbo.read(entity, obj["Id"]))["Id"] == obj["Id"]
    assert (await qbo.read("TaxCode", "NON"))["Name"] == "NON"


async def test_given_preferences_and_company_info_when_read_then_book_close_date_appears_once_set(qbo: Qbo) -> None:
    prefs = (await qbo.get("preferences")).json()["Preferences"]
    assert "BookCloseDate" not in prefs["AccountingInfoPrefs"]
    await qbo.control("PUT", f"/companies/{qbo.realm}/closing-date", json={"date": "2026-01-31"})
    prefs = (await qbo.get("preferences")).json()["Preferences"]
    assert prefs["AccountingInfoPrefs"]["BookCloseDate"] == "2026-01-31"
    info = (await qbo.get(f"companyinfo/{qbo.realm}")).json()["CompanyInfo"]
    assert info["CompanyName"] == "Sandbox Company"
    assert (await qbo.query("select * from Preferences"))["Preferences"][0]["Id"] == "1"


async def test_given_a_bill_when_file_uploaded_then_attachable_links_to_it(qbo: Qbo) -> None:
    bill = await qbo.create("Bill", qbo.bill_body())
    meta = json.dumps({"AttachableRef": [{"EntityRef": {"type": "Bill", "value": bill["Id"]}}],
                       "FileName": "inv.pdf", "ContentType": "application/pdf"})
    response = await qbo.client.post(
        qbo.url("upload"), headers=qbo.headers,
        files={"file_metadata_01": (None, meta, "application/json"),
               "file_content_01": ("inv.pdf", b"%PDF-1.4 hello", "application/pdf")})
    assert response.status_code == 200, response.text
    att = response.json()["AttachableResponse"][0]["Attachable"]
    assert att["Size"] == 14 and att["AttachableRef"][0]["IncludeOnSend"] is False
    found = await qbo.query("select * from Attachable where AttachableRef.EntityRef.Type = 'Bill' "
                            f"and AttachableRef.EntityRef.value = '{bill['Id']}'")
    assert found["Attachable"][0]["Id"] == att["Id"]
    temporary_url = (await qbo.get(f"download/{att['Id']}")).text
    assert temporary_url == att["TempDownloadUri"]
    download = await qbo.client.get(temporary_url)
    assert download.content == b"%PDF-1.4 hello"


async def test_given_amounts_sent_as_strings_when_created_then_answered_as_numbers(qbo: Qbo) -> None:
    bill = await qbo.create("Bill", qbo.bill_body("12.50"))
    assert bill["Line"][0]["Amount"] == 12.5 and bill["TotalAmt"] == 12.5
    payment = await qbo.create("BillPayment", qbo.payment_body(bill, "12.50"))
    assert payment["Line"][0]["Amount"] == 12.5 and payment["TotalAmt"] == 12.5
