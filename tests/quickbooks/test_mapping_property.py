"""For random documents with line and document discounts, QBO accepts the payload and its TotalAmt
equals our total to the cent (item lines included, which QBO checks as Amount = Qty × UnitPrice)."""

import datetime as dt
import itertools
from decimal import Decimal

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from procurement.money import LineInput, document_totals
from quickbooks.client import QboClient
from quickbooks.export.mapping import DocumentSnapshot, LineSnapshot, bill_payload, item_pricing

D = Decimal
quantities = st.decimals(min_value=D("0.0001"), max_value=D("5000"), places=4)
prices = st.decimals(min_value=D("0"), max_value=D("20000"), places=4)
percents = st.decimals(min_value=D("0"), max_value=D("100"), places=2)


@st.composite
def documents(draw):
    raw = []
    for _ in range(draw(st.integers(1, 8))):
        quantity, price = draw(quantities), draw(prices)
        kind = draw(st.sampled_from(["", "percent", "amount"]))
        value = (
            draw(percents)
            if kind == "percent"
            else draw(st.decimals(min_value=D("0"), max_value=quantity * price, places=2))
            if kind == "amount"
            else D("0")
        )
        tax = draw(st.sampled_from([D("0"), D("0"), D("8.875"), D("20")]))
        raw.append((LineInput(quantity, price, kind, value, tax), draw(st.booleans())))
    inputs = [r[0] for r in raw]
    kind = draw(st.sampled_from(["", "percent", "amount"]))
    subtotal = document_totals(inputs).subtotal
    value = (
        draw(percents)
        if kind == "percent"
        else draw(st.decimals(min_value=D("0"), max_value=subtotal, places=2))
        if kind == "amount"
        else D("0")
    )
    return raw, kind, value


class FixedToken:
    def __init__(self, token: str) -> None:
        self.token = token

    def access_token(self) -> str:
        return self.token

    def refresh(self, rejected_token: str) -> str:
        raise AssertionError("no refresh expected")


@pytest.fixture(scope="module")
def qbo_company(emulator):
    realm = emulator.create_company("Property Books")["realmId"]
    client = QboClient(
        base_url=emulator.base_url,
        realm_id=realm,
        tokens=FixedToken(emulator.tokens(realm)["access_token"]),
        http=httpx.Client(timeout=30),
    )
    vendor = client.query("SELECT * FROM Vendor MAXRESULTS 1")["Vendor"][0]["Id"]
    accounts = client.query("SELECT * FROM Account WHERE AccountType = 'Expense' MAXRESULTS 1")["Account"]
    items = client.query("SELECT * FROM Item MAXRESULTS 1")["Item"]
    return client, vendor, accounts[0]["Id"], items[0]["Id"]


def test_item_pricing_gives_the_amount_back_or_falls_back_to_one_unit():
    assert item_pricing(D("3"), D("10.00")) == (D("3"), D("3.33333"), True)
    quantity, unit_price, _ = item_pricing(D("0.0001"), D("12345.67"))
    assert (quantity * unit_price).quantize(D("0.01")) == D("12345.67")


counter = itertools.count(1)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(documents())
def test_property_qbo_total_equals_ours(qbo_company, doc):
    client, vendor, account, item = qbo_company
    raw, discount_type, discount_value = doc
    totals = document_totals([r[0] for r in raw], discount_type, discount_value)
    lines = tuple(
        LineSnapshot(
            description=f"line {i}",
            quantity=li.quantity,
            unit_price=li.unit_price,
            amount=lt.net_after_document_discount + lt.tax,
            account_ref=None if use_item else account,
            item_ref=item if use_item else None,
        )
        for i, ((li, use_item), lt) in enumerate(zip(raw, totals.lines, strict=True))
    )
    number = next(counter)
    snapshot = DocumentSnapshot(
        kind="invoice",
        number=f"INV-{number}",
        supplier_unique_code=f"PROP-{number}",
        vendor_ref=vendor,
        txn_date=dt.date(2026, 11, 2),
        due_date=None,
        currency="USD",
        exchange_rate=D("1"),
        home_currency="USD",
        lines=lines,
        total=totals.total,
    )
    bill = client.create("Bill", bill_payload(snapshot), request_id=f"prop-{number}")
    assert D(str(bill["TotalAmt"])) == totals.total
