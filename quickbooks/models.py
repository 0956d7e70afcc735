"""The QuickBooks Online connection of a company, the local ↔ QBO id map, the outbox, and attempts."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models

from accounts.models import Company
from procurement.models import CustomField, Document, DocumentKind, ListOption


class ConnectionStatus(models.TextChoices):
    NOT_CONNECTED = "not_connected", "Not connected"
    CONNECTED = "connected", "Connected"
    NEEDS_RECONNECT = "needs_reconnect", "Needs reconnect"


class Connection(models.Model):
    """One per company. Tokens are Fernet-encrypted (``quickbooks.crypto``), never stored in clear."""

    company = models.OneToOneField(Company, on_delete=models.CASCADE, related_name="qbo_connection")
    status = models.CharField(max_length=20, choices=ConnectionStatus.choices, default=ConnectionStatus.NOT_CONNECTED)
    realm_id = models.CharField(max_length=40, blank=True)
    qbo_company_name = models.CharField(max_length=200, blank=True)
    access_token = models.TextField(blank=True)
    refresh_token = models.TextField(blank=True)
    access_expires_at = models.DateTimeField(null=True, blank=True)
    refresh_expires_at = models.DateTimeField(null=True, blank=True)
    # Bumped on every token rotation so a worker that refreshed concurrently can tell.
    token_version = models.PositiveIntegerField(default=0)
    oauth_state = models.CharField(max_length=100, blank=True)
    oauth_state_expires_at = models.DateTimeField(null=True, blank=True)

    # Setup choices (Integrations page).
    # Purchase orders or invoices (credit notes follow invoices: ``sent_kinds``).
    document_kind = models.CharField(
        max_length=20,
        choices=[(k.value, k.label) for k in (DocumentKind.PURCHASE_ORDER, DocumentKind.INVOICE)],
        default=DocumentKind.INVOICE,
    )
    auto_send = models.BooleanField("Send automatically on approval", default=True)
    import_payments = models.BooleanField("Import payments from QuickBooks", default=True)
    # Reconciliation: compare what QuickBooks should hold with what it holds, once a day (scheduler).
    reconcile_nightly = models.BooleanField("Reconcile nightly", default=False)
    reconcile_queued_on = models.DateField(null=True, blank=True)  # the day the last nightly run was queued
    default_ap_account = models.ForeignKey(
        ListOption, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    default_expense_account = models.ForeignKey(
        ListOption, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    location_field = models.ForeignKey(
        CustomField,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="The document custom field whose value is sent as the QuickBooks Location (Department).",
    )

    # QuickBooks' closing date (Preferences.AccountingInfoPrefs.BookCloseDate), cached.
    book_close_date = models.DateField(null=True, blank=True)
    book_close_checked_at = models.DateTimeField(null=True, blank=True)
    multicurrency = models.BooleanField(default=False)
    home_currency = models.CharField(max_length=3, blank=True)
    # CompanyInfo.Country, read at connect and on list import. Outside the US QuickBooks computes
    # purchase tax itself, per line and tax code (``quickbooks.tax``); blank: not read yet (US rules).
    country = models.CharField(max_length=10, blank=True)

    connected_at = models.DateTimeField(null=True, blank=True)
    last_sync_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    lists_imported_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.company} ↔ QuickBooks {self.realm_id or '(not connected)'}"

    @property
    def sent_kinds(self) -> tuple[str, ...]:
        """The kinds of document that go to QuickBooks: the one chosen at setup, and with invoices
        the supplier credit notes that reduce them (as VendorCredits)."""
        if self.document_kind == DocumentKind.INVOICE:
            return (DocumentKind.INVOICE, DocumentKind.CREDIT_NOTE)
        return (self.document_kind,)

    def sends(self, kind: str) -> bool:
        return kind in self.sent_kinds

    @property
    def computes_tax(self) -> bool:
        """Does QuickBooks compute purchase tax on our documents (every edition but the US one)?"""
        return self.country.upper() not in ("", "US", "USA")

    @property
    def is_live(self) -> bool:
        return self.status == ConnectionStatus.CONNECTED


class TaxCodeRates(models.Model):
    """The purchase rates of an imported QuickBooks tax code (TaxCode.PurchaseTaxRateList with each
    TaxRate's RateValue): what QuickBooks charges on a purchase line carrying that code. A code may
    have several (Canada's GST + PST), each rounded on its own per line (qbo-api.md §11a)."""

    option = models.OneToOneField(ListOption, on_delete=models.CASCADE, related_name="qbo_tax_rates")
    # [{"id": TaxRate Id, "name": TaxRate Name, "percent": "20"}] in TaxOrder.
    purchase_rates = models.JSONField(default=list)
    # A code with sales rates only cannot be used on a purchase.
    for_purchases = models.BooleanField(default=True)


class TaxRateMapping(models.Model):
    """An Admin's choice: lines taxed at ``rate`` % go to QuickBooks with this tax code."""

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="+")
    rate = models.DecimalField(max_digits=7, decimal_places=4)
    tax_code = models.ForeignKey(ListOption, on_delete=models.PROTECT, related_name="+")
    mapped_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    mapped_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["rate"]
        constraints = [models.UniqueConstraint(fields=["company", "rate"], name="tax_rate_mapping_unique")]


class VendorLink(models.Model):
    """Our supplier ↔ a QuickBooks vendor of the connected company.

    A vendor stands for one supplier *of a company*: two procuresync companies may each have been
    connected to the same QuickBooks company (one after the other), so links are per company.
    """

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="+")
    supplier = models.OneToOneField("procurement.Supplier", on_delete=models.CASCADE, related_name="qbo_vendor")
    realm_id = models.CharField(max_length=40)
    qbo_id = models.CharField(max_length=40)
    qbo_name = models.CharField(max_length=500)
    how = models.CharField(max_length=20)  # matched by name / email / tax id, mapped by hand, created
    # The vendor's CurrencyRef: fixed once the vendor exists (qbo-api.md §1.6); blank: not known.
    currency = models.CharField(max_length=3, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["company", "realm_id", "qbo_id"], name="vendor_link_unique")]


class SyncStatus(models.TextChoices):
    NOT_SENT = "not_sent", "Not sent"
    QUEUED = "queued", "Queued"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"
    HISTORICAL = "historical", "Historical"
    INTERNAL = "internal", "Internal"


class DocumentSync(models.Model):
    """The document's state in QuickBooks: its QBO id and SyncToken, and the last outcome."""

    document = models.OneToOneField(Document, on_delete=models.CASCADE, related_name="qbo_sync", primary_key=True)
    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="+")
    status = models.CharField(max_length=20, choices=SyncStatus.choices, default=SyncStatus.NOT_SENT)
    realm_id = models.CharField(max_length=40, blank=True)
    qbo_entity = models.CharField(max_length=20, blank=True)  # Bill or PurchaseOrder
    qbo_id = models.CharField(max_length=40, blank=True)
    sync_token = models.CharField(max_length=20, blank=True)
    deleted_in_qbo = models.BooleanField(default=False)
    synced_revision = models.IntegerField(null=True, blank=True)
    # Purchase orders: our line id → the Id QuickBooks gave that line, so a bill made from the
    # order can link its lines to the order's lines (LinkedTxn with TxnLineId, qbo-api.md §11a).
    line_ids = models.JSONField(default=dict, blank=True)
    # A create whose answer never arrived: before creating again, look for it in QBO.
    create_uncertain = models.BooleanField(default=False)
    # What that create sent: {"revision", "doc_number", "vendor", "request_id"}. A bill found or
    # replayed later holds that revision, not necessarily the document's current one.
    create_attempt = models.JSONField(null=True, blank=True)
    # Linked to a bill that may have existed in QuickBooks for a while (found after a lost create
    # answer): payments recorded on it meanwhile were ignored as not ours. The catch-up reads
    # them and clears this.
    payments_unchecked = models.BooleanField(default=False)
    error_code = models.CharField(max_length=40, blank=True)
    error_message = models.TextField(blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [
            models.Index(fields=["company", "status"]),
            # Payments coming in name the bill by its QuickBooks Id: a page of an import, a webhook
            # and the catch-up look bills up this way (without it, through all the company's rows).
            models.Index(fields=["realm_id", "qbo_entity", "qbo_id"], name="documentsync_qbo_object_idx"),
            # The rows that take a document out of "Not sent", in document order: the filter's count
            # reads them from this index alone, beside procurement's ``document_kind_id_idx``, instead
            # of reading every sync row of the table (quickbooks.selectors.filter_by_sync).
            models.Index(
                fields=["document", "company"],
                condition=~models.Q(status=SyncStatus.NOT_SENT),
                name="documentsync_sent_idx",
            ),
        ]


class OutboxState(models.TextChoices):
    PENDING = "pending", "Pending"
    IN_FLIGHT = "in_flight", "In flight"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class OutboxItem(models.Model):
    """ "Make QuickBooks match document D as it is now." Written in the transaction that changed D."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="+")
    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="qbo_outbox")
    reason = models.CharField(max_length=40)
    state = models.CharField(max_length=20, choices=OutboxState.choices, default=OutboxState.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    not_before = models.DateTimeField()
    claimed_until = models.DateTimeField(null=True, blank=True)
    # Set by the compare-and-set claim, so a worker knows which rows it won.
    claim_token = models.UUIDField(null=True, blank=True)
    # When a message was last sent for this row; the sweeper re-sends rows whose message got lost.
    dispatched_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["state", "not_before"]),
            models.Index(fields=["company", "state"]),
            models.Index(fields=["document", "state"]),
        ]
        constraints = [
            # Deliveries of one document never overlap: two workers claiming two rows of it at the
            # same moment each see none of it in flight; the database refuses the second claim.
            models.UniqueConstraint(
                fields=["document"], condition=models.Q(state="in_flight"), name="outbox_one_in_flight_per_document"
            )
        ]


class SyncAttempt(models.Model):
    """One call to QuickBooks on behalf of an outbox item: what was asked and what came back."""

    outbox = models.ForeignKey(OutboxItem, on_delete=models.CASCADE, related_name="attempt_rows")
    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="qbo_attempts")
    operation = models.CharField(max_length=60)
    request_id = models.CharField(max_length=64, blank=True)
    started_at = models.DateTimeField()
    duration_ms = models.PositiveIntegerField(default=0)
    http_status = models.PositiveIntegerField(null=True, blank=True)
    outcome = models.CharField(max_length=20)  # ok, retry, failed
    fault_code = models.CharField(max_length=40, blank=True)
    message = models.TextField(blank=True)
    qbo_id = models.CharField(max_length=40, blank=True)
    api_calls = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-started_at", "-id"]
        # Health's week and the sync log read attempts by time; without it they went through
        # every attempt of the company's documents.
        indexes = [models.Index(fields=["-started_at", "-id"], name="syncattempt_started_idx")]


class ReconciliationState(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class ReconciliationRun(models.Model):
    """One comparison of what QuickBooks should hold for a company with what it holds
    (``quickbooks.reconciliation``); the differences found are kept as JSON rows."""

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="+")
    realm_id = models.CharField(max_length=40, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )  # None: the nightly run
    state = models.CharField(max_length=20, choices=ReconciliationState.choices, default=ReconciliationState.QUEUED)
    phase = models.CharField(max_length=100, blank=True)  # what it is doing now, for the progress line
    documents_total = models.PositiveIntegerField(default=0)
    documents_checked = models.PositiveIntegerField(default=0)
    differences = models.PositiveIntegerField(default=0)
    api_calls = models.PositiveIntegerField(default=0)
    rows = models.JSONField(default=list, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["company", "-created_at"])]

    @property
    def finished(self) -> bool:
        return self.state in (ReconciliationState.DONE, ReconciliationState.FAILED)

    @property
    def calls_per_thousand(self) -> float | None:
        """QuickBooks calls per 1,000 documents checked (None before any document was checked)."""
        if not self.documents_checked:
            return None
        return round(self.api_calls * 1000 / self.documents_checked, 1)


class ImportedVendor(models.Model):
    """A vendor of the connected QuickBooks company, as the last list import (or a delivery that
    found or created it) read it: what an Admin chooses from when linking a supplier by hand.

    Vendors QuickBooks made inactive are kept with ``active`` off (not offered; a link to one stays
    what it is). A vendor QuickBooks no longer answers with at all (merged into another) is deleted:
    it cannot be linked again, and ``VendorLink`` keeps its own copy of the id and name.
    """

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="+")
    realm_id = models.CharField(max_length=40)
    qbo_id = models.CharField(max_length=40)
    name = models.CharField(max_length=500)  # DisplayName
    email = models.CharField(max_length=254, blank=True)  # PrimaryEmailAddr.Address
    currency = models.CharField(max_length=3, blank=True)  # CurrencyRef; blank: not said (home currency)
    active = models.BooleanField(default=True)
    read_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "qbo_id"]
        constraints = [models.UniqueConstraint(fields=["company", "realm_id", "qbo_id"], name="imported_vendor_unique")]

    def __str__(self) -> str:
        return f"{self.name} (QuickBooks vendor {self.qbo_id})"


# Django loads an app's models from its models module; the payments-in wing keeps its own in
# quickbooks/inbound/models.py, registered here.
from quickbooks.inbound.models import (  # noqa: E402
    EventState,
    ImportState,
    PaymentImportRun,
    PaymentsCursor,
    WebhookEvent,
)
from quickbooks.progress_models import ListImportRun, RunState, SendRun  # noqa: E402

__all__ = [
    "Connection",
    "ConnectionStatus",
    "DocumentSync",
    "EventState",
    "ImportState",
    "ImportedVendor",
    "ListImportRun",
    "OutboxItem",
    "OutboxState",
    "PaymentImportRun",
    "PaymentsCursor",
    "ReconciliationRun",
    "ReconciliationState",
    "RunState",
    "SendRun",
    "SyncAttempt",
    "SyncStatus",
    "VendorLink",
    "WebhookEvent",
]
