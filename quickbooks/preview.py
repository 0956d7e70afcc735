"""What a document will become in QuickBooks, shown before it is approved.

The preview is the payload the delivery would send now — built by the very same
``payload_for(document_snapshot(...))`` — put into words, with every reason QuickBooks would
refuse it or the send would not happen. It reads only our database (the closing date and the
lists as last read from QuickBooks), so looking at it costs no QuickBooks call.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from procurement.models import Document, ListKind, ListOption
from procurement.workflow import FINAL_STATUSES
from quickbooks.connection import closed_books_message
from quickbooks.errors import NotMappable
from quickbooks.export.attachments import is_sendable
from quickbooks.export.mapping import QBO_WHAT, entity_for, payload_for
from quickbooks.export.snapshots import document_snapshot, send_problems
from quickbooks.models import Connection, ConnectionStatus, VendorLink

DOC_NUMBER_MAX = 21  # QuickBooks' DocNumber (qbo-api.md §1.1)
NEW_VENDOR = "(new vendor)"  # stands in for the Id QuickBooks will give a vendor created on sending


@dataclass(frozen=True)
class PreviewWarning:
    code: str
    message: str
    stops: bool  # QuickBooks will refuse it (True), or it is only worth knowing (False)


@dataclass(frozen=True)
class PreviewLine:
    number: int
    description: str
    detail: str  # "Account-based" or "Item-based"
    account: str
    item: str
    quantity: str
    unit_price: str
    line_class: str
    customer: str
    tax_code: str
    amount: Decimal
    order_line: str  # the purchase order line it bills, if any


@dataclass(frozen=True)
class Preview:
    entity: str  # Bill, PurchaseOrder, VendorCredit
    what: str  # in words: "bill"
    vendor: str
    vendor_note: str  # linked, or what sending will do
    doc_number: str
    txn_date: str
    due_date: str
    currency: str
    exchange_rate: Decimal | None  # None: the home currency
    tax_calculation: str
    lines: tuple[PreviewLine, ...]
    tax_total: Decimal
    total: Decimal  # TotalAmt as QuickBooks will compute it
    folding: tuple[str, ...]  # how discounts and tax were put into the lines, in words
    warnings: tuple[PreviewWarning, ...] = ()
    payload: dict[str, Any] | None = field(default=None)  # exactly what would be sent; None: it cannot be

    @property
    def tax_words(self) -> str:
        return {
            "NotApplicable": "included in the line amounts",
            "TaxExcluded": "added by QuickBooks per line, from each line's tax code",
        }.get(self.tax_calculation, self.tax_calculation)

    @property
    def stops(self) -> bool:
        return any(w.stops for w in self.warnings)

    @property
    def refusal(self) -> str:
        """What an approver confirms when approving anyway."""
        reasons = " ".join(w.message for w in self.warnings if w.stops)
        return f"QuickBooks will not accept this document as it is: {reasons} Approve anyway?" if reasons else ""


def document_preview(document: Document, connection: Connection | None) -> Preview | None:
    """The preview, or None when the document does not go to QuickBooks (not connected, a kind
    not sent, cancelled or rejected)."""
    if connection is None or connection.status == ConnectionStatus.NOT_CONNECTED:
        return None
    if not connection.sends(document.kind) or document.status in FINAL_STATUSES:
        return None
    link = VendorLink.objects.filter(supplier_id=document.supplier_id, realm_id=connection.realm_id).first()
    warnings: list[PreviewWarning] = []
    payload: dict[str, Any] | None
    try:
        vendor_ref = link.qbo_id if link is not None else NEW_VENDOR
        payload = payload_for(document_snapshot(document=document, connection=connection, vendor_ref=vendor_ref))
    except NotMappable as exc:
        # The snapshot stops at the first problem; the approver is told all of them.
        payload = None
        warnings = [PreviewWarning(p.code, p.message, True) for p in send_problems(document, connection)]
        if exc.message not in {w.message for w in warnings}:
            warnings.append(PreviewWarning(exc.code, exc.message, True))
    warnings += _other_warnings(document, connection, payload)
    entity = entity_for(document.kind)
    return Preview(
        entity=entity,
        what=QBO_WHAT[entity],
        vendor=link.qbo_name if link is not None else document.supplier.name,
        vendor_note=(
            f"linked ({link.how}), QuickBooks vendor {link.qbo_id}"
            if link is not None
            else "not linked yet: sending links the QuickBooks vendor of this name, or creates it"
        ),
        doc_number=str((payload or {}).get("DocNumber", "")),
        txn_date=str((payload or {}).get("TxnDate", document.issue_date.isoformat())),
        due_date=str((payload or {}).get("DueDate", "")),
        currency=document.currency,
        exchange_rate=(payload or {}).get("ExchangeRate"),
        tax_calculation=str((payload or {}).get("GlobalTaxCalculation", "")),
        lines=_lines(document.company_id, payload),
        tax_total=_tax_total(payload),
        total=_total(payload),
        folding=_folding(document, payload),
        warnings=tuple(warnings),
        payload=payload,
    )


def _other_warnings(document: Document, connection: Connection, payload: dict[str, Any] | None) -> list[PreviewWarning]:
    out: list[PreviewWarning] = []
    close = connection.book_close_date
    if close is not None and document.issue_date <= close:
        message = closed_books_message(document_date=document.issue_date, close_date=close, number=document.number)
        out.append(PreviewWarning("closed_period", message, True))
    number = str((payload or {}).get("DocNumber", ""))
    if len(number) > DOC_NUMBER_MAX:
        out.append(
            PreviewWarning(
                "doc_number_too_long",
                f"The number “{number}” has {len(number)} characters; QuickBooks takes {DOC_NUMBER_MAX} at most. "
                "Shorten it (for a purchase order: a shorter number prefix on Settings).",
                True,
            )
        )
    kept = [a.name for a in document.attachments.all() if not is_sendable(a)]
    if kept:
        out.append(
            PreviewWarning(
                "attachments_kept",
                f"Not sent to QuickBooks, which does not take these file types: {', '.join(kept)}.",
                False,
            )
        )
    if not connection.auto_send and not document.revision:
        out.append(
            PreviewWarning(
                "auto_send_off",
                "Automatic sending is off (Integrations settings): after approval, press Send to QuickBooks.",
                False,
            )
        )
    return out


def _names(company_id: int, payload: dict[str, Any] | None) -> dict[tuple[str, str], str]:
    """(list kind, QuickBooks id) → the name we imported, for every ref on the lines."""
    ids = set()
    for line in (payload or {}).get("Line", []):
        detail = line.get(line.get("DetailType", ""), {})
        ids |= {str(ref.get("value")) for ref in detail.values() if isinstance(ref, dict) and ref.get("value")}
    options = ListOption.objects.filter(company_id=company_id, external_id__in=ids).values_list(
        "kind", "external_id", "name"
    )
    return {(kind, external_id): name for kind, external_id, name in options}


_REFS = {
    "AccountRef": ListKind.ACCOUNT,
    "ItemRef": ListKind.ITEM,
    "ClassRef": ListKind.CLASS,
    "CustomerRef": ListKind.CUSTOMER_PROJECT,
    "TaxCodeRef": ListKind.TAX_CODE,
}


def _lines(company_id: int, payload: dict[str, Any] | None) -> tuple[PreviewLine, ...]:
    names = _names(company_id, payload)
    out = []
    for number, line in enumerate((payload or {}).get("Line", []), start=1):
        kind = str(line.get("DetailType", ""))
        detail = line.get(kind, {})

        def named(key: str, detail: dict[str, Any] = detail) -> str:
            ref = str((detail.get(key) or {}).get("value", ""))
            return names.get((_REFS[key], ref), ref) if ref else ""

        links = line.get("LinkedTxn") or []
        out.append(
            PreviewLine(
                number=number,
                description=str(line.get("Description", "")),
                detail="Item-based" if kind.startswith("Item") else "Account-based",
                account=named("AccountRef"),
                item=named("ItemRef"),
                quantity=f"{detail['Qty']}" if "Qty" in detail else "",
                unit_price=f"{detail['UnitPrice']}" if "UnitPrice" in detail else "",
                line_class=named("ClassRef"),
                customer=named("CustomerRef"),
                tax_code=named("TaxCodeRef"),
                amount=Decimal(str(line.get("Amount", "0"))),
                order_line=f"purchase order line {links[0]['TxnLineId']}" if links else "",
            )
        )
    return tuple(out)


def _tax_total(payload: dict[str, Any] | None) -> Decimal:
    return Decimal(str(((payload or {}).get("TxnTaxDetail") or {}).get("TotalTax", "0")))


def _total(payload: dict[str, Any] | None) -> Decimal:
    lines = sum((Decimal(str(line.get("Amount", "0"))) for line in (payload or {}).get("Line", [])), Decimal("0"))
    return lines + _tax_total(payload)


def _folding(document: Document, payload: dict[str, Any] | None) -> tuple[str, ...]:
    out = []
    if document.discount_total:
        out.append(
            f"The document discount of {document.discount_total:,.2f} is spread over the lines in proportion to "
            "their amounts: a QuickBooks bill has no discount line."
        )
    if any(line.discount_type for line in document.lines.all()):
        out.append("Each line's own discount is taken off its amount.")
    if payload is not None and payload.get("GlobalTaxCalculation") == "NotApplicable" and document.tax_total:
        out.append(f"Tax of {document.tax_total:,.2f} is included in the line amounts (US companies book it as cost).")
    if payload is not None and payload.get("GlobalTaxCalculation") == "TaxExcluded":
        out.append("QuickBooks adds tax per line from each line's tax code; the amounts are before tax.")
    return tuple(out)
