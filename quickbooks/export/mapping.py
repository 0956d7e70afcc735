"""Our documents as QuickBooks payloads: pure functions, no database, no network.

Rules that shape these payloads (sources in ../shared/reference/qbo-api.md):
- A Bill has no discount line (§1.2), so line and document discounts are folded into the lines:
  each line's Amount is its net after its own discount and its share of the document discount
  (``procurement.money`` spreads that share to the cent), plus its tax. The lines therefore add up
  to our total, and QBO's TotalAmt equals it to the cent.
- Item-based lines must satisfy Amount = Qty × UnitPrice (fault 6070), so the unit price is
  re-derived from the discounted amount. When no unit price with 5 decimals gives the amount back
  exactly, the line is sent as 1 × amount and the real quantity is kept in the description.
- US companies: tax is folded into the amounts with GlobalTaxCalculation "NotApplicable" (US
  companies treat purchase tax as cost, which this matches).
- Every other edition (``quickbooks.tax``): each line's Amount is its net, it carries its tax code,
  the document says "TaxExcluded", and TxnTaxDetail holds the tax per rate as QuickBooks computes
  it (line by line, rate by rate, §11a), so QuickBooks' TotalAmt = Σ Amount + TotalTax = our total.
  (Our prices never include tax, so TaxInclusive is never sent.)
- A bill made from an exported purchase order links each line that matches an order line to that
  line (LinkedTxn with TxnLineId, the form captures show, §11a); QuickBooks closes a fully billed
  order. A bill with no matching line keeps a header link only.
- The Bill's DocNumber is the Supplier Unique Code; our Invoice # goes into PrivateNote. Notes
  are never sent, which is what keeps an "edit without revision" out of QuickBooks.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

UNIT_PRICE_PLACES = Decimal("0.00001")  # "10.5 format"
HALF_CENT = Decimal("0.005")


@dataclass(frozen=True)
class LineSnapshot:
    description: str
    quantity: Decimal
    unit_price: Decimal
    amount: Decimal  # QBO's line Amount: net after all discounts, plus tax when it is folded in
    account_ref: str | None = None
    item_ref: str | None = None
    class_ref: str | None = None
    customer_ref: str | None = None
    tax_code_ref: str | None = None
    po_line_ref: str | None = None  # the purchase order line this line bills (TxnLineId)


@dataclass(frozen=True)
class TaxLineSnapshot:
    """One rate's tax on the document, as QuickBooks computes it (TxnTaxDetail.TaxLine)."""

    rate_ref: str
    percent: Decimal
    net_taxable: Decimal
    amount: Decimal


@dataclass(frozen=True)
class DocumentSnapshot:
    kind: str  # "invoice" or "purchase_order"
    number: str
    supplier_unique_code: str
    vendor_ref: str
    txn_date: dt.date
    due_date: dt.date | None
    currency: str
    exchange_rate: Decimal
    home_currency: str
    lines: tuple[LineSnapshot, ...]
    total: Decimal
    ap_account_ref: str | None = None
    department_ref: str | None = None
    linked_po_ref: str | None = None
    # "NotApplicable": tax folded into the amounts (US); "TaxExcluded": QuickBooks computes it.
    tax_calculation: str = "NotApplicable"
    tax_lines: tuple[TaxLineSnapshot, ...] = ()

    @property
    def tax_total(self) -> Decimal:
        return sum((line.amount for line in self.tax_lines), Decimal("0"))

    @property
    def entity(self) -> str:
        return entity_for(self.kind)


# Which QuickBooks transaction each kind of document becomes (the company chooses one kind at setup).
QBO_ENTITY = {"invoice": "Bill", "purchase_order": "PurchaseOrder", "credit_note": "VendorCredit"}
# The entity in words, for messages.
QBO_WHAT = {"Bill": "bill", "PurchaseOrder": "purchase order", "VendorCredit": "vendor credit"}


def entity_for(kind: str) -> str:
    return QBO_ENTITY[kind]


_MARKER_WORDS = {"invoice": "invoice", "credit_note": "credit note"}


def our_marker(kind: str, number: str) -> str:
    """The PrivateNote we write on every Bill / PurchaseOrder: it tells ours from one a bookkeeper
    typed with the same DocNumber (PrivateNote is not filterable, so it is checked on the rows)."""
    return f"procuresync {_MARKER_WORDS.get(kind, 'purchase order')} {number}"


def item_pricing(quantity: Decimal, amount: Decimal) -> tuple[Decimal, Decimal, bool]:
    """(Qty, UnitPrice, exact) such that Qty × UnitPrice rounds to ``amount`` under any rounding mode.

    How QBO rounds Qty × UnitPrice before comparing is not documented, so the product must lie
    strictly within half a cent of the amount, never on the half-cent boundary.
    """
    if quantity > 0:
        unit_price = (amount / quantity).quantize(UNIT_PRICE_PLACES, rounding=ROUND_HALF_UP)
        if abs(quantity * unit_price - amount) < HALF_CENT:
            return quantity, unit_price, True
    return Decimal("1"), amount, False


def _ref(value: str | None) -> dict[str, str] | None:
    return {"value": value} if value else None


def _line(line: LineSnapshot, number: int, po_ref: str | None = None) -> dict[str, Any]:
    detail: dict[str, Any] = {}
    description = line.description
    if line.item_ref:
        quantity, unit_price, exact = item_pricing(line.quantity, line.amount)
        if not exact:
            description = f"{description} (qty {line.quantity.normalize():f})"
        detail = {"ItemRef": {"value": line.item_ref}, "Qty": quantity, "UnitPrice": unit_price}
        kind = "ItemBasedExpenseLineDetail"
    else:
        detail = {"AccountRef": {"value": line.account_ref}}
        kind = "AccountBasedExpenseLineDetail"
    for key, value in (
        ("ClassRef", line.class_ref),
        ("CustomerRef", line.customer_ref),
        ("TaxCodeRef", line.tax_code_ref),
    ):
        if value:
            detail[key] = {"value": value}
    out: dict[str, Any] = {
        "LineNum": number,
        "Description": description[:4000],
        "Amount": line.amount,
        "DetailType": kind,
        kind: detail,
    }
    if line.po_line_ref and po_ref:
        out["LinkedTxn"] = [{"TxnId": po_ref, "TxnType": "PurchaseOrder", "TxnLineId": line.po_line_ref}]
    return out


def _tax_detail(doc: DocumentSnapshot) -> dict[str, Any]:
    return {
        "TotalTax": doc.tax_total,
        "TaxLine": [
            {
                "Amount": tax.amount,
                "DetailType": "TaxLineDetail",
                "TaxLineDetail": {
                    "TaxRateRef": {"value": tax.rate_ref},
                    "PercentBased": True,
                    "TaxPercent": tax.percent,
                    "NetAmountTaxable": tax.net_taxable,
                },
            }
            for tax in doc.tax_lines
        ],
    }


def _common(doc: DocumentSnapshot) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "VendorRef": {"value": doc.vendor_ref},
        "TxnDate": doc.txn_date.isoformat(),
        "GlobalTaxCalculation": doc.tax_calculation,
        "Line": [_line(line, i, doc.linked_po_ref) for i, line in enumerate(doc.lines, start=1)],
    }
    if doc.tax_calculation == "TaxExcluded":
        payload["TxnTaxDetail"] = _tax_detail(doc)
    if doc.currency and doc.currency != doc.home_currency:
        payload["CurrencyRef"] = {"value": doc.currency}
        payload["ExchangeRate"] = doc.exchange_rate
    optional = {"APAccountRef": _ref(doc.ap_account_ref), "DepartmentRef": _ref(doc.department_ref)}
    payload.update({key: value for key, value in optional.items() if value})
    return payload


def bill_payload(doc: DocumentSnapshot) -> dict[str, Any]:
    payload = _common(doc)
    payload["DocNumber"] = doc.supplier_unique_code
    payload["PrivateNote"] = our_marker(doc.kind, doc.number)
    if doc.due_date:
        payload["DueDate"] = doc.due_date.isoformat()
    if doc.linked_po_ref and not any(line.po_line_ref for line in doc.lines):
        # No line matches an order line: a header link still ties the bill to the order (Intuit's
        # reference documents the header form; it does not bill the order's lines).
        payload["LinkedTxn"] = [{"TxnId": doc.linked_po_ref, "TxnType": "PurchaseOrder"}]
    return payload


def vendor_credit_payload(doc: DocumentSnapshot) -> dict[str, Any]:
    """A supplier credit note: a VendorCredit with the supplier's own number, like a Bill (§1.5)."""
    payload = _common(doc)
    payload["DocNumber"] = doc.supplier_unique_code
    payload["PrivateNote"] = our_marker(doc.kind, doc.number)
    return payload


def purchase_order_payload(doc: DocumentSnapshot) -> dict[str, Any]:
    payload = _common(doc)
    payload["DocNumber"] = doc.number
    payload["PrivateNote"] = our_marker(doc.kind, doc.number)
    if doc.due_date:
        payload["DueDate"] = doc.due_date.isoformat()
    return payload


def payload_for(doc: DocumentSnapshot) -> dict[str, Any]:
    if doc.kind == "invoice":
        return bill_payload(doc)
    if doc.kind == "credit_note":
        return vendor_credit_payload(doc)
    return purchase_order_payload(doc)
