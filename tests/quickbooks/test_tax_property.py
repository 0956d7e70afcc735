"""Property: for a UK or Canadian company, whatever the lines, rates and discounts, the TotalAmt
QuickBooks computes for the bill we send equals our total to the cent.

Our side is the product's own code (``procurement.money`` with the rates of each line's tax code,
``quickbooks.tax`` and ``quickbooks.export.mapping``); QuickBooks' side is the emulator's ledger,
which computes tax line by line and rate by rate as QuickBooks does (qbo-api.md §11a).
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from procurement import money
from qbo_emulator.app import create_app
from qbo_emulator.config import EmulatorConfig, Limits
from qbo_emulator.models import Company
from qbo_emulator.seed import create_company
from quickbooks.export.mapping import DocumentSnapshot, LineSnapshot, TaxLineSnapshot, payload_for
from quickbooks.tax import TaxCode, TaxRate

D = Decimal
EMULATOR = create_app(EmulatorConfig(limits=Limits(enabled=False))).state.emulator
COMPANIES = {country: create_company(EMULATOR, country=country) for country in ("GB", "CA")}


def purchase_codes(company: Company) -> list[TaxCode]:
    """The company's tax codes as the product imports them (purchase rates with their RateValue)."""
    rates = company.table("TaxRate")
    codes = []
    for code in company.table("TaxCode").values():
        details = sorted((code.get("PurchaseTaxRateList") or {}).get("TaxRateDetail", []), key=lambda d: d["TaxOrder"])
        if not details and (code.get("SalesTaxRateList") or {}).get("TaxRateDetail"):
            continue  # sales only: never on a purchase
        parts = tuple(
            TaxRate(
                d["TaxRateRef"]["value"],
                rates[d["TaxRateRef"]["value"]]["Name"],
                D(str(rates[d["TaxRateRef"]["value"]]["RateValue"])),
            )
            for d in details
        )
        codes.append(TaxCode(option_id=0, ref=code["Id"], name=code["Name"], rates=parts))
    return codes


CODES = {country: purchase_codes(company) for country, company in COMPANIES.items()}

cents = st.integers(min_value=0, max_value=10**6).map(lambda c: D(c) / 100)
lines = st.lists(
    st.tuples(
        st.integers(min_value=1, max_value=50_000).map(lambda q: D(q) / 100),  # quantity
        st.integers(min_value=0, max_value=500_000).map(lambda p: D(p) / 10_000),  # unit price, 4 decimals
        st.sampled_from(["", "percent", "amount"]),
        st.integers(min_value=0, max_value=100),  # line discount: percent, or % of the gross as an amount
        st.integers(min_value=0, max_value=10),  # which tax code
    ),
    min_size=1,
    max_size=6,
)


def _line_input(line: tuple[Decimal, Decimal, str, int, int], code: TaxCode) -> money.LineInput:
    quantity, unit_price, discount_type, discount, _ = line
    gross = quantity * unit_price
    value = D(discount) if discount_type == "percent" else (gross * discount / 100).quantize(D("0.0001"))
    if discount_type == "amount" and value > gross:
        value = gross.quantize(D("0.0001"), rounding="ROUND_DOWN")
    return money.LineInput(
        quantity,
        unit_price,
        discount_type,
        value,
        tax_rate=code.percent,
        tax_components=tuple(rate.percent for rate in code.rates),
    )


def _jsonable(payload: dict[str, Any]) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(json.dumps(payload, default=str))
    return loaded


@settings(max_examples=150, deadline=None)
@given(
    country=st.sampled_from(["GB", "CA"]),
    drawn=lines,
    document_discount=st.sampled_from(["", "percent", "amount"]),
    discount_share=st.integers(min_value=0, max_value=100),
)
def test_given_any_lines_rates_and_discounts_then_quickbooks_total_equals_ours(
    country: str, drawn: list[Any], document_discount: str, discount_share: int
) -> None:
    company = COMPANIES[country]
    codes = [CODES[country][line[4] % len(CODES[country])] for line in drawn]
    inputs = [_line_input(line, code) for line, code in zip(drawn, codes, strict=True)]
    subtotal = sum((money.line_net(i)[1] for i in inputs), D("0"))
    discount_value = D(discount_share) if document_discount == "percent" else subtotal * discount_share / 100
    ours = money.document_totals(inputs, document_discount, discount_value.quantize(D("0.01"), rounding="ROUND_DOWN"))

    taxes: dict[TaxRate, list[Decimal]] = {}
    snapshot_lines = []
    for number, (code, totals) in enumerate(zip(codes, ours.lines, strict=True), start=1):
        net = totals.net_after_document_discount
        for rate, tax in code.tax_on(net):
            parts = taxes.setdefault(rate, [D("0"), D("0")])
            parts[0] += net
            parts[1] += tax
        snapshot_lines.append(
            LineSnapshot(f"Line {number}", D("1"), net, net, account_ref=_expense(company), tax_code_ref=code.ref)
        )
    snapshot = DocumentSnapshot(
        kind="invoice",
        number="INV-1",
        supplier_unique_code="P-1",
        vendor_ref=next(iter(company.table("Vendor"))),
        txn_date=dt.date(2026, 11, 2),
        due_date=None,
        currency="",
        exchange_rate=D("1"),
        home_currency="",
        lines=tuple(snapshot_lines),
        total=ours.total,
        tax_calculation="TaxExcluded",
        tax_lines=tuple(TaxLineSnapshot(r.ref, r.percent, p[0], p[1]) for r, p in taxes.items()),
    )

    bill = EMULATOR.ledger(company).create("Bill", _jsonable(payload_for(snapshot)), allow_duplicate_docnum=True)

    assert D(str(bill["TotalAmt"])).quantize(D("0.01")) == ours.total
    assert D(str(bill["TxnTaxDetail"]["TotalTax"])).quantize(D("0.01")) == ours.tax_total


def _expense(company: Company) -> str:
    return next(a["Id"] for a in company.table("Account").values() if a.get("AccountType") == "Expense")
