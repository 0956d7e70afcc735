"""Comparing the payload the delivery would send now with the row QuickBooks holds.

The payload is built by ``payload_for``, the code the delivery sends with, so there is no second
mapping to drift from the first. Only what we send is compared: QuickBooks fills in fields of its
own (a due date from the terms, its default tax code and A/P account, Balance, links to payments),
and those are not differences. Each difference names both values, so a person can judge it
without opening QuickBooks.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

from quickbooks.models import DocumentSync
from quickbooks.reconciliation.desired import is_marked
from quickbooks.reconciliation.report import DifferenceKind

CENT = Decimal("0.01")
CLOCK_SKEW = dt.timedelta(minutes=2)


def money(value: object) -> Decimal:
    try:
        return Decimal(str(value if value is not None else 0)).quantize(CENT)
    except InvalidOperation:
        return Decimal("0")


def _number(value: object) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value)).normalize()
    except InvalidOperation:
        return None


def _ref(obj: dict[str, Any] | None, key: str) -> str:
    value = (obj or {}).get(key)
    return str(value.get("value", "")) if isinstance(value, dict) else ""


def _ref_name(obj: dict[str, Any] | None, key: str) -> str:
    value = (obj or {}).get(key)
    return str(value.get("name", "")) if isinstance(value, dict) else ""


_LINE_REFS = (
    ("AccountRef", "account"),
    ("ItemRef", "product"),
    ("ClassRef", "class"),
    ("CustomerRef", "customer"),
    ("TaxCodeRef", "tax code"),
)

TAX_CODE = 4  # position of TaxCodeRef in _LINE_REFS


def _line_view(line: dict[str, Any]) -> tuple[Any, ...]:
    kind = str(line.get("DetailType", ""))
    detail = line.get(kind) or {}
    refs = tuple(_ref(detail, key) for key, _ in _LINE_REFS)
    return (
        kind,
        str(line.get("Description") or ""),
        money(line.get("Amount")),
        refs,
        _number(detail.get("Qty")),
        _number(detail.get("UnitPrice")),
    )


def _describe_line(view: tuple[Any, ...]) -> str:
    _kind, description, amount, refs, qty, unit_price = view
    parts = [f"“{description}”", f"{amount:,.2f}"]
    if qty is not None:
        parts.append(f"{qty:f} × {unit_price:f}" if unit_price is not None else f"qty {qty:f}")
    parts += [f"{label} {value}" for (_, label), value in zip(_LINE_REFS, refs, strict=True) if value]
    return " ".join(parts)


def compare(payload: dict[str, Any], row: dict[str, Any], *, home_currency: str) -> list[tuple[DifferenceKind, str]]:
    """The fields QuickBooks holds that differ from what we would send, as (kind, message) with
    both values. Only what we send is compared: QuickBooks' own fields (Balance, links to
    payments) are not differences."""
    out: list[tuple[DifferenceKind, str]] = []

    def both(what: str, theirs: object, ours: object) -> str:
        return f"{what}: QuickBooks has {theirs or '(none)'}, procuresync {ours or '(none)'}."

    ours_number, theirs_number = str(payload.get("DocNumber") or ""), str(row.get("DocNumber") or "")
    if ours_number != theirs_number:
        out.append((DifferenceKind.DOC_NUMBER, both("Number", theirs_number, ours_number)))

    ours_vendor, theirs_vendor = _ref(payload, "VendorRef"), _ref(row, "VendorRef")
    if ours_vendor != theirs_vendor:
        name = _ref_name(row, "VendorRef")
        theirs_text = f"vendor {theirs_vendor}" + (f" “{name}”" if name else "")
        ours_text = f"vendor {ours_vendor}" if ours_vendor else "vendor not linked yet"
        out.append((DifferenceKind.VENDOR, both("Vendor", theirs_text, ours_text)))

    for key, what in (("TxnDate", "Date"), ("DueDate", "Due date")):
        ours_date = str(payload.get(key) or "")
        theirs_date = str(row.get(key) or "")[:10]
        if key == "DueDate" and not ours_date:
            continue  # QuickBooks fills in a due date from the terms when none is sent
        if ours_date != theirs_date:
            out.append((DifferenceKind.DATE, both(what, theirs_date, ours_date)))

    ours_currency = _ref(payload, "CurrencyRef") or home_currency
    theirs_currency = _ref(row, "CurrencyRef") or home_currency
    if ours_currency.upper() != theirs_currency.upper():
        out.append((DifferenceKind.CURRENCY, both("Currency", theirs_currency, ours_currency)))
    elif "ExchangeRate" in payload and _number(row.get("ExchangeRate")) != _number(payload["ExchangeRate"]):
        out.append((DifferenceKind.CURRENCY, both("Exchange rate", row.get("ExchangeRate"), payload["ExchangeRate"])))

    ours_lines = [_line_view(line) for line in payload.get("Line", [])]
    theirs_lines = [
        _line_view(line)
        for line in row.get("Line", []) or []
        if str(line.get("DetailType", "")) in ("AccountBasedExpenseLineDetail", "ItemBasedExpenseLineDetail")
    ]
    if len(ours_lines) != len(theirs_lines):
        out.append((DifferenceKind.LINES, both("Lines", f"{len(theirs_lines)} line(s)", f"{len(ours_lines)} line(s)")))
    else:
        for number, (theirs_line, ours_line) in enumerate(zip(theirs_lines, ours_lines, strict=True), start=1):
            if not ours_line[3][TAX_CODE]:
                # QuickBooks puts its default tax code (e.g. NON) on lines sent without one.
                refs = list(theirs_line[3])
                refs[TAX_CODE] = ""
                theirs_line = (*theirs_line[:3], tuple(refs), *theirs_line[4:])
            if theirs_line != ours_line:
                message = both(f"Line {number}", _describe_line(theirs_line), _describe_line(ours_line))
                out.append((DifferenceKind.LINES, message))

    # Outside the US QuickBooks adds the tax it computes (TxnTaxDetail) to the lines' amounts.
    ours_tax = money((payload.get("TxnTaxDetail") or {}).get("TotalTax", 0))
    ours_total = sum((money(line.get("Amount")) for line in payload.get("Line", [])), ours_tax)
    theirs_total = money(row.get("TotalAmt"))
    if ours_total != theirs_total:
        out.append((DifferenceKind.TOTAL, both("Total", f"{theirs_total:,.2f}", f"{ours_total:,.2f}")))

    others = [("APAccountRef", "A/P account"), ("DepartmentRef", "Location")]
    for key, what in others:
        ours_ref, theirs_ref = _ref(payload, key), _ref(row, key)
        if key == "APAccountRef" and not ours_ref:
            continue  # QuickBooks' default A/P account, whichever it is
        if ours_ref != theirs_ref:
            out.append((DifferenceKind.OTHER, both(what, theirs_ref, ours_ref)))
    ours_pos, theirs_pos = _order_links(payload), _order_links(row)
    if ours_pos != theirs_pos:
        out.append((DifferenceKind.OTHER, both("Linked purchase order", ", ".join(theirs_pos), ", ".join(ours_pos))))
    marker = str(payload.get("PrivateNote") or "")
    if marker and not is_marked(row, marker):
        out.append((DifferenceKind.OTHER, both("Memo", f"“{row.get('PrivateNote') or ''}”", f"“{marker}”")))
    return out


def _order_links(txn: dict[str, Any]) -> list[str]:
    """The purchase orders a bill is linked to, at the header or on its lines (QuickBooks answers
    both forms; we send line links when lines match the order's)."""
    links = list(txn.get("LinkedTxn", []) or [])
    for line in txn.get("Line", []) or []:
        links += line.get("LinkedTxn", []) or []
    return sorted({str(t.get("TxnId")) for t in links if t.get("TxnType") == "PurchaseOrder"})


def _parse_time(value: object) -> dt.datetime | None:
    try:
        parsed = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def edited_since_written(sync: DocumentSync, row: dict[str, Any]) -> str:
    """Why QuickBooks' copy is newer than what we wrote ("" if it is not): its SyncToken, or
    (with no SyncToken stored) its LastUpdatedTime after we sent it."""
    theirs = str(row.get("SyncToken", ""))
    if sync.sync_token.isdigit() and theirs.isdigit():
        if int(theirs) > int(sync.sync_token):
            return f"SyncToken {theirs}, we wrote {sync.sync_token}"
        return ""
    updated = _parse_time((row.get("MetaData") or {}).get("LastUpdatedTime"))
    if updated and sync.sent_at and updated > sync.sent_at + CLOCK_SKEW:
        return f"last updated {updated:%Y-%m-%d %H:%M}, we sent it {sync.sent_at:%Y-%m-%d %H:%M}"
    return ""
