"""Reads that start from the user, so another company's rows are never reachable (404, not 403)."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from accounts.models import User
from accounts.roles import Permission, require
from procurement.models import CustomField, Document, DocumentKind, ListOption, Status, Supplier
from procuresync.errors import NotFound

SEARCH_MAX = 200  # characters of a search term that are looked for


def suppliers_for(user: User) -> QuerySet[Supplier]:
    require(user, Permission.DOCUMENT_VIEW)
    return Supplier.objects.filter(company_id=user.tenant_id)


def supplier_get(*, user: User, supplier_id: object) -> Supplier:
    try:
        return suppliers_for(user).get(pk=int(str(supplier_id)))
    except (Supplier.DoesNotExist, ValueError):
        raise NotFound("No such supplier.", field="supplier") from None


def documents_for(user: User, kind: str | None = None) -> QuerySet[Document]:
    require(user, Permission.DOCUMENT_VIEW)
    qs = Document.objects.filter(company_id=user.tenant_id)
    if kind:
        qs = qs.filter(kind=kind)
    return qs


def document_list(
    *, user: User, kind: str, status: str = "", search: str = "", supplier_id: int | None = None
) -> QuerySet[Document]:
    """The documents list: one query for the page however many rows it shows."""
    qs = documents_for(user, kind).select_related("supplier")
    if status:
        qs = qs.filter(status=status)
    if supplier_id:
        qs = qs.filter(supplier_id=supplier_id)
    # Stored text holds no NUL (and PostgreSQL refuses one in a query), and SQLite refuses a LIKE
    # pattern over 50,000 bytes: a longer term is cut, which can only find more, never less.
    term = search.replace("\x00", "").strip()[:SEARCH_MAX]
    if term:
        qs = qs.filter(
            Q(number__icontains=term)
            | Q(supplier__name__icontains=term)
            | Q(supplier_unique_code__icontains=term)
            | Q(notes__icontains=term)
        )
    return qs.order_by("-sequence")


def document_get(*, user: User, document_id: object, kind: str | None = None) -> Document:
    try:
        pk = int(str(document_id))
        qs = documents_for(user, kind)
        return qs.select_related("supplier", "purchase_order", "credited_invoice", "created_by").get(pk=pk)
    except (Document.DoesNotExist, ValueError):
        label = DocumentKind(kind).label.lower() if kind else "document"
        raise NotFound(f"No such {label}.") from None


def creditable_invoices(user: User, *, keep: int | None = None) -> QuerySet[Document]:
    """Invoices a credit note may credit: those not cancelled or rejected (and ``keep``, the one a
    credit note already credits, whatever became of it), with their suppliers."""
    qs = documents_for(user, DocumentKind.INVOICE).select_related("supplier")
    return qs.filter(~Q(status__in=[Status.CANCELLED, Status.REJECTED]) | Q(pk=keep)).order_by("-sequence")


def list_options_for(user: User, kind: str) -> QuerySet[ListOption]:
    require(user, Permission.DOCUMENT_VIEW)
    return ListOption.objects.filter(company_id=user.tenant_id, kind=kind, is_active=True)


def custom_fields_for(user: User, kind: str) -> list[CustomField]:
    require(user, Permission.DOCUMENT_VIEW)
    return [f for f in CustomField.objects.filter(company_id=user.tenant_id) if f.applies_to(kind)]
