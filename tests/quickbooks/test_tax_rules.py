"""The tax rules on their own (no QuickBooks): rounding rate by rate, and the payload outside the US."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from procurement import money
from quickbooks.export.mapping import DocumentSnapshot, LineSnapshot, TaxLineSnapshot, payload_for
from quickbooks.tax import TaxCode, TaxRate

D = Decimal
GST, PST = TaxRate("1", "GST", D("5")), TaxRate("2", "PST BC", D("7"))


def test_given_a_code_of_two_rates_then_each_rate_is_rounded_on_its_own():
    code = TaxCode(option_id=1, ref="9", name="GST/PST BC", rates=(GST, PST))

    assert code.percent == D("12")
    assert code.tax_on(D("10.10")) == [(GST, D("0.51")), (PST, D("0.71"))]


def test_given_tax_components_then_the_document_total_follows_them_and_a_single_rate_is_unchanged():
    one_rate = money.LineInput(D("1"), D("10.10"), tax_rate=D("12"))
    two_rates = money.LineInput(D("1"), D("10.10"), tax_rate=D("12"), tax_components=(D("5"), D("7")))

    assert money.document_totals([one_rate]).total == D("11.31")
    assert money.document_totals([two_rates]).total == D("11.32")


def _snapshot(**kwargs: object) -> DocumentSnapshot:
    base: dict[str, object] = dict(
        kind="invoice",
        number="INV-00001",
        supplier_unique_code="VAT-1",
        vendor_ref="56",
        txn_date=dt.date(2026, 11, 2),
        due_date=None,
        currency="GBP",
        exchange_rate=D("1"),
        home_currency="GBP",
        lines=(LineSnapshot("Paper", D("2"), D("10"), D("20.00"), account_ref="7", tax_code_ref="3"),),
        total=D("24.00"),
    )
    base.update(kwargs)
    return DocumentSnapshot(**base)  # type: ignore[arg-type]


def test_given_tax_computed_by_quickbooks_then_the_payload_is_tax_excluded_with_its_tax_detail():
    tax = TaxLineSnapshot(rate_ref="SP-20", percent=D("20"), net_taxable=D("20.00"), amount=D("4.00"))

    payload = payload_for(_snapshot(tax_calculation="TaxExcluded", tax_lines=(tax,)))

    assert payload["GlobalTaxCalculation"] == "TaxExcluded"
    assert payload["Line"][0]["AccountBasedExpenseLineDetail"]["TaxCodeRef"] == {"value": "3"}
    assert payload["TxnTaxDetail"]["TotalTax"] == D("4.00")
    assert payload["TxnTaxDetail"]["TaxLine"][0]["TaxLineDetail"]["TaxRateRef"] == {"value": "SP-20"}


def test_given_a_us_company_then_the_payload_has_no_tax_detail():
    payload = payload_for(_snapshot(currency="USD", home_currency="USD"))

    assert payload["GlobalTaxCalculation"] == "NotApplicable"
    assert "TxnTaxDetail" not in payload


def test_given_lines_that_bill_order_lines_then_each_carries_its_order_line_and_no_header_link_is_sent():
    lines = (LineSnapshot("Chairs", D("4"), D("50"), D("200"), account_ref="7", po_line_ref="2"),)

    payload = payload_for(_snapshot(lines=lines, linked_po_ref="130"))

    assert payload["Line"][0]["LinkedTxn"] == [{"TxnId": "130", "TxnType": "PurchaseOrder", "TxnLineId": "2"}]
    assert "LinkedTxn" not in payload


def test_given_no_line_matches_the_order_then_the_bill_keeps_a_header_link():
    payload = payload_for(_snapshot(linked_po_ref="130"))

    assert payload["LinkedTxn"] == [{"TxnId": "130", "TxnType": "PurchaseOrder"}]


def test_given_a_credit_note_then_it_becomes_a_vendor_credit_numbered_with_the_supplier_code():
    payload = payload_for(_snapshot(kind="credit_note", supplier_unique_code="CN-77", number="CN-00001"))

    assert payload["DocNumber"] == "CN-77"
    assert payload["PrivateNote"] == "procuresync credit note CN-00001"
    assert "DueDate" not in payload
