"""Purchase tax outside the US (qbo-api.md §11a): UK and Canadian tax codes, line-by-line rounding,
TaxExcluded and TaxInclusive, the refusals; and US companies left exactly as they were."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from emulator_helpers import Qbo, connect, fault_of

pytestmark = pytest.mark.anyio


@pytest.fixture
async def uk(client: httpx.AsyncClient) -> Qbo:
    return await connect(client, "UK Books", country="GB")


@pytest.fixture
async def canada(client: httpx.AsyncClient) -> Qbo:
    return await connect(client, "Canada Books", country="CA")


def bill(qbo: Qbo, *lines: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {"VendorRef": {"value": qbo.vendor()}, "Line": list(lines), **fields}


def tax_lines(txn: dict[str, Any]) -> list[tuple[str, float, float, float]]:
    """(TaxRateRef, TaxPercent, NetAmountTaxable, Amount) of each TaxLine."""
    return [(t["TaxLineDetail"]["TaxRateRef"]["value"], t["TaxLineDetail"]["TaxPercent"],
             t["TaxLineDetail"]["NetAmountTaxable"], t["Amount"]) for t in txn["TxnTaxDetail"]["TaxLine"]]


async def test_given_a_uk_bill_with_20_and_5_percent_lines_when_created_then_vat_is_computed_per_rate(uk: Qbo) -> None:
    created = await uk.create("Bill", bill(uk, uk.line(100, "20.0% S"), uk.line(33.33, "5.0% R"),
                                           uk.line(19.99, "20.0% S")))

    # 20 %: 20.00 + 4.00 (19.99 × 0.2 = 3.998); 5 %: 33.33 × 0.05 = 1.6665 → 1.67.
    assert created["GlobalTaxCalculation"] == "TaxExcluded"
    assert tax_lines(created) == [("2", 20, 119.99, 24.0), ("4", 5, 33.33, 1.67)]
    assert all(t["DetailType"] == "TaxLineDetail" and t["TaxLineDetail"]["PercentBased"] is True
               for t in created["TxnTaxDetail"]["TaxLine"])
    assert created["TxnTaxDetail"]["TotalTax"] == 25.67
    assert [line["Amount"] for line in created["Line"]] == [100.0, 33.33, 19.99]
    assert created["TotalAmt"] == created["Balance"] == 178.99


@pytest.mark.parametrize(("amount", "expected_tax"), [
    ("0.25", 0.03),  # 0.0125 → 0.01 on each of three lines; on the total, 0.0375 → 0.04
    ("0.10", 0.03),  # 0.005 → 0.01 each, half up (half even would give 0.00); on the total 0.015 → 0.02
])
async def test_given_three_small_lines_when_taxed_then_each_line_is_rounded_half_up_on_its_own(
    uk: Qbo, amount: str, expected_tax: float,
) -> None:
    created = await uk.create("Bill", bill(uk, *[uk.line(amount, "5.0% R") for _ in range(3)]))

    assert created["TxnTaxDetail"]["TotalTax"] == expected_tax
    assert created["TotalAmt"] == round(3 * float(amount) + expected_tax, 2)


async def test_given_the_published_captures_when_recomputed_then_the_totals_match(uk: Qbo, canada: Qbo) -> None:
    po = await uk.create("PurchaseOrder", bill(uk, uk.line(6617.17, "20.0% S"),
                                               APAccountRef={"value": uk.account("Accounts Payable (A/P)")}))
    gst = await canada.create("Bill", bill(canada, canada.line(400, "GST")))
    hst = await canada.create("VendorCredit", bill(canada, canada.line(6698.22, "HST ON")))

    assert (po["TxnTaxDetail"]["TotalTax"], po["TotalAmt"]) == (1323.43, 7940.60)
    assert (gst["TxnTaxDetail"]["TotalTax"], gst["TotalAmt"]) == (20.0, 420.0)
    assert (hst["TxnTaxDetail"]["TotalTax"], hst["TotalAmt"], hst["Balance"]) == (870.77, 7568.99, 7568.99)


async def test_given_a_gst_pst_bc_line_when_taxed_then_both_purchase_rates_apply_each_rounded(canada: Qbo) -> None:
    created = await canada.create("Bill", bill(canada, canada.line(10.10, "GST/PST BC"), canada.line(100, "GST")))

    # GST 0.505 → 0.51 and PST 0.707 → 0.71 (12 % at once would be 1.21); GST adds the 100.00 line's 5.00.
    assert tax_lines(created) == [("2", 5, 110.1, 5.51), ("6", 7, 10.1, 0.71)]
    assert (created["TxnTaxDetail"]["TotalTax"], created["TotalAmt"]) == (6.22, 116.32)


@pytest.mark.parametrize(("country", "tax_name"), [("GB", "VAT"), ("CA", "GST/HST")])
@pytest.mark.parametrize("entity", ["Bill", "PurchaseOrder", "VendorCredit"])
async def test_given_a_line_without_tax_code_when_saved_outside_the_us_then_6000_asks_for_a_rate(
    client: httpx.AsyncClient, country: str, tax_name: str, entity: str,
) -> None:
    qbo = await connect(client, "Edition Books", country=country)
    body = bill(qbo, qbo.line(50), APAccountRef={"value": qbo.account("Accounts Payable (A/P)")})

    response = await qbo.post(entity.lower(), body)

    assert response.status_code == 400
    error = fault_of(response)
    assert error["code"] == "6000"
    assert error["Detail"] == (f"Business Validation Error: Make sure all your transactions have a {tax_name} "
                               "rate before you save.")


async def test_given_an_unknown_or_us_tax_code_when_used_in_the_uk_then_invalid_reference(uk: Qbo) -> None:
    for code in ("999", "TAX"):
        line = uk.line(50)
        line["AccountBasedExpenseLineDetail"]["TaxCodeRef"] = {"value": code}
        error = fault_of(await uk.post("bill", bill(uk, line)))
        assert error["code"] == "2500"
        assert error["Detail"] == f"Invalid Reference Id : TaxCodes element id {code} not found"


async def test_given_a_sales_only_code_when_used_on_a_purchase_then_6000_names_the_code(uk: Qbo) -> None:
    created = await uk.control("POST", f"/companies/{uk.realm}/seed", json={"tax_codes": [
        {"Name": "Sales 20", "SalesTaxRateList": {"TaxRateDetail": [{"TaxRateRef": {"value": "1"}}]}}]})
    uk.ids["TaxCode"]["Sales 20"] = created["created"]["TaxCode"]["Sales 20"]

    error = fault_of(await uk.post("bill", bill(uk, uk.line(50, "Sales 20"))))

    assert error["code"] == "6000" and "Sales 20" in error["Detail"] and "sales rates only" in error["Detail"]


async def test_given_no_vat_and_zero_rated_lines_when_taxed_then_only_the_zero_rate_appears(uk: Qbo) -> None:
    created = await uk.create("Bill", bill(uk, uk.line(50, "No VAT"), uk.line(20, "0.0% Z")))

    assert tax_lines(created) == [("6", 0, 20.0, 0.0)]
    assert (created["TxnTaxDetail"]["TotalTax"], created["TotalAmt"]) == (0.0, 70.0)


async def test_given_global_tax_calculation_not_applicable_or_unknown_outside_the_us_then_refused(uk: Qbo) -> None:
    refused = fault_of(await uk.post("bill", bill(uk, uk.line(50, "20.0% S"), GlobalTaxCalculation="NotApplicable")))
    unknown = fault_of(await uk.post("bill", bill(uk, uk.line(50, "20.0% S"), GlobalTaxCalculation="Gross")))

    assert (refused["code"], refused["element"]) == ("6000", "GlobalTaxCalculation")
    assert (unknown["code"], unknown["element"]) == ("2170", "GlobalTaxCalculation")


async def test_given_a_client_computed_tax_when_saved_then_the_emulator_recomputes_it(uk: Qbo) -> None:
    line = uk.line(100, "20.0% S", TaxAmount=5)
    created = await uk.create("Bill", bill(uk, line, TotalAmt=1, TxnTaxDetail={"TotalTax": 999, "TaxLine": []}))

    assert (created["TxnTaxDetail"]["TotalTax"], created["TotalAmt"]) == (20.0, 120.0)
    assert "TaxAmount" not in created["Line"][0]["AccountBasedExpenseLineDetail"]


async def test_given_tax_inclusive_lines_when_saved_then_lines_hold_the_net_and_total_is_the_gross(uk: Qbo) -> None:
    created = await uk.create("Bill", bill(uk, uk.line(120, "20.0% S"), uk.line(10, "20.0% S"), uk.line(21, "5.0% R"),
                                           GlobalTaxCalculation="TaxInclusive"))

    # 120 × 20/120 = 20.00; 10 × 20/120 = 1.666… → 1.67; 21 × 5/105 = 1.00.
    assert [line["Amount"] for line in created["Line"]] == [100.0, 8.33, 20.0]
    assert [line["AccountBasedExpenseLineDetail"]["TaxInclusiveAmt"] for line in created["Line"]] == [120, 10, 21]
    assert tax_lines(created) == [("2", 20, 108.33, 21.67), ("4", 5, 20.0, 1.0)]
    assert (created["TotalAmt"], created["Balance"]) == (151.0, 151.0)

    edited = await uk.create("Bill", {"Id": created["Id"], "SyncToken": created["SyncToken"], "sparse": True,
                                      "PrivateNote": "read back and saved"})
    assert [line["Amount"] for line in edited["Line"]] == [100.0, 8.33, 20.0]  # tax not taken off twice
    assert edited["TotalAmt"] == 151.0


async def test_given_tax_inclusive_with_two_rates_when_saved_then_the_tax_is_split_per_rate(canada: Qbo) -> None:
    created = await canada.create("Bill", bill(canada, canada.line(112, "GST/PST BC"),
                                               GlobalTaxCalculation="TaxInclusive"))

    assert created["Line"][0]["Amount"] == 100.0
    assert tax_lines(created) == [("2", 5, 100.0, 5.0), ("6", 7, 100.0, 7.0)]
    assert created["TotalAmt"] == 112.0


async def test_given_a_uk_bill_with_vat_when_paid_in_full_then_the_payment_covers_the_gross(uk: Qbo) -> None:
    created = await uk.create("Bill", bill(uk, uk.line(100, "20.0% S")))
    await uk.create("BillPayment", uk.payment_body(created, 120.0))

    assert (await uk.read("Bill", created["Id"]))["Balance"] == 0


async def test_given_a_us_bill_when_created_then_tax_is_left_alone_as_before(qbo: Qbo) -> None:
    created = await qbo.create("Bill", qbo.bill_body(200.0, GlobalTaxCalculation="NotApplicable"))

    assert created["Line"][0]["AccountBasedExpenseLineDetail"]["TaxCodeRef"] == {"value": "NON"}
    assert "TxnTaxDetail" not in created
    assert created["GlobalTaxCalculation"] == "NotApplicable"
    assert created["TotalAmt"] == created["Balance"] == 200.0
    assert (await qbo.read("CompanyInfo", "1"))["Country"] == "US"
    assert sorted(qbo.ids["TaxCode"]) == ["NON", "TAX"] and qbo.ids["TaxRate"] == {}


async def test_given_a_uk_company_when_tax_lists_are_queried_over_http_then_codes_and_rates_have_qbo_shapes(
    uk: Qbo,
) -> None:
    codes = (await uk.query("select * from TaxCode"))["TaxCode"]
    rates = (await uk.query("SELECT * FROM TaxRate WHERE RateValue = 20"))["TaxRate"]

    assert {c["Name"]: c["Id"] for c in codes} == {"20.0% S": "1", "5.0% R": "2", "0.0% Z": "3", "Exempt": "4",
                                                  "No VAT": "5"}
    standard = next(c for c in codes if c["Name"] == "20.0% S")
    assert standard["SalesTaxRateList"]["TaxRateDetail"] == [
        {"TaxRateRef": {"value": "1", "name": "SS-20.0"}, "TaxTypeApplicable": "TaxOnAmount", "TaxOrder": 0}]
    assert standard["PurchaseTaxRateList"]["TaxRateDetail"][0]["TaxRateRef"] == {"value": "2", "name": "SP-20.0"}
    assert (standard["Active"], standard["Taxable"], standard["TaxGroup"]) == (True, True, False)
    assert [r["Name"] for r in rates] == ["SS-20.0", "SP-20.0"]
    assert set(rates[1]) >= {"Id", "Name", "Description", "Active", "RateValue", "AgencyRef", "SpecialTaxType",
                             "DisplayType"}
    info = await uk.read("CompanyInfo", "1")
    prefs = await uk.read("Preferences", "1")
    assert (info["Country"], info["CompanyAddr"]["Country"]) == ("GB", "GB")
    assert prefs["CurrencyPrefs"] == {"MultiCurrencyEnabled": False, "HomeCurrency": {"value": "GBP"}}


async def test_given_a_canadian_company_then_gst_pst_bc_is_a_group_of_two_purchase_rates(canada: Qbo) -> None:
    code = await canada.read("TaxCode", canada.ids["TaxCode"]["GST/PST BC"])
    rate = await canada.read("TaxRate", "6")

    details = code["PurchaseTaxRateList"]["TaxRateDetail"]
    assert [(d["TaxRateRef"]["value"], d["TaxOrder"], d["TaxTypeApplicable"]) for d in details] == [
        ("2", 0, "TaxOnAmount"), ("6", 1, "TaxOnAmount")]
    assert code["TaxGroup"] is True
    assert (rate["Name"], rate["RateValue"]) == ("PST BC (purchases)", 7)
    assert (await canada.read("Preferences", "1"))["CurrencyPrefs"]["HomeCurrency"] == {"value": "CAD"}


async def test_given_tax_lists_when_written_or_asked_of_cdc_then_refused_as_in_qbo(uk: Qbo) -> None:
    write = await uk.post("taxrate", {"Name": "Mine", "RateValue": 3})
    cdc = await uk.get("cdc", entities="TaxRate", changedSince="2026-03-15T00:00:00-08:00")

    assert fault_of(write)["code"] == "500"
    assert fault_of(cdc)["code"] == "4001"
