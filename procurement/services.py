"""Writes to suppliers and documents. Every change to a document goes through here.

Each public function checks the actor's role, validates everything before touching the database,
and writes inside one transaction together with its event row, so a refusal changes nothing.
"""

from __future__ import annotations

import mimetypes
import re
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.db.models.functions import Lower
from django.utils import timezone

from accounts.models import User
from accounts.roles import Permission as Permission
from accounts.roles import require
from procurement import hooks, money, workflow
from procurement.inputs import DocumentData, SupplierData
from procurement.models import (
    Attachment,
    CustomField,
    CustomFieldValue,
    Document,
    DocumentEvent,
    DocumentKind,
    DocumentLine,
    DocumentNumbering,
    EventKind,
    ListKind,
    ListOption,
    Status,
    Supplier,
)
from procurement.validation import (
    COMMENT_MAX,
    NOTES_MAX,
    document_differences,
    has_control_characters,
    text_errors,
    validate_document,
)
from procuresync.bulk import insert_rows
from procuresync.errors import TransitionNotAllowed, ValidationFailed

# ---------------------------------------------------------------- suppliers

_CURRENCY = re.compile(r"[A-Za-z]{3}")  # ISO 4217: three ASCII letters
# Supplier text fields: (field, how a message names it, most characters the column takes).
_SUPPLIER_TEXT = (
    ("name", "The name", 200),
    ("email", "The email address", 254),
    ("tax_id", "The tax ID", 50),
    ("address", "The address", 1000),
)


def _check_supplier(*, actor: User, data: SupplierData, exclude_id: int | None = None) -> None:
    errors: dict[str, list[str]] = {}
    name = data.name.strip()
    for field, what, max_length in _SUPPLIER_TEXT:
        value = getattr(data, field)
        if problems := text_errors(value, what=what, max_length=max_length, multiline=field == "address"):
            errors[field] = problems
    if not name:
        errors["name"] = ["Enter the supplier's name."]
    elif "name" not in errors:
        clash = Supplier.objects.filter(company_id=actor.tenant_id).annotate(lname=Lower("name"))
        clash = clash.filter(lname=name.lower())
        if exclude_id is not None:
            clash = clash.exclude(pk=exclude_id)
        if clash.exists():
            errors["name"] = [f"A supplier named {name!r} already exists."]
    if not _CURRENCY.fullmatch(data.currency):
        errors["currency"] = ["Enter a three-letter currency code such as USD or EUR."]
    if errors:
        raise ValidationFailed("The supplier could not be saved.", fields=errors)


def supplier_create(*, actor: User, data: SupplierData) -> Supplier:
    require(actor, Permission.SUPPLIER_MANAGE)
    _check_supplier(actor=actor, data=data)
    try:
        with transaction.atomic():
            return Supplier.objects.create(
                company_id=actor.tenant_id,
                name=data.name.strip(),
                currency=data.currency.upper(),
                email=data.email.strip(),
                address=data.address.strip(),
                tax_id=data.tax_id.strip(),
                is_active=data.is_active,
            )
    except IntegrityError:  # a concurrent create with the same name won the race
        raise ValidationFailed(f"A supplier named {data.name!r} already exists.", field="name") from None


def supplier_update(*, actor: User, supplier: Supplier, data: SupplierData) -> Supplier:
    require(actor, Permission.SUPPLIER_MANAGE)
    _check_supplier(actor=actor, data=data, exclude_id=supplier.pk)
    if data.currency.upper() != supplier.currency and supplier.documents.exists():
        raise ValidationFailed(
            "The currency of a supplier with documents cannot change; create a new supplier instead.",
            field="currency",
        )
    supplier.name = data.name.strip()
    supplier.currency = data.currency.upper()
    supplier.email = data.email.strip()
    supplier.address = data.address.strip()
    supplier.tax_id = data.tax_id.strip()
    supplier.is_active = data.is_active
    try:
        with transaction.atomic():
            supplier.save()
    except IntegrityError:
        raise ValidationFailed(f"A supplier named {data.name!r} already exists.", field="name") from None
    return supplier


def list_option_create(*, actor: User, kind: str, name: str) -> ListOption:
    require(actor, Permission.SUPPLIER_MANAGE)
    if kind not in ListKind.values:
        raise ValidationFailed(f"Unknown list {kind!r}.", field="kind")
    name = name.strip()
    if not name:
        raise ValidationFailed("Enter the name of the option.", field="name")
    if problems := text_errors(name, what="The name", max_length=200):
        raise ValidationFailed(problems[0], fields={"name": problems})
    # Names are unique whatever their case (the database's constraint): "marketing" is "Marketing".
    existing = ListOption.objects.filter(company_id=actor.tenant_id, kind=kind, name__iexact=name).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            return ListOption.objects.create(company_id=actor.tenant_id, kind=kind, name=name, is_active=True)
    except IntegrityError:  # a concurrent create of the same name won the race
        return ListOption.objects.get(company_id=actor.tenant_id, kind=kind, name__iexact=name)


def custom_field_create(
    *, actor: User, name: str, purchase_orders: bool = True, invoices: bool = True, choices_from: str = ""
) -> CustomField:
    require(actor, Permission.USERS_MANAGE)
    if not name.strip():
        raise ValidationFailed("Enter the field's name.", field="name")
    if problems := text_errors(name.strip(), what="The name", max_length=100):
        raise ValidationFailed(problems[0], fields={"name": problems})
    if choices_from and choices_from not in ListKind.values:
        raise ValidationFailed(f"Unknown list {choices_from!r}.", field="choices_from")
    if CustomField.objects.filter(company_id=actor.tenant_id, name__iexact=name.strip()).exists():
        raise ValidationFailed(f"A custom field named {name!r} already exists.", field="name")
    return CustomField.objects.create(
        company_id=actor.tenant_id,
        name=name.strip(),
        applies_to_purchase_orders=purchase_orders,
        applies_to_invoices=invoices,
        choices_from=choices_from,
    )


# ---------------------------------------------------------------- documents


# The prefix a company's numbers of each kind start with until an Admin sets another.
DEFAULT_PREFIX = {DocumentKind.PURCHASE_ORDER: "PO-", DocumentKind.INVOICE: "INV-", DocumentKind.CREDIT_NOTE: "CN-"}


def _take_number(*, company_id: int, kind: str) -> tuple[int, str]:
    numbering, _ = DocumentNumbering.objects.select_for_update().get_or_create(
        company_id=company_id, kind=kind, defaults={"prefix": DEFAULT_PREFIX[DocumentKind(kind)]}
    )
    # Skip numbers taken some other way (e.g. imported), so the unique constraint never trips.
    latest = (
        Document.objects.filter(company_id=company_id, kind=kind)
        .order_by("-sequence")
        .values_list("sequence", flat=True)
        .first()
    )
    value = max(numbering.next_value, (latest or 0) + 1)
    numbering.next_value = value + 1
    numbering.save(update_fields=["next_value"])
    return value, f"{numbering.prefix}{value:05d}"


# A purchase order's number is its QuickBooks DocNumber (at most 21 characters); numbers have 5
# digits and grow to 6 past 99,999.
QBO_DOC_NUMBER_MAX = 21
NUMBER_DIGITS = 6
MAX_PREFIX = QBO_DOC_NUMBER_MAX - NUMBER_DIGITS


def numbering_set_prefix(*, actor: User, kind: str, prefix: str) -> None:
    require(actor, Permission.USERS_MANAGE)
    if kind not in DocumentKind.values:
        raise ValidationFailed(f"Unknown document kind {kind!r}.", field="kind")
    if has_control_characters(prefix):
        raise ValidationFailed("A prefix cannot contain control characters such as NUL or line breaks.", field="prefix")
    if len(prefix) > MAX_PREFIX:
        raise ValidationFailed(
            f"A prefix has at most {MAX_PREFIX} characters, so that the number (prefix and up to "
            f"{NUMBER_DIGITS} digits) fits QuickBooks' {QBO_DOC_NUMBER_MAX}-character document number.",
            field="prefix",
        )
    with transaction.atomic():
        numbering, _ = DocumentNumbering.objects.select_for_update().get_or_create(
            company_id=actor.tenant_id, kind=kind
        )
        numbering.prefix = prefix
        numbering.save(update_fields=["prefix"])


def _write_event(
    document: Document,
    *,
    kind: str,
    actor: User | None,
    from_status: str = "",
    to_status: str = "",
    action: str = "",
    comment: str = "",
    changes: dict[str, object] | None = None,
    source: str = "",
) -> DocumentEvent:
    return DocumentEvent.objects.create(
        document=document,
        kind=kind,
        actor=actor,
        action=action,
        from_status=from_status,
        to_status=to_status,
        comment=comment,
        changes=changes or {},
        source=source,
    )


def document_recalculate(document: Document) -> None:
    """Derive line and document totals from the lines (the only writer of those columns)."""
    lines = list(document.lines.all())
    components = hooks.tax_components(document, lines)
    totals = money.document_totals(
        [
            money.LineInput(
                quantity=line.quantity,
                unit_price=line.unit_price,
                discount_type=line.discount_type,
                discount_value=line.discount_value,
                tax_rate=line.tax_rate,
                tax_components=line_components,
            )
            for line, line_components in zip(lines, components, strict=True)
        ],
        document.discount_type,
        document.discount_value,
    )
    for line, line_totals in zip(lines, totals.lines, strict=True):
        line.net_amount = line_totals.net
        line.document_discount_share = line_totals.document_discount_share
        line.tax_amount = line_totals.tax
    DocumentLine.objects.bulk_update(lines, ["net_amount", "document_discount_share", "tax_amount"])
    document.subtotal = totals.subtotal
    document.discount_total = totals.discount_total
    document.tax_total = totals.tax_total
    document.total = totals.total
    document.save(update_fields=["subtotal", "discount_total", "tax_total", "total", "updated_at"])


def _apply(document: Document, data: DocumentData, supplier: Supplier, exchange_rate: Decimal) -> None:
    document.supplier = supplier
    document.issue_date = data.issue_date
    document.due_date = data.due_date if document.kind == DocumentKind.INVOICE else None
    document.currency = (data.currency or supplier.currency).upper()
    document.exchange_rate = exchange_rate
    document.notes = data.notes
    document.discount_type = data.discount_type
    document.discount_value = data.discount_value if data.discount_type else Decimal("0")
    document.supplier_unique_code = data.supplier_unique_code.strip() if document.carries_supplier_code else ""
    document.purchase_order_id = data.purchase_order_id if document.is_invoice else None
    document.credited_invoice_id = data.credited_invoice_id if document.is_credit_note else None
    document.save()
    document.lines.all().delete()
    DocumentLine.objects.bulk_create(
        DocumentLine(
            document=document,
            position=index,
            description=line.description.strip(),
            quantity=line.quantity,
            unit_price=line.unit_price,
            discount_type=line.discount_type,
            discount_value=line.discount_value if line.discount_type else Decimal("0"),
            tax_rate=line.tax_rate,
            account_id=line.account_id,
            line_class_id=line.class_id,
            customer_project_id=line.customer_project_id,
            item_id=line.item_id,
            tax_code_id=line.tax_code_id,
        )
        for index, line in enumerate(data.lines, start=1)
    )
    document.custom_values.all().delete()
    CustomFieldValue.objects.bulk_create(
        CustomFieldValue(document=document, field_id=field_id, value=value.strip())
        for field_id, value in data.custom_values.items()
        if value.strip()
    )
    document_recalculate(document)


def document_create(*, actor: User, kind: str, data: DocumentData) -> Document:
    require(actor, Permission.DOCUMENT_CREATE)
    supplier, exchange_rate = validate_document(actor=actor, kind=kind, data=data, document=None)
    try:
        with transaction.atomic():
            sequence, number = _take_number(company_id=actor.tenant_id, kind=kind)
            document = Document(
                company_id=actor.tenant_id, kind=kind, sequence=sequence, number=number, created_by=actor
            )
            _apply(document, data, supplier, exchange_rate)
            _write_event(document, kind=EventKind.CREATED, actor=actor, to_status=Status.DRAFT)
    except IntegrityError as exc:
        raise _integrity_to_validation(exc, kind) from None
    return document


def _integrity_to_validation(exc: IntegrityError, kind: str) -> ValidationFailed:
    """The database's last line of defence, in the same words as the service's own check."""
    text = str(exc).lower()
    # PostgreSQL names the constraint; SQLite names the columns of the expression index.
    if "supplier_unique_code" in text:
        return ValidationFailed(
            f"Another {DocumentKind(kind).label.lower()} of this supplier already has that Supplier Unique Code.",
            field="supplier_unique_code",
        )
    return ValidationFailed("The document could not be saved because it conflicts with another; please retry.")


_NOTES_ONLY_FIELDS = ("notes",)


def document_update(*, actor: User, document: Document, data: DocumentData, comment: str = "") -> Document:
    """Save an edit. Draft / In Revision: anything. Approved and later: notes only, logged as an edit
    without revision (it must never reach QuickBooks). Final statuses: nothing."""
    require(actor, Permission.DOCUMENT_EDIT)
    with transaction.atomic():
        document = Document.objects.select_for_update().get(pk=document.pk)
        changes = document_differences(document, data)
        if not changes:
            return document
        status = Status(document.status)
        if status in workflow.EDITABLE_STATUSES:
            supplier, exchange_rate = validate_document(actor=actor, kind=document.kind, data=data, document=document)
            try:
                with transaction.atomic():
                    _apply(document, data, supplier, exchange_rate)
            except IntegrityError as exc:
                raise _integrity_to_validation(exc, document.kind) from None
            _write_event(document, kind=EventKind.EDITED, actor=actor, comment=comment, changes=changes)
            return document
        if status in workflow.NOTES_ONLY_STATUSES:
            financial = sorted(set(changes) - set(_NOTES_ONLY_FIELDS))
            if financial:
                raise TransitionNotAllowed(
                    f"A {status.label} document can only have its notes changed; "
                    f"to change {', '.join(financial)}, revise it first.",
                    fields={name: ["Revise the document to change this."] for name in financial},
                )
            if problems := text_errors(data.notes, what="Notes", max_length=NOTES_MAX, multiline=True):
                raise ValidationFailed(problems[0], fields={"notes": problems})
            document.notes = data.notes
            document.save(update_fields=["notes", "updated_at"])
            kind = EventKind.EDITED if status == Status.PENDING else EventKind.EDIT_WITHOUT_REVISION
            _write_event(document, kind=kind, actor=actor, comment=comment, changes=changes)
            return document
        raise TransitionNotAllowed(f"A {status.label} document can no longer be edited.", field="status")


def document_transition(
    *, actor: User, document: Document, action: workflow.DocumentAction, comment: str = ""
) -> Document:
    """Move a document through the workflow: submit, approve, reject, revise or cancel."""
    require(actor, workflow.PERMISSION_FOR[action])
    with transaction.atomic():
        document = Document.objects.select_for_update().get(pk=document.pk)
        current = Status(document.status)
        if action == workflow.DocumentAction.CANCEL and current in workflow.PAYMENT_STATUSES:
            raise TransitionNotAllowed(
                f"This invoice is {current.label}. Cancel its payments first, then cancel the invoice.",
                field="status",
            )
        if action == workflow.DocumentAction.CANCEL and current in workflow.APPLICATION_STATUSES:
            raise TransitionNotAllowed(
                f"Cannot cancel a credit note that is {current.label}: QuickBooks has applied it to bills. "
                "Remove those applications in QuickBooks first (they come back here as cancelled payments).",
                field="status",
            )
        target = workflow.next_status(current, action)
        if action == workflow.DocumentAction.SUBMIT and not document.lines.exists():
            raise ValidationFailed("Add at least one line before submitting.", field="lines")
        if action == workflow.DocumentAction.REJECT and not comment.strip():
            raise ValidationFailed("Say why the document is rejected.", field="comment")
        if problems := text_errors(comment, what="The comment", max_length=COMMENT_MAX, multiline=True):
            raise ValidationFailed(problems[0], fields={"comment": problems})
        hooks.guard(document, action, actor)  # e.g. payments: no cancelling while payments are active
        if action == workflow.DocumentAction.REVISE:
            document.revision += 1
        document.status = target
        document.save(update_fields=["status", "revision", "updated_at"])
        _write_event(
            document,
            kind=EventKind.TRANSITION,
            actor=actor,
            action=action.value,
            from_status=current,
            to_status=target,
            comment=comment,
        )
        hooks.transitioned(document, action, actor)
    return document


@dataclass(frozen=True)
class PaymentStatusChange:
    document: Document
    status: Status
    source: str
    comment: str


def documents_set_payment_status(changes: list[PaymentStatusChange]) -> None:
    """``document_set_payment_status`` for thousands of invoices at once (a payments import): one
    UPDATE per new status and the same history events, inserted in bulk. Unchanged ones are skipped."""
    now = timezone.now()
    moved: dict[Status, list[int]] = {}
    events: list[dict[str, object]] = []
    for change in changes:
        document = change.document
        if document.status == change.status:
            continue
        events.append(
            {
                "document_id": document.pk,
                "kind": EventKind.TRANSITION,
                "actor_id": None,
                "action": "payment",
                "from_status": document.status,
                "to_status": change.status,
                "comment": change.comment,
                "source": change.source,
            }
        )
        document.status, document.updated_at = change.status, now
        moved.setdefault(change.status, []).append(document.pk)
    for status, ids in moved.items():
        for start in range(0, len(ids), 500):
            Document.objects.filter(pk__in=ids[start : start + 500]).update(status=status, updated_at=now)
    insert_rows(DocumentEvent, events)


def document_set_payment_status(
    *, document: Document, status: Status, actor: User | None, source: str, comment: str, action: str = "payment"
) -> None:
    """Used by payments only: record a status change that follows from the active payments (of an
    invoice; ``action="applied"`` for a credit note's applications to bills)."""
    if document.status == status:
        return
    previous = document.status
    document.status = status
    document.save(update_fields=["status", "updated_at"])
    _write_event(
        document,
        kind=EventKind.TRANSITION,
        actor=actor,
        action=action,
        from_status=previous,
        to_status=status,
        comment=comment,
        source=source,
    )


# ---------------------------------------------------------------- attachments


def attachment_add(*, actor: User, document: Document, upload: UploadedFile) -> Attachment:
    """Attach a file. Allowed until the document is final; it reaches QuickBooks with the next send."""
    require(actor, Permission.DOCUMENT_EDIT)
    if document.status in workflow.FINAL_STATUSES:
        raise TransitionNotAllowed(f"A {document.get_status_display()} document takes no more files.", field="file")
    name = (upload.name or "file").rsplit("/", 1)[-1][:255]
    size = upload.size or 0
    if size == 0:
        raise ValidationFailed("The file is empty.", field="file")
    if size > settings.ATTACHMENT_MAX_BYTES:
        limit = settings.ATTACHMENT_MAX_BYTES // (1024 * 1024)
        raise ValidationFailed(f"{name} is larger than {limit} MB.", field="file")
    content_type = upload.content_type or mimetypes.guess_type(name)[0] or "application/octet-stream"
    attachment = Attachment(document=document, name=name, content_type=content_type[:100], size=size, uploaded_by=actor)
    attachment.file.save(name, upload, save=False)
    attachment.save()
    _write_event(document, kind=EventKind.EDITED, actor=actor, comment=f"Attached {name}")
    return attachment
