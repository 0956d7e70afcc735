"""Reads that start from the user, so another company's rows are never reachable (404, not 403)."""

from __future__ import annotations

from typing import Any

from django.db.models import F, Q, QuerySet
from django.db.models.lookups import In

from accounts.models import User
from accounts.roles import Permission, require
from procurement.models import CustomField, Document, DocumentKind, ListOption, Status, Supplier
from procuresync.errors import NotFound

SEARCH_MAX = 200  # characters of a search term that are looked for
SUPPLIER_IDS_MAX = 500  # suppliers matching a search that are listed in the query by their ids


class InSubquery(In):
    """``col IN (SELECT ...)``, written ``col = ANY(ARRAY(SELECT ...))`` on PostgreSQL.

    PostgreSQL reads an ``IN (SELECT ...)`` under an OR as a filter applied to every row, and joins
    a plain one however few rows the subquery gives (hashing every row of the outer table); the
    ARRAY of the subquery is computed once, before the scan, and the rows equal to one of its
    values are looked up in an index. For a subquery of a few rows, then. SQLite gets the plain IN.
    Used as ``Q(InSubquery(F("col"), queryset.values("x")))``.
    """

    def get_rhs_op(self, connection: Any, rhs: str) -> str:
        if connection.vendor == "postgresql" and not self.rhs_is_direct_value():
            return f"= ANY(ARRAY{rhs})"
        return super().get_rhs_op(connection, rhs)


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
    """The documents list: one query for the page however many rows it shows (and, with a search,
    one on the suppliers, before it)."""
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
            | _by_supplier_name(user, term)
            | Q(supplier_unique_code__icontains=term)
            | Q(notes__icontains=term)
        )
    return qs.order_by("-sequence")


def _by_supplier_name(user: User, term: str) -> Q:
    """Documents of the suppliers whose name holds ``term``, as the ids of those suppliers.

    Looked up first (one small query on the supplier table) rather than joined from every
    document: PostgreSQL then finds each arm of the search's OR in its own index (the trigram
    indexes of procurement migration 0008, the supplier foreign key's) and reads only the matches,
    and it knows how many the ids are, so it does not walk the whole list in order hoping to meet
    them. A term matching more suppliers than SUPPLIER_IDS_MAX stays a subquery; most documents
    match it then, and walking the list in order is right. SQLite reads the kind's documents either
    way (its LIKE cannot use an index for ``'%term%'``).
    """
    named = Supplier.objects.filter(company_id=user.tenant_id, name__icontains=term).values_list("pk", flat=True)
    ids = list(named.order_by()[: SUPPLIER_IDS_MAX + 1])
    if len(ids) <= SUPPLIER_IDS_MAX:
        return Q(supplier_id__in=ids)  # none: this arm drops out of the OR
    return Q(InSubquery(F("supplier_id"), named.order_by()))


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
