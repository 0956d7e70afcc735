"""Reads for the QuickBooks pages: the connection, vendor links, sync counts, the sync filter.

Every read starts from the user, like ``procurement.selectors``; nothing here writes (the page may be
opened before any ``Connection`` row exists, so absence means "not connected").
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.db import connections
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet

from accounts.models import User
from accounts.roles import Permission, allowed, require
from payments.models import Payment
from procurement.models import CustomField, Document, DocumentKind, ListKind, ListOption, Status, Supplier
from procurement.selectors import InSubquery
from procurement.workflow import APPROVED_STATUSES, FINAL_STATUSES
from quickbooks.config import qbo_config
from quickbooks.connection import closed_books_message
from quickbooks.export.mapping import QBO_WHAT, entity_for
from quickbooks.models import Connection, ConnectionStatus, DocumentSync, SyncAttempt, SyncStatus, VendorLink
from quickbooks.preview import Preview, document_preview

AP_ACCOUNT_TYPE = "Accounts Payable"  # QBO's AccountType of A/P accounts, kept as ListOption.detail


def connection_for(user: User) -> Connection | None:
    """The company's connection row, or None when QuickBooks was never touched."""
    require(user, Permission.INTEGRATION_MANAGE)
    return (
        Connection.objects.filter(company_id=user.tenant_id)
        .select_related("default_ap_account", "default_expense_account", "location_field")
        .first()
    )


def is_in_use(company_id: int) -> bool:
    """Whether documents of this company show QuickBooks columns and panels at all."""
    live = Connection.objects.filter(company_id=company_id).exclude(status=ConnectionStatus.NOT_CONNECTED)
    return live.exists() or DocumentSync.objects.filter(company_id=company_id).exists()


def sync_of(document: Document) -> DocumentSync | None:
    return DocumentSync.objects.filter(document_id=document.pk).first()


# ------------------------------------------------------------------------- settings choices


def ap_accounts_for(user: User) -> QuerySet[ListOption]:
    require(user, Permission.INTEGRATION_MANAGE)
    return ListOption.objects.filter(company_id=user.tenant_id, kind=ListKind.ACCOUNT, detail=AP_ACCOUNT_TYPE)


def expense_accounts_for(user: User) -> QuerySet[ListOption]:
    require(user, Permission.INTEGRATION_MANAGE)
    return ListOption.objects.filter(company_id=user.tenant_id, kind=ListKind.ACCOUNT).exclude(detail=AP_ACCOUNT_TYPE)


def custom_fields_all(user: User) -> QuerySet[CustomField]:
    require(user, Permission.INTEGRATION_MANAGE)
    return CustomField.objects.filter(company_id=user.tenant_id)


# ------------------------------------------------------------------------- vendors


@dataclass(frozen=True)
class SupplierVendor:
    supplier: Supplier
    link: VendorLink | None  # None: created in QuickBooks when first needed


def supplier_vendors(user: User, connection: Connection | None) -> list[SupplierVendor]:
    """Each supplier with its QBO vendor in the connected company (links into another company don't count)."""
    require(user, Permission.INTEGRATION_MANAGE)
    realm = connection.realm_id if connection else ""
    linked = VendorLink.objects.filter(company_id=user.tenant_id, realm_id=realm) if realm else []
    links = {link.supplier_id: link for link in linked}
    suppliers = Supplier.objects.filter(company_id=user.tenant_id).order_by("name")
    return [SupplierVendor(supplier=s, link=links.get(s.pk)) for s in suppliers]


def vendor_taken_by(connection: Connection, qbo_id: str, *, other_than: Supplier) -> Supplier | None:
    """The supplier of this company already linked to QBO vendor ``qbo_id`` (one vendor is one
    supplier of a company), if another."""
    link = (
        VendorLink.objects.filter(company_id=connection.company_id, realm_id=connection.realm_id, qbo_id=qbo_id)
        .exclude(supplier=other_than)
        .select_related("supplier")
        .first()
    )
    return link.supplier if link else None


# ------------------------------------------------------------------------- sync status


@dataclass(frozen=True)
class SyncCount:
    status: str
    label: str
    count: int


def sync_counts(user: User, kind: str) -> list[SyncCount]:
    """How many documents of ``kind`` are in each sync status (no DocumentSync row counts as Not sent)."""
    require(user, Permission.DOCUMENT_VIEW)
    rows = (
        Document.objects.filter(company_id=user.tenant_id, kind=kind).values("qbo_sync__status").annotate(n=Count("pk"))
    )
    by_status: dict[str, int] = {}
    for row in rows:
        status = row["qbo_sync__status"] or SyncStatus.NOT_SENT
        by_status[status] = by_status.get(status, 0) + row["n"]
    return [SyncCount(value, label, by_status.get(value, 0)) for value, label in SyncStatus.choices]


def filter_by_sync(documents: QuerySet[Document], sync: str, *, company_id: int) -> QuerySet[Document]:
    """``documents`` (of the company ``company_id``) in sync status ``sync``; "not_sent" includes
    documents never given a sync row."""
    if sync not in SyncStatus.values:
        return documents
    if sync in _FEW:
        # The few rows come from the (company, status) index, and the documents by their ids; an
        # EXISTS per document made the count read every document of the kind (DocumentSync has no
        # kind), and PostgreSQL hashed all of them for a couple of thousand failed ones.
        rows = DocumentSync.objects.filter(company_id=company_id, status=sync).values("document_id")
        return documents.filter(InSubquery(F("pk"), rows))
    if sync == SyncStatus.NOT_SENT and connections[documents.db].vendor == "sqlite":
        # SQLite evaluates a NOT EXISTS for every document of the kind it walks, in the page's own
        # query too (which keeps the list's filters around the page's ids: 60 ms at 100,000); a
        # condition on the joined row is checked only for the rows that query reads.
        return documents.filter(Q(qbo_sync__isnull=True) | Q(qbo_sync__status=SyncStatus.NOT_SENT))
    # (NOT) EXISTS rather than a condition on the joined row: PostgreSQL misjudged "no row or
    # not_sent" as one row among 100,000 and looped over the suppliers for each (seconds). Sent and
    # the other common statuses are most of the documents, and a join with all of them is right.
    # The page's count of "Not sent" walks the kind's ids (procurement's ``document_kind_id_idx``)
    # beside the rows of ``documentsync_sent_idx``, which holds exactly what this NOT EXISTS asks
    # for: a merge anti join of two index-only scans (procurement migration 0009 says why no
    # parallel hash join). Its condition must stay what that index's condition proves.
    correlated = DocumentSync.objects.filter(document_id=OuterRef("pk"), company_id=OuterRef("company_id"))
    if sync == SyncStatus.NOT_SENT:
        return documents.filter(~Exists(correlated.exclude(status=SyncStatus.NOT_SENT)))
    return documents.filter(Exists(correlated.filter(status=sync)))


# Statuses that are exceptions someone works through, so a small share of any company's documents.
_FEW = frozenset({SyncStatus.QUEUED, SyncStatus.FAILED})


DETAIL_URL = {
    DocumentKind.PURCHASE_ORDER: "po-detail",
    DocumentKind.INVOICE: "invoice-detail",
    DocumentKind.CREDIT_NOTE: "credit-note-detail",
}


def document_kinds(ids: Iterable[int]) -> dict[int, str]:
    """Document id → kind, for links to document pages from rows that carry only the id."""
    return dict(Document.objects.filter(pk__in=list(ids)).values_list("pk", "kind"))


def sent_kind_label(connection: Connection | None) -> str:
    kind = connection.document_kind if connection else DocumentKind.INVOICE
    return "Purchase orders" if kind == DocumentKind.PURCHASE_ORDER else "Invoices"


# ------------------------------------------------------------------------- the document page


@dataclass(frozen=True)
class DocumentPanel:
    """What the "QuickBooks" panel of a document page shows."""

    sync: DocumentSync | None
    attempts: QuerySet[SyncAttempt]
    send_label: str  # "" when there is nothing to press
    # What it will become in QuickBooks and what would stop it, while it is still to be sent.
    preview: Preview | None = None


def document_panel(user: User, document: Document) -> DocumentPanel | None:
    """The panel, or None while the company has never connected and the document was never synced."""
    require(user, Permission.DOCUMENT_VIEW)
    connection = Connection.objects.filter(company_id=document.company_id).first()
    live = connection is not None and connection.status != ConnectionStatus.NOT_CONNECTED
    sync = sync_of(document)
    if not live and sync is None:
        return None
    sendable = (
        live
        and connection is not None
        and connection.sends(document.kind)
        and (
            document.status in APPROVED_STATUSES or (document.status in FINAL_STATUSES and bool(sync and sync.qbo_id))
        )
        and allowed(user, Permission.QUICKBOOKS_SEND)
    )
    label = ""
    if sendable:
        status = sync.status if sync else SyncStatus.NOT_SENT
        if status == SyncStatus.FAILED:
            label = "Retry"
        elif status == SyncStatus.SENT:
            label = "Send again"
        elif status != SyncStatus.QUEUED:
            label = "Send to QuickBooks"
    preview = document_preview(document, connection) if _still_to_send(document, sync) else None
    return DocumentPanel(sync=sync, attempts=document.qbo_attempts.all()[:50], send_label=label, preview=preview)


def _still_to_send(document: Document, sync: DocumentSync | None) -> bool:
    """Will this document (still) go to QuickBooks: on approval, or now (queued, failed)?"""
    if document.status in FINAL_STATUSES:
        return False
    if document.status in {Status.DRAFT, Status.PENDING, Status.IN_REVISION}:
        return sync is None or sync.status not in (SyncStatus.HISTORICAL, SyncStatus.INTERNAL)
    return sync is None or sync.status in (SyncStatus.NOT_SENT, SyncStatus.QUEUED, SyncStatus.FAILED)


def closed_books_warning(document: Document) -> str | None:
    """Shown on the document and when approving: from the closing date last read from QuickBooks."""
    connection = Connection.objects.filter(company_id=document.company_id).first()
    if connection is None or connection.status == ConnectionStatus.NOT_CONNECTED:
        return None
    if not connection.sends(document.kind) or connection.book_close_date is None:
        return None
    if document.issue_date > connection.book_close_date:
        return None
    return closed_books_message(
        document_date=document.issue_date, close_date=connection.book_close_date, number=document.number
    )


def reject_notice(document: Document) -> str | None:
    """What rejecting does in QuickBooks, told to the approver before they reject. Rejected is
    final (the document will never be paid here), so QuickBooks must not keep a bill for it."""
    if document.status != Status.PENDING:
        return None
    sync = sync_of(document)
    if sync is None:
        return None
    label = QBO_WHAT[entity_for(document.kind)]
    if (sync.qbo_id or sync.create_uncertain) and not sync.deleted_in_qbo:
        return (
            f"QuickBooks holds this document's last approved revision. Rejecting is final: the {label} is "
            "removed from QuickBooks, as when a document is cancelled."
        )
    if sync.status == SyncStatus.FAILED:
        return (
            f"Its last approved revision was not sent to QuickBooks ({sync.error_message}) "
            "Rejecting ends that: nothing will be sent."
        )
    return None


_SETTLED = frozenset({SyncStatus.SENT, SyncStatus.HISTORICAL, SyncStatus.INTERNAL})


def closed_books_notice(document: Document) -> str | None:
    """``closed_books_warning`` when it matters: the document still has to reach QuickBooks.

    An invoice sent before the books were closed is the normal state of a closed period; warning on
    it would teach people to ignore the warning. Drafts, pending and in-revision documents will be
    sent on approval, and queued or failed ones are on their way, so those are warned about.
    """
    message = closed_books_warning(document)
    if message is None or document.status == Status.REJECTED:
        return None
    sync = sync_of(document)
    on_its_way = document.status in {Status.DRAFT, Status.PENDING, Status.IN_REVISION}
    if sync is not None and sync.status in _SETTLED and not on_its_way:
        return None
    return message


# ------------------------------------------------------------------------- links into QuickBooks


def with_qbo_links(payments: Iterable[Payment]) -> list[Payment]:
    """The payments, each with ``qbo_url``: where to see it in QuickBooks ("" if recorded here)."""
    rows = list(payments)
    for payment in rows:
        payment.qbo_url = qbo_link(payment.qbo_txn_id) if payment.qbo_txn_id else ""  # type: ignore[attr-defined]
    return rows


def qbo_link(txn_id: str) -> str:
    """Where a person sees the bill payment: QuickBooks' own page, or the emulator's console."""
    base = qbo_config().api_base_url
    if "sandbox" in base and "intuit.com" in base:
        return f"https://app.sandbox.qbo.intuit.com/app/billpayment?txnId={txn_id}"
    if "intuit.com" in base:
        return f"https://app.qbo.intuit.com/app/billpayment?txnId={txn_id}"
    return base.removesuffix("/").removesuffix("/v3") + "/_emulator/console"


_QBO_PAGES = {"Bill": "bill", "PurchaseOrder": "purchaseorder", "BillPayment": "billpayment"}


def qbo_txn_link(entity: str, txn_id: str, *, realm_id: str = "") -> str:
    """Where a person sees a bill, purchase order or bill payment: QuickBooks' own page, or the
    emulator's console (on the company's page when the realm is known)."""
    base = qbo_config().api_base_url
    page = _QBO_PAGES.get(entity, entity.lower())
    if "sandbox" in base and "intuit.com" in base:
        return f"https://app.sandbox.qbo.intuit.com/app/{page}?txnId={txn_id}"
    if "intuit.com" in base:
        return f"https://app.qbo.intuit.com/app/{page}?txnId={txn_id}"
    console = base.removesuffix("/").removesuffix("/v3") + "/_emulator/console"
    return f"{console}?realm={realm_id}" if realm_id else console


def qbo_bill_link(txn_id: str, *, realm_id: str = "") -> str:
    """Where a person sees (and may delete) one of our bills in QuickBooks."""
    return qbo_txn_link("Bill", txn_id, realm_id=realm_id)
