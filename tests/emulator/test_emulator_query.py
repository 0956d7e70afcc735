"""The query language and its envelope (qbo-api.md §3)."""

from __future__ import annotations

import time

import pytest
from emulator_helpers import Qbo, fault_of

pytestmark = pytest.mark.anyio


async def _bills(qbo: Qbo) -> list[dict]:
    out = []
    for day, amount in (("2026-01-05", 10.0), ("2026-01-20", 300.0), ("2026-02-02", 55.5)):
        out.append(await qbo.create("Bill", qbo.bill_body(amount, TxnDate=day, DocNumber=f"D{day}")))
    return out


async def test_given_bills_when_filtered_by_date_range_then_envelope_matches_qbo(qbo: Qbo) -> None:
    await _bills(qbo)
    result = await qbo.query("select * from Bill where TxnDate >= '2026-01-01' and TxnDate <= '2026-01-31' "
                             "orderby Id startposition 1 maxresults 1000")
    assert [b["TxnDate"] for b in result["Bill"]] == ["2026-01-05", "2026-01-20"]
    assert result["startPosition"] == 1 and result["maxResults"] == 2


async def test_given_mixed_case_keywords_when_queried_then_accepted(qbo: Qbo) -> None:
    await _bills(qbo)
    result = await qbo.query("SELECT * FROM bill WHERE TotalAmt > '50.00' ORDER BY TotalAmt DESC MAXRESULTS 5")
    assert [b["TotalAmt"] for b in result["Bill"]] == [300.0, 55.5]


async def test_given_bills_when_counted_then_total_count_only(qbo: Qbo) -> None:
    await _bills(qbo)
    assert await qbo.query("select count(*) from Bill") == {"totalCount": 3}


async def test_given_vendors_when_filtered_by_name_in_and_like_then_matching(qbo: Qbo) -> None:
    exact = await qbo.query("select * from Vendor where DisplayName = 'Bob\\'s Burger Joint'")
    assert exact["Vendor"][0]["Id"] == qbo.vendor()
    ids = [qbo.vendor(), qbo.vendor("Hicks Hardware")]
    found = await qbo.query(f"select * from Vendor where Id in ('{ids[0]}', '{ids[1]}')")
    assert sorted(v["Id"] for v in found["Vendor"]) == sorted(ids)
    like = await qbo.query("select * from Vendor where DisplayName like 'H%'")
    assert {v["DisplayName"] for v in like["Vendor"]} == {"Hicks Hardware", "Hall Properties"}


async def test_given_updates_when_filtering_on_last_updated_time_then_only_newer(qbo: Qbo, clock) -> None:
    old = await qbo.create("Bill", qbo.bill_body())
    clock.advance(minutes=40)  # still inside the access token's hour
    new = await qbo.create("Bill", qbo.bill_body())
    result = await qbo.query("select * from Bill where MetaData.LastUpdatedTime > '2026-03-16T10:30:00-08:00'")
    assert [b["Id"] for b in result["Bill"]] == [new["Id"]]
    assert old["Id"] != new["Id"]


async def test_given_pages_when_paging_with_startposition_then_no_overlap(qbo: Qbo) -> None:
    await _bills(qbo)
    first = await qbo.query("select * from Bill orderby Id startposition 1 maxresults 2")
    second = await qbo.query("select * from Bill orderby Id startposition 3 maxresults 2")
    assert len(first["Bill"]) == 2 and len(second["Bill"]) == 1 and second["startPosition"] == 3
    assert await qbo.query("select * from Bill startposition 10") == {}


async def test_given_bad_syntax_when_queried_then_query_parse_fault(qbo: Qbo) -> None:
    for text in ("select DocNumber from Bill", "select * from Bill where TotalAmt > 1 or TotalAmt < 0",
                 "select * from Nothing", "select * from Bill where Id > '3'"):
        response = await qbo.get("query", query=text)
        assert response.status_code == 400, text
        assert fault_of(response)["code"] in ("4000", "4001")


async def test_given_a_query_by_post_with_text_body_then_answered(qbo: Qbo) -> None:
    response = await qbo.client.post(qbo.url("query"), content="select count(*) from Vendor",
                                     headers={**qbo.headers, "Content-Type": "application/text"})
    assert response.json()["QueryResponse"]["totalCount"] == 5


async def test_given_10k_payments_when_paged_by_1000_then_fast_and_complete(qbo: Qbo) -> None:
    await qbo.control("POST", f"/companies/{qbo.realm}/bulk", json={"bills": 10_000, "start": "2026-02-01"})
    started, seen, position = time.perf_counter(), 0, 1
    while True:
        page = await qbo.query("select * from BillPayment where TxnDate >= '2026-02-01' and TxnDate <= '2026-02-28' "
                               f"orderby Id startposition {position} maxresults 1000")
        seen += len(page.get("BillPayment", []))
        if len(page.get("BillPayment", [])) < 1000:
            break
        position += 1000
    assert seen == 10_000
    assert time.perf_counter() - started < 10  # generous bound; typically well under a second


async def test_given_a_paged_query_when_a_bill_changes_between_pages_then_the_next_page_sees_the_change(
    qbo: Qbo,
) -> None:
    """Later pages reuse the first page's sorted matches only while nothing changed: a fresh scan
    and a continuation always answer the same."""
    bills = [await qbo.create("Bill", qbo.bill_body(10.0 + i, TxnDate="2026-01-05")) for i in range(5)]
    text = "select * from Bill where TxnDate >= '2026-01-01' orderby Id startposition {} maxresults 2"
    first = await qbo.query(text.format(1))
    second = await qbo.query(text.format(3))
    assert [b["Id"] for b in first["Bill"] + second["Bill"]] == [b["Id"] for b in bills[:4]]
    # Bills[1] moves out of the range: every later position shifts by one, as a fresh scan says.
    await qbo.create("Bill", {**bills[1], "TxnDate": "2025-12-31"})
    third = await qbo.query(text.format(3))
    assert [b["Id"] for b in third["Bill"]] == [bills[3]["Id"], bills[4]["Id"]]
    # A new bill in the range shows up on the page it sorts into.
    added = await qbo.create("Bill", qbo.bill_body(99.0, TxnDate="2026-01-06"))
    last = await qbo.query(text.format(5))
    assert [b["Id"] for b in last["Bill"]] == [added["Id"]]
