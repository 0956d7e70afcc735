"""CDC (qbo-api.md §4), batch (§6) and requestid replay (§2)."""

from __future__ import annotations

import pytest
from emulator_helpers import Qbo, fault_of

pytestmark = pytest.mark.anyio


async def test_given_changes_when_cdc_called_then_changed_and_deleted_objects_come_back(qbo: Qbo, clock) -> None:
    kept = await qbo.create("Bill", qbo.bill_body())
    gone = await qbo.create("Bill", qbo.bill_body())
    await qbo.post("bill", {"Id": gone["Id"], "SyncToken": "0"}, operation="delete")
    response = await qbo.get("cdc", entities="Bill,BillPayment", changedSince="2026-03-16T09:00:00-08:00")
    body = response.json()
    groups = body["CDCResponse"][0]["QueryResponse"]
    bills = groups[0]["Bill"]
    assert groups[0]["startPosition"] == 1 and groups[0]["maxResults"] == 2
    assert bills[0]["Id"] == kept["Id"]
    assert bills[1] == {"domain": "QBO", "status": "Deleted", "Id": gone["Id"],
                        "MetaData": {"LastUpdatedTime": "2026-03-16T10:00:00-08:00"}}


async def test_given_no_changes_since_when_cdc_called_then_empty_query_response(qbo: Qbo) -> None:
    body = (await qbo.get("cdc", entities="Bill", changedSince="2026-03-16T11:00:00-08:00")).json()
    assert body["CDCResponse"] == [{"QueryResponse": [{}]}]


async def test_given_changed_since_older_than_30_days_when_cdc_called_then_fault(qbo: Qbo) -> None:
    response = await qbo.get("cdc", entities="Bill", changedSince="2026-02-01T00:00:00-08:00")
    assert response.status_code == 400 and "30 days" in fault_of(response)["Detail"]


async def test_given_more_than_1000_changes_when_cdc_called_then_capped_at_1000(qbo: Qbo) -> None:
    await qbo.control("POST", f"/companies/{qbo.realm}/bulk", json={"bills": 700, "start": "2026-03-01"})
    body = (await qbo.get("cdc", entities="Bill,BillPayment", changedSince="2026-03-16T00:00:00-08:00")).json()
    total = sum(group["maxResults"] for group in body["CDCResponse"][0]["QueryResponse"])
    assert total == 1000


async def test_given_control_api_user_changes_when_cdc_called_then_they_appear(qbo: Qbo) -> None:
    bill = await qbo.create("Bill", qbo.bill_body(90.0))
    paid = await qbo.control("POST", f"/companies/{qbo.realm}/bill-payments",
                             json={"pay_type": "Check", "bills": [{"bill_id": bill["Id"], "amount": 40}]})
    body = (await qbo.get("cdc", entities="BillPayment", changedSince="2026-03-16T09:00:00-08:00")).json()
    assert body["CDCResponse"][0]["QueryResponse"][0]["BillPayment"][0]["Id"] == paid["BillPayment"]["Id"]


async def test_given_a_batch_when_posted_then_items_answer_in_order_with_their_own_faults(qbo: Qbo) -> None:
    bill = await qbo.create("Bill", qbo.bill_body(400.0))
    await qbo.create("Bill", {"Id": bill["Id"], "SyncToken": "0", "sparse": True, "PrivateNote": "moved on"})
    response = await qbo.post("batch", {"BatchItemRequest": [
        {"bId": "bid1", "operation": "create", "Vendor": {"DisplayName": "Hicks Hardware"}},
        {"bId": "bid2", "operation": "delete", "Bill": {"Id": "99999", "SyncToken": "0"}},
        {"bId": "bid3", "operation": "update", "Bill": {"Id": bill["Id"], "SyncToken": "0", "sparse": True}},
        {"bId": "bid4", "Query": "select * from Bill where TotalAmt > '300.00'"},
        {"bId": "bid5", "operation": "create", "Vendor": {"DisplayName": "Brand New Supplies"}},
    ]})
    assert response.status_code == 200
    items = response.json()["BatchItemResponse"]
    assert [i["bId"] for i in items] == ["bid1", "bid2", "bid3", "bid4", "bid5"]
    assert [i["Fault"]["Error"][0]["code"] for i in items[:3]] == ["6240", "610", "5010"]
    assert items[3]["QueryResponse"]["Bill"][0]["Id"] == bill["Id"]
    assert items[4]["Vendor"]["DisplayName"] == "Brand New Supplies"


async def test_given_more_than_30_batch_items_when_limits_on_then_refused(qbo: Qbo) -> None:
    await qbo.control("PUT", "/limits", json={"enabled": True})
    items = [{"bId": f"b{i}", "Query": "select count(*) from Bill"} for i in range(31)]
    response = await qbo.post("batch", {"BatchItemRequest": items})
    assert response.status_code == 400
    assert (await qbo.post("batch", {"BatchItemRequest": items[:30]})).status_code == 200


async def test_given_a_batch_void_item_when_posted_then_payment_voided(qbo: Qbo) -> None:
    bill = await qbo.create("Bill", qbo.bill_body(20.0))
    payment = await qbo.create("BillPayment", qbo.payment_body(bill, 20.0))
    response = await qbo.post("batch", {"BatchItemRequest": [
        {"bId": "v", "operation": "update", "optionsData": "void",
         "BillPayment": {"Id": payment["Id"], "SyncToken": "0", "sparse": True}}]})
    assert response.json()["BatchItemResponse"][0]["BillPayment"]["PrivateNote"] == "Voided"


async def test_given_the_same_requestid_when_create_repeated_then_first_answer_and_one_object(qbo: Qbo) -> None:
    first = await qbo.post("bill", qbo.bill_body(DocNumber="R-1"), requestid="req-123")
    again = await qbo.post("bill", qbo.bill_body(DocNumber="R-1"), requestid="req-123")
    assert again.status_code == 200 and again.json() == first.json()
    assert (await qbo.query("select count(*) from Bill where DocNumber = 'R-1'"))["totalCount"] == 1
    other = await qbo.post("bill", qbo.bill_body(DocNumber="R-2"), requestid="req-456")
    assert other.json()["Bill"]["Id"] != first.json()["Bill"]["Id"]


async def test_given_a_requestid_on_another_company_then_not_replayed(client, qbo: Qbo) -> None:
    from emulator_helpers import connect

    other = await connect(client, "Other")
    await qbo.post("bill", qbo.bill_body(), requestid="shared")
    response = await other.post("bill", other.bill_body(), requestid="shared")
    assert "x-emulator-replayed" not in response.headers and response.status_code == 200
