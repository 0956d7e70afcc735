"""Our document, read once from the database, as the plain snapshot that ``mapping`` turns into JSON."""

from __future__ import annotations

from procurement.models import CustomFieldValue, Document, DocumentKind, ListKind, ListOption
from quickbooks.errors import NotMappable
from quickbooks.export.mapping import DocumentSnapshot, LineSnapshot
from quickbooks.models import Connection, DocumentSync


def _external(option: ListOption | None, what: str, line_no: int) -> str | None:
    if option is None:
        return None
    if not option.external_id:
        raise NotMappable(
            f"Line {line_no}: the {what} “{option.name}” does not exist in QuickBooks. "
            "Import the lists on Integrations and choose one from QuickBooks."
        )
    return option.external_id


def document_snapshot(*, document: Document, connection: Connection, vendor_ref: str) -> DocumentSnapshot:
    default_account = connection.default_expense_account
    lines = []
    query = document.lines.select_related("account", "line_class", "customer_project", "item", "tax_code")
    for number, line in enumerate(query, start=1):
        account = _external(line.account or default_account, "account", number)
        item = _external(line.item, "product/service", number)
        if account is None and item is None:
            raise NotMappable(
                f"Line {number} has no account. Choose one, or set a default expense account on Integrations."
            )
        lines.append(
            LineSnapshot(
                description=line.description,
                quantity=line.quantity,
                unit_price=line.unit_price,
                amount=line.net_amount - line.document_discount_share + line.tax_amount,
                account_ref=account,
                item_ref=item,
                class_ref=_external(line.line_class, "class", number),
                customer_ref=_external(line.customer_project, "customer/project", number),
                tax_code_ref=_external(line.tax_code, "tax code", number),
            )
        )
    department_ref = None
    if connection.location_field_id:
        value = CustomFieldValue.objects.filter(document=document, field_id=connection.location_field_id).first()
        if value and value.value:
            option = ListOption.objects.filter(
                company_id=document.company_id, kind=ListKind.LOCATION, name__iexact=value.value
            ).first()
            if option is None or not option.external_id:
                raise NotMappable(f"The location “{value.value}” does not exist in QuickBooks; choose another.")
            department_ref = option.external_id
    linked_po_ref = None
    if document.kind == DocumentKind.INVOICE and document.purchase_order_id:
        po_sync = DocumentSync.objects.filter(document_id=document.purchase_order_id).exclude(qbo_id="").first()
        if po_sync and not po_sync.deleted_in_qbo:
            linked_po_ref = po_sync.qbo_id
    return DocumentSnapshot(
        kind=document.kind,
        number=document.number,
        supplier_unique_code=document.supplier_unique_code,
        vendor_ref=vendor_ref,
        txn_date=document.issue_date,
        due_date=document.due_date,
        currency=document.currency,
        exchange_rate=document.exchange_rate,
        home_currency=connection.home_currency or document.company.home_currency,
        lines=tuple(lines),
        total=document.total,
        ap_account_ref=connection.default_ap_account.external_id if connection.default_ap_account else None,
        department_ref=department_ref,
        linked_po_ref=linked_po_ref,
    )
