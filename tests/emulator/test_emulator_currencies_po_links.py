"""Currencies (qbo-api.md §1.6, §11): multicurrency off keeps everything in the home currency; on
(never off again) a transaction is in its vendor's currency. PO ↔ Bill line links (§1.1, §11a):
a PO closes once every line is billed through `TxnLineId`."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from emulator_helpers import Qbo, connect, fault_of

from qbo_emulator.config import EmulatorConfig, Limits
from qbo_emulator.testing import running_emulator

pytestmark = pytest.mark.anyio


# --- currencies ----------------------------------------------------------------------------------

async def test_given_multicurrency_off_when_a_euro_bill_or_vendor_is_saved_then_6000_says_it_is_off(qbo: Qbo) -> None:
    bill = fault_of(await qbo.post("bill", qbo.bill_body(CurrencyRef={"value": "EUR"})))
    vendor = fault_of(await qbo.post("vendor", {"DisplayName": "Papier GmbH", "CurrencyRef": {"value": "EUR"}}))

    assert (bill["code"], bill["element"]) == ("6000", "CurrencyRef")
    assert bill["Detail"] == ("Business Validation Error: Multicurrency is not enabled for this company; "
                              "a transaction in EUR cannot be saved.")
    assert vendor["Detail"].endswith("a vendor in EUR cannot be saved.")
    assert (await qbo.create("Bill", qbo.bill_body(CurrencyRef={"value": "USD"})))["CurrencyRef"] == {
        "value": "USD", "name": "United States Dollar"}


async def test_given_multicurrency_when_turned_on_then_it_shows_in_preferences_and_cannot_be_turned_off(
    qbo: Qbo,
) -> None:
    turned_on = await qbo.control("POST", f"/companies/{qbo.realm}/multicurrency", json={"enabled": True})
    off = await qbo.client.post(f"/_emulator/companies/{qbo.realm}/multicurrency", json={"enabled": False})

    assert turned_on["Preferences"]["CurrencyPrefs"]["MultiCurrencyEnabled"] is True
    assert off.status_code == 400 and "cannot be turned off" in off.json()["error"]
    prefs = await qbo.read("Preferences", "1")
    assert prefs["CurrencyPrefs"] == {"MultiCurrencyEnabled": True, "HomeCurrency": {"value": "USD"}}


async def test_given_multicurrency_on_when_a_bill_differs_from_its_vendors_currency_then_refused(
    client: httpx.AsyncClient,
) -> None:
    qbo = await connect(client, "World Books", multicurrency=True)
    euro = await qbo.create("Vendor", {"DisplayName": "Papier GmbH", "CurrencyRef": {"value": "EUR"}})

    omitted = fault_of(await qbo.post("bill", qbo.bill_body(vendor=euro["Id"])))
    dollars = fault_of(await qbo.post("bill", qbo.bill_body(vendor=euro["Id"], CurrencyRef={"value": "USD"})))
    to_home_vendor = fault_of(await qbo.post("bill", qbo.bill_body(CurrencyRef={"value": "EUR"})))

    assert omitted["Detail"] == ("Business Validation Error: The currency of the transaction must match the "
                                 "vendor's currency (EUR).")
    assert dollars["code"] == "6000" and dollars["Detail"].endswith("(EUR).")
    assert to_home_vendor["Detail"].endswith("(USD).")


async def test_given_multicurrency_on_when_a_euro_bill_is_paid_then_rate_defaults_to_1_and_payment_matches(
    client: httpx.AsyncClient,
) -> None:
    qbo = await connect(client, "World Books", multicurrency=True)
    euro = await qbo.create("Vendor", {"DisplayName": "Papier GmbH", "CurrencyRef": {"value": "EUR"}})
    plain = await qbo.create("Bill", qbo.bill_body(100.0, vendor=euro["Id"], CurrencyRef={"value": "EUR"}))
    rated = await qbo.create("Bill", qbo.bill_body(50.0, vendor=euro["Id"], CurrencyRef={"value": "EUR"},
                                                   ExchangeRate=1.08))

    assert (plain["ExchangeRate"], rated["ExchangeRate"]) == (1, 1.08)
    refused = fault_of(await qbo.post("billpayment", qbo.payment_body(plain, 100.0)))
    assert refused["Detail"].endswith("(EUR).")
    await qbo.create("BillPayment", qbo.payment_body(plain, 100.0, CurrencyRef={"value": "EUR"}))
    assert (await qbo.read("Bill", plain["Id"]))["Balance"] == 0


async def test_given_a_uk_company_then_pounds_are_home_and_dollars_need_multicurrency(
    client: httpx.AsyncClient,
) -> None:
    uk = await connect(client, "UK Books", country="GB")
    line = uk.line(10, "20.0% S")

    await uk.create("Bill", {"VendorRef": {"value": uk.vendor()}, "Line": [line], "CurrencyRef": {"value": "GBP"}})
    refused = fault_of(await uk.post("bill", {"VendorRef": {"value": uk.vendor()}, "Line": [line],
                                              "CurrencyRef": {"value": "USD"}}))
    assert refused["Detail"].endswith("a transaction in USD cannot be saved.")


@pytest.mark.socket
def test_given_running_emulator_when_a_company_is_created_per_country_then_currency_and_edition_follow() -> None:
    with running_emulator(EmulatorConfig(limits=Limits(enabled=False))) as emu:
        canada = emu.create_company("Maple", country="CA", multicurrency=True)
        euro_uk = emu.create_company("Euro UK", country="GB", home_currency="EUR")

    assert (canada["country"], canada["home_currency"], canada["multicurrency"]) == ("CA", "CAD", True)
    assert "GST/PST BC" in canada["ids"]["TaxCode"]
    assert (euro_uk["country"], euro_uk["home_currency"], euro_uk["multicurrency"]) == ("GB", "EUR", False)


# --- PO ↔ Bill line links ------------------------------------------------------------------------

async def purchase_order(qbo: Qbo, *amounts: float, tax_code: str | None = None) -> dict[str, Any]:
    return await qbo.create("PurchaseOrder", {
        "VendorRef": {"value": qbo.vendor()}, "APAccountRef": {"value": qbo.account("Accounts Payable (A/P)")},
        "Line": [qbo.line(amount, tax_code) for amount in amounts]})


def billing(qbo: Qbo, po: dict[str, Any], *parts: tuple[int, float], tax_code: str | None = None) -> dict[str, Any]:
    """A bill whose lines bill (PO line index, amount)."""
    lines = []
    for index, amount in parts:
        line = qbo.line(amount, tax_code)
        line["LinkedTxn"] = [{"TxnId": po["Id"], "TxnType": "PurchaseOrder", "TxnLineId": po["Line"][index]["Id"]}]
        lines.append(line)
    return {"VendorRef": {"value": qbo.vendor()}, "Line": lines}


async def status(qbo: Qbo, po: dict[str, Any]) -> str:
    return str((await qbo.read("PurchaseOrder", po["Id"]))["POStatus"])


async def test_given_a_po_billed_in_full_through_line_links_then_it_closes_and_both_sides_link(qbo: Qbo) -> None:
    po = await purchase_order(qbo, 200.0, 300.0)

    bill = await qbo.create("Bill", billing(qbo, po, (0, 200.0), (1, 300.0)))

    assert bill["LinkedTxn"] == [{"TxnId": po["Id"], "TxnType": "PurchaseOrder"}]
    assert [line["LinkedTxn"][0]["TxnLineId"] for line in bill["Line"]] == ["1", "2"]
    held = await qbo.read("PurchaseOrder", po["Id"])
    assert held["LinkedTxn"] == [{"TxnId": bill["Id"], "TxnType": "Bill"}]
    assert held["POStatus"] == "Closed"


async def test_given_a_po_billed_line_by_line_then_it_stays_open_until_the_last_line_and_reopens_on_delete(
    qbo: Qbo,
) -> None:
    po = await purchase_order(qbo, 200.0, 300.0)

    first = await qbo.create("Bill", billing(qbo, po, (0, 200.0), (1, 100.0)))
    assert await status(qbo, po) == "Open"  # line 2 partly billed
    second = await qbo.create("Bill", billing(qbo, po, (1, 200.0)))
    assert await status(qbo, po) == "Closed"

    await qbo.post("bill", {"Id": second["Id"], "SyncToken": second["SyncToken"]}, operation="delete")
    assert await status(qbo, po) == "Open"
    assert [lt["TxnId"] for lt in (await qbo.read("PurchaseOrder", po["Id"]))["LinkedTxn"]] == [first["Id"]]


async def test_given_a_closed_po_when_its_bill_is_lowered_then_it_reopens(qbo: Qbo) -> None:
    po = await purchase_order(qbo, 200.0)
    bill = await qbo.create("Bill", billing(qbo, po, (0, 200.0)))
    lines = bill["Line"]
    lines[0]["Amount"] = 150.0

    await qbo.create("Bill", {"Id": bill["Id"], "SyncToken": bill["SyncToken"], "sparse": True, "Line": lines})

    assert await status(qbo, po) == "Open"


async def test_given_a_header_only_link_when_the_bill_covers_the_po_then_it_stays_open(qbo: Qbo) -> None:
    po = await purchase_order(qbo, 25.0)

    bill = await qbo.create("Bill", qbo.bill_body(25.0, LinkedTxn=[{"TxnId": po["Id"], "TxnType": "PurchaseOrder"}]))

    assert bill["LinkedTxn"] == [{"TxnId": po["Id"], "TxnType": "PurchaseOrder"}]
    assert await status(qbo, po) == "Open"


async def test_given_a_bad_line_link_when_billed_then_refused(qbo: Qbo) -> None:
    po = await purchase_order(qbo, 200.0)
    wrong_line = billing(qbo, po, (0, 200.0))
    wrong_line["Line"][0]["LinkedTxn"][0]["TxnLineId"] = "99"
    no_line = billing(qbo, po, (0, 200.0))
    del no_line["Line"][0]["LinkedTxn"][0]["TxnLineId"]
    no_po = billing(qbo, po, (0, 200.0))
    no_po["Line"][0]["LinkedTxn"][0]["TxnId"] = "9999"

    invalid = fault_of(await qbo.post("bill", wrong_line))
    missing = fault_of(await qbo.post("bill", no_line))
    unknown = fault_of(await qbo.post("bill", no_po))

    assert (invalid["code"], invalid["element"]) == ("2500", "Line.LinkedTxn.TxnLineId")
    assert invalid["Detail"] == "Invalid Reference Id : PurchaseOrder lines element id 99 not found"
    assert (missing["code"], missing["element"]) == ("2020", "Line.LinkedTxn.TxnLineId")
    assert unknown["code"] == "2500"
    assert await status(qbo, po) == "Open"


async def test_given_a_po_updated_after_billing_then_the_bill_keeps_its_links(qbo: Qbo) -> None:
    po = await purchase_order(qbo, 200.0)
    bill = await qbo.create("Bill", billing(qbo, po, (0, 200.0)))
    held = await qbo.read("PurchaseOrder", po["Id"])

    await qbo.create("PurchaseOrder", {**held, "Memo": "thanks"})

    again = await qbo.read("Bill", bill["Id"])
    assert again["LinkedTxn"] == [{"TxnId": po["Id"], "TxnType": "PurchaseOrder"}]
    assert again["Line"][0]["LinkedTxn"][0]["TxnLineId"] == "1"
    assert await status(qbo, po) == "Closed"


async def test_given_a_uk_po_with_vat_when_its_net_lines_are_billed_then_it_closes(client: httpx.AsyncClient) -> None:
    uk = await connect(client, "UK Books", country="GB")
    po = await purchase_order(uk, 100.0, tax_code="20.0% S")

    bill = await uk.create("Bill", billing(uk, po, (0, 100.0), tax_code="20.0% S"))

    assert (po["TotalAmt"], bill["TotalAmt"]) == (120.0, 120.0)
    assert await status(uk, po) == "Closed"  # line Amounts are net on both sides
