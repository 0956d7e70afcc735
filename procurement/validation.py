"""Checks a document's input as a whole and names every field that is wrong, before anything is saved."""

from __future__ import annotations

import datetime as dt
import unicodedata
from decimal import Decimal

from accounts.models import User
from procurement import money
from procurement.inputs import DocumentData, LineData
from procurement.models import (
    CustomField,
    Document,
    DocumentKind,
    ListKind,
    ListOption,
    Status,
    Supplier,
    carries_supplier_code,
)
from procuresync.errors import ValidationFailed

_MAX_AMOUNT = Decimal("9999999999999")  # fits Decimal(18, 4) and QuickBooks' amount limits
_MAX_AMOUNT_TEXT = f"{_MAX_AMOUNT:,}"
# Dates a document or payment may carry: Python and the databases take years 1 to 9999, but a date
# outside this window is a typo (or an attack) and QuickBooks would refuse or misfile it.
EARLIEST_DATE = dt.date(1900, 1, 1)
LATEST_DATE = dt.date(2099, 12, 31)
DATE_RANGE_MESSAGE = f"Enter a date between {EARLIEST_DATE.isoformat()} and {LATEST_DATE.isoformat()}."
NOTES_MAX = 4000  # a document's notes
COMMENT_MAX = 2000  # the comment of a workflow step (e.g. why it was rejected)
_LIST_FIELDS = (
    ("account_id", ListKind.ACCOUNT),
    ("class_id", ListKind.CLASS),
    ("customer_project_id", ListKind.CUSTOMER_PROJECT),
    ("item_id", ListKind.ITEM),
    ("tax_code_id", ListKind.TAX_CODE),
)


def date_in_range(value: dt.date) -> bool:
    return EARLIEST_DATE <= value <= LATEST_DATE


def has_control_characters(value: str, *, multiline: bool = False) -> bool:
    """NUL (which PostgreSQL refuses in text) and the other control characters; ``multiline`` text
    may hold line breaks and tabs."""
    allowed = "\n\r\t" if multiline else ""
    return any(unicodedata.category(char) == "Cc" and char not in allowed for char in value)


def text_errors(value: str, *, what: str, max_length: int, multiline: bool = False) -> list[str]:
    """The messages for a piece of text a service stores: too long, or holding control characters."""
    errors = []
    if len(value) > max_length:
        errors.append(f"{what} has at most {max_length} characters (it has {len(value)}).")
    if has_control_characters(value, multiline=multiline):
        errors.append(f"{what} cannot contain control characters such as NUL.")
    return errors


def _check_decimal_places(value: Decimal, places: int) -> bool:
    exponent = value.as_tuple().exponent
    return isinstance(exponent, int) and -exponent <= places


def _line_errors(index: int, line: LineData, option_ids: dict[str, set[int]]) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    prefix = f"lines.{index}."

    def add(name: str, message: str) -> None:
        errors.setdefault(prefix + name, []).append(message)

    if not line.description.strip():
        add("description", "Describe what is bought on this line.")
    if line.quantity <= 0:
        add("quantity", "Quantity must be greater than zero.")
    elif line.quantity > _MAX_AMOUNT:
        add("quantity", f"Quantity is at most {_MAX_AMOUNT_TEXT}.")
    elif not _check_decimal_places(line.quantity, 4):
        add("quantity", "Quantity takes at most 4 decimals.")
    if line.unit_price < 0:
        add("unit_price", "Unit price cannot be negative.")
    elif line.unit_price > _MAX_AMOUNT:
        add("unit_price", f"Unit price is at most {_MAX_AMOUNT_TEXT}.")
    elif not _check_decimal_places(line.unit_price, 4):
        add("unit_price", "Unit price takes at most 4 decimals.")
    elif not errors and line.quantity * line.unit_price > _MAX_AMOUNT:
        # Each may be within bounds while the product overflows the amount columns.
        add("unit_price", f"The line's amount (quantity × unit price) is at most {_MAX_AMOUNT_TEXT}.")
    if line.tax_rate < 0 or line.tax_rate > 100:
        add("tax_rate", "Tax rate is a percentage between 0 and 100.")
    if line.discount_type not in ("", "percent", "amount"):
        add("discount_type", "Discount is a percent or an amount.")
    elif line.discount_type and not errors:
        if line.discount_value < 0:
            add("discount_value", "A discount cannot be negative.")
        else:
            try:
                money.discount_amount(line.quantity * line.unit_price, line.discount_type, line.discount_value)
            except money.DiscountTooLarge as exc:
                add("discount_value", str(exc))
    for attr, kind in _LIST_FIELDS:
        value = getattr(line, attr)
        if value is not None and value not in option_ids[kind]:
            add(attr.removesuffix("_id"), f"Choose a {ListKind(kind).label.lower()} from the list.")
    return errors


def _supplier_code_errors(kind: str, code: str, supplier: Supplier | None, document: Document | None) -> list[str]:
    """The Supplier Unique Code of an invoice or a credit note: required, fits QuickBooks, and used
    once per supplier among that kind's documents that are not cancelled."""
    what = DocumentKind(kind).label.lower()
    if not code:
        return [f"Enter the supplier's own {what} number (Supplier Unique Code)."]
    if len(code) > 21:
        # QuickBooks' DocNumber holds at most 21 characters and the Bill (VendorCredit) shows this code.
        return ["The Supplier Unique Code has at most 21 characters (QuickBooks' limit)."]
    if supplier is None:
        return []
    duplicate = Document.objects.filter(supplier=supplier, kind=kind, supplier_unique_code__iexact=code).exclude(
        status=Status.CANCELLED
    )
    if document is not None:
        duplicate = duplicate.exclude(pk=document.pk)
    if duplicate.exists():
        return [f"{supplier.name} already has {what} {duplicate.first()} with the code {code!r}."]
    return []


# An invoice in these statuses can no longer be credited: it never was (or no longer is) owed.
_NOT_CREDITABLE = frozenset({Status.CANCELLED, Status.REJECTED})


def _credited_invoice_errors(company_id: int, invoice_id: int, supplier: Supplier | None) -> list[str]:
    """A credit note credits an invoice of the same company and supplier that still stands."""
    invoice = Document.objects.filter(company_id=company_id, kind=DocumentKind.INVOICE, pk=invoice_id).first()
    if invoice is None:
        return ["Choose one of your invoices."]
    if supplier is not None and invoice.supplier_id != supplier.pk:
        return [f"Invoice {invoice.number} is from another supplier; a credit note credits an invoice of its own."]
    if invoice.status in _NOT_CREDITABLE:
        return [f"Invoice {invoice.number} is {invoice.get_status_display()}; there is nothing to credit."]
    return []


def validate_document(
    *, actor: User, kind: str, data: DocumentData, document: Document | None
) -> tuple[Supplier, Decimal]:
    """Return the supplier and exchange rate to use, or raise ValidationFailed naming every bad field."""
    errors: dict[str, list[str]] = {}
    company = actor.company
    assert company is not None
    if kind not in DocumentKind.values:
        raise ValidationFailed(f"Unknown document kind {kind!r}.", field="kind")

    supplier = Supplier.objects.filter(company_id=company.pk, pk=data.supplier_id).first()
    if supplier is None:
        errors["supplier"] = ["Choose one of your suppliers."]
    elif not supplier.is_active and (document is None or document.supplier_id != supplier.pk):
        errors["supplier"] = [f"{supplier.name} is inactive; reactivate the supplier or choose another."]

    currency = (data.currency or (supplier.currency if supplier else "")).upper()
    if supplier and currency != supplier.currency:
        errors["currency"] = [
            f"{supplier.name} invoices in {supplier.currency}; the document must use {supplier.currency}."
        ]
    exchange_rate = data.exchange_rate
    if exchange_rate is None:
        exchange_rate = Decimal("1")
        if currency and currency != company.home_currency:
            errors.setdefault("exchange_rate", []).append(
                f"Enter the exchange rate from {currency} to {company.home_currency}."
            )
    elif exchange_rate <= 0:
        errors["exchange_rate"] = ["The exchange rate must be greater than zero."]
    elif currency == company.home_currency and exchange_rate != 1:
        errors["exchange_rate"] = [f"{currency} is your home currency; its exchange rate is 1."]

    if not date_in_range(data.issue_date):
        errors["issue_date"] = [DATE_RANGE_MESSAGE]
    code = data.supplier_unique_code.strip()
    if carries_supplier_code(kind) and (problems := _supplier_code_errors(kind, code, supplier, document)):
        errors["supplier_unique_code"] = problems
    credited = data.credited_invoice_id if kind == DocumentKind.CREDIT_NOTE else None
    if credited is not None and (problems := _credited_invoice_errors(company.pk, credited, supplier)):
        errors["credited_invoice"] = problems
    if kind == DocumentKind.INVOICE:
        if data.due_date and not date_in_range(data.due_date):
            errors["due_date"] = [DATE_RANGE_MESSAGE]
        elif data.due_date and data.due_date < data.issue_date:
            errors["due_date"] = ["The due date cannot be before the issue date."]
        if data.purchase_order_id is not None:
            po = Document.objects.filter(
                company_id=company.pk, kind=DocumentKind.PURCHASE_ORDER, pk=data.purchase_order_id
            ).first()
            if po is None:
                errors["purchase_order"] = ["Choose one of your purchase orders."]
            elif supplier is not None and po.supplier_id != supplier.pk:
                errors["purchase_order"] = [f"Purchase order {po.number} is for another supplier."]
            elif po.status not in (Status.APPROVED, Status.IN_REVISION):
                errors["purchase_order"] = [f"Purchase order {po.number} is {po.get_status_display()}, not approved."]

    if not data.lines:
        errors["lines"] = ["Add at least one line."]
    option_ids: dict[str, set[int]] = {kind_: set() for kind_ in ListKind.values}
    option_names: dict[str, set[str]] = {kind_: set() for kind_ in ListKind.values}
    options = ListOption.objects.filter(company_id=company.pk, is_active=True).values_list("kind", "id", "name")
    for option_kind, option_id, option_name in options:
        option_ids[option_kind].add(option_id)
        option_names[option_kind].add(option_name.lower())
    for index, line in enumerate(data.lines):
        errors.update(_line_errors(index, line, option_ids))

    if data.discount_type not in ("", "percent", "amount"):
        errors["discount_type"] = ["Discount is a percent or an amount."]
    elif data.discount_type and not any(key.startswith("lines") for key in errors):
        subtotal = sum(
            (
                money.line_net(
                    money.LineInput(line.quantity, line.unit_price, line.discount_type, line.discount_value)
                )[1]
                for line in data.lines
            ),
            Decimal(0),
        )
        try:
            money.discount_amount(subtotal, data.discount_type, data.discount_value)
        except money.DiscountTooLarge as exc:
            errors["discount_value"] = [str(exc)]
    if data.lines and not any(key.startswith("lines") or key.startswith("discount") for key in errors):
        lines = [
            money.LineInput(line.quantity, line.unit_price, line.discount_type, line.discount_value, line.tax_rate)
            for line in data.lines
        ]
        if money.document_totals(lines, data.discount_type, data.discount_value).total > _MAX_AMOUNT:
            errors["lines"] = [f"The document's total is at most {_MAX_AMOUNT_TEXT}; split it into several."]
    if notes_errors := text_errors(data.notes, what="Notes", max_length=NOTES_MAX, multiline=True):
        errors["notes"] = notes_errors

    fields = {f.pk: f for f in CustomField.objects.filter(company_id=company.pk)}
    for field_id, value in data.custom_values.items():
        field = fields.get(field_id)
        if field is None or not field.applies_to(kind):
            errors[f"custom_fields.{field_id}"] = ["Unknown custom field."]
        elif len(value) > 200:
            errors[f"custom_fields.{field_id}"] = [f"{field.name} holds at most 200 characters."]
        elif has_control_characters(value):
            errors[f"custom_fields.{field_id}"] = [f"{field.name} cannot contain control characters such as NUL."]
        elif field.choices_from and value.strip() and value.strip().lower() not in option_names[field.choices_from]:
            errors[f"custom_fields.{field_id}"] = [f"Choose a {field.name} from the list."]

    if errors:
        raise ValidationFailed("Please correct the highlighted fields; nothing was saved.", fields=errors)
    assert supplier is not None
    return supplier, exchange_rate


def document_data_from(document: Document) -> DocumentData:
    """The document as input, so an edit can change a few fields and keep the rest."""
    return DocumentData(
        supplier_id=document.supplier_id,
        issue_date=document.issue_date,
        due_date=document.due_date,
        currency=document.currency,
        exchange_rate=document.exchange_rate,
        notes=document.notes,
        discount_type=document.discount_type,
        discount_value=document.discount_value,
        supplier_unique_code=document.supplier_unique_code,
        purchase_order_id=document.purchase_order_id,
        credited_invoice_id=document.credited_invoice_id,
        lines=[
            LineData(
                description=line.description,
                quantity=line.quantity,
                unit_price=line.unit_price,
                discount_type=line.discount_type,
                discount_value=line.discount_value,
                tax_rate=line.tax_rate,
                account_id=line.account_id,
                class_id=line.line_class_id,
                customer_project_id=line.customer_project_id,
                item_id=line.item_id,
                tax_code_id=line.tax_code_id,
            )
            for line in document.lines.all()
        ],
        custom_values={value.field_id: value.value for value in document.custom_values.all()},
    )


def _normalised(data: DocumentData) -> dict[str, object]:
    def num(value: Decimal | None) -> str:
        return "" if value is None else format(value.normalize(), "f")

    return {
        "supplier": data.supplier_id,
        "issue_date": data.issue_date.isoformat(),
        "due_date": data.due_date.isoformat() if data.due_date else None,
        "currency": data.currency.upper(),
        "exchange_rate": num(data.exchange_rate if data.exchange_rate is not None else Decimal(1)),
        "notes": data.notes,
        "discount": [data.discount_type, num(data.discount_value) if data.discount_type else "0"],
        "supplier_unique_code": data.supplier_unique_code.strip(),
        "purchase_order": data.purchase_order_id,
        "credited_invoice": data.credited_invoice_id,
        "lines": [
            [
                line.description.strip(),
                num(line.quantity),
                num(line.unit_price),
                line.discount_type,
                num(line.discount_value) if line.discount_type else "0",
                num(line.tax_rate),
                line.account_id,
                line.class_id,
                line.customer_project_id,
                line.item_id,
                line.tax_code_id,
            ]
            for line in data.lines
        ],
        "custom_fields": {str(k): v.strip() for k, v in sorted(data.custom_values.items()) if v.strip()},
    }


def document_differences(document: Document, data: DocumentData) -> dict[str, object]:
    """Field name -> {"from", "to"} for every field ``data`` changes."""
    before = _normalised(document_data_from(document))
    after = _normalised(data)
    if not after["currency"]:
        after["currency"] = before["currency"]
    # A field the kind does not have is no change, whatever was sent for it.
    if document.kind != DocumentKind.INVOICE:
        after["due_date"] = before["due_date"]
        after["purchase_order"] = before["purchase_order"]
    if not carries_supplier_code(document.kind):
        after["supplier_unique_code"] = before["supplier_unique_code"]
    if document.kind != DocumentKind.CREDIT_NOTE:
        after["credited_invoice"] = before["credited_invoice"]
    return {key: {"from": before[key], "to": after[key]} for key in before if before[key] != after[key]}
