"""Suppliers, purchase orders, invoices, credit notes, their lines, custom fields and the event log.

Purchase orders, invoices and supplier credit notes share one ``Document`` model because they share
numbering, lines, discounts, totals and the approval workflow. Totals are stored for fast lists but only ever written
by ``procurement.services.document_recalculate`` from the lines (see ``procurement.money``).
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower

from accounts.models import Company


class Supplier(models.Model):
    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="suppliers")
    name = models.CharField(max_length=200)
    email = models.EmailField(blank=True)
    address = models.TextField(blank=True)
    tax_id = models.CharField("Tax ID", max_length=50, blank=True)
    currency = models.CharField(max_length=3)
    is_active = models.BooleanField("Active", default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(Lower("name"), "company", name="supplier_name_unique_per_company_ci"),
        ]

    def __str__(self) -> str:
        return self.name


class ListKind(models.TextChoices):
    ACCOUNT = "account", "Account"
    CLASS = "class", "Class"
    CUSTOMER_PROJECT = "customer_project", "Customer / project"
    ITEM = "item", "Product / service"
    TAX_CODE = "tax_code", "Tax code"
    LOCATION = "location", "Location"
    TERM = "term", "Payment term"


class ListOption(models.Model):
    """A choice for a line's account, class, customer/project, item or tax code, or a location.

    Typed in by hand today; the QuickBooks integration fills ``external_id`` when it imports the
    company's lists, so lines keep pointing at the same option.
    """

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="list_options")
    kind = models.CharField(max_length=20, choices=ListKind.choices)
    name = models.CharField(max_length=200)
    external_id = models.CharField(max_length=50, blank=True)
    # What QuickBooks says the option is, e.g. an account's AccountType ("Expense", "Accounts Payable").
    detail = models.CharField(max_length=100, blank=True)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["kind", "name"]
        constraints = [
            models.UniqueConstraint(Lower("name"), "company", "kind", name="list_option_unique_ci"),
        ]

    def __str__(self) -> str:
        return self.name


class DocumentKind(models.TextChoices):
    PURCHASE_ORDER = "purchase_order", "Purchase order"
    INVOICE = "invoice", "Invoice"
    # Money the supplier owes us back (returned goods, a price correction). QuickBooks applies it
    # to bills; it is never paid here.
    CREDIT_NOTE = "credit_note", "Credit note"


# Kinds that carry the supplier's own number (Supplier Unique Code): required, and unique per
# supplier among the documents of that kind that are not cancelled.
SUPPLIER_CODE_KINDS = frozenset({DocumentKind.INVOICE, DocumentKind.CREDIT_NOTE})


def carries_supplier_code(kind: str) -> bool:
    return kind in SUPPLIER_CODE_KINDS


class CustomField(models.Model):
    """A document custom field defined by the company, e.g. "Location" or "Project"."""

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="custom_fields")
    name = models.CharField(max_length=100)
    # Blank: free text. A list kind (e.g. "location"): the value is the name of one of the company's
    # options of that kind, which is how a "Location" field reaches QuickBooks as the Department.
    choices_from = models.CharField(max_length=20, choices=ListKind.choices, blank=True)
    applies_to_purchase_orders = models.BooleanField(default=True)
    # Credit notes follow the invoices' setting: they are the same paper from the same supplier.
    applies_to_invoices = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(Lower("name"), "company", name="custom_field_unique_ci")]

    def __str__(self) -> str:
        return self.name

    def applies_to(self, kind: str) -> bool:
        if kind == DocumentKind.PURCHASE_ORDER:
            return self.applies_to_purchase_orders
        return self.applies_to_invoices


class DocumentNumbering(models.Model):
    """Next number per company and kind; rows are locked while a number is taken."""

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="numberings")
    kind = models.CharField(max_length=20, choices=DocumentKind.choices)
    prefix = models.CharField(max_length=20, blank=True)
    next_value = models.PositiveIntegerField(default=1)

    class Meta:
        constraints = [models.UniqueConstraint("company", "kind", name="numbering_unique")]


class Status(models.TextChoices):
    DRAFT = "draft", "Draft"
    PENDING = "pending", "Pending"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"
    IN_REVISION = "in_revision", "In Revision"
    CANCELLED = "cancelled", "Cancelled"
    PARTLY_PAID = "partly_paid", "Partly Paid"
    PAID = "paid", "Paid"
    # Credit notes only, set by payments when QuickBooks applies the credit to bills (never by a user).
    PARTLY_APPLIED = "partly_applied", "Partly Applied"
    APPLIED = "applied", "Applied"


class DiscountType(models.TextChoices):
    NONE = "", "No discount"
    PERCENT = "percent", "Percent"
    AMOUNT = "amount", "Amount"


class Document(models.Model):
    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="documents")
    kind = models.CharField(max_length=20, choices=DocumentKind.choices)
    sequence = models.PositiveIntegerField()
    number = models.CharField(max_length=40)
    supplier = models.ForeignKey(Supplier, on_delete=models.PROTECT, related_name="documents")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.DRAFT)
    issue_date = models.DateField()
    due_date = models.DateField(null=True, blank=True)
    currency = models.CharField(max_length=3)
    exchange_rate = models.DecimalField(max_digits=18, decimal_places=8, default=Decimal("1"))
    notes = models.TextField(blank=True)
    discount_type = models.CharField(max_length=10, choices=DiscountType.choices, default="", blank=True)
    discount_value = models.DecimalField(max_digits=18, decimal_places=4, default=Decimal("0"))
    # Invoices and credit notes (``carries_supplier_code``): the supplier's own number for it, shown
    # as the QuickBooks Bill (or VendorCredit) number.
    supplier_unique_code = models.CharField(max_length=100, blank=True)
    purchase_order = models.ForeignKey("self", on_delete=models.PROTECT, null=True, blank=True, related_name="invoices")
    # Credit notes only: the invoice of the same supplier it credits, if the supplier named one.
    credited_invoice = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="credit_notes"
    )
    # Derived by document_recalculate; never typed in.
    subtotal = models.DecimalField(max_digits=18, decimal_places=2, default=Decimal("0"))
    discount_total = models.DecimalField(max_digits=18, decimal_places=2, default=Decimal("0"))
    tax_total = models.DecimalField(max_digits=18, decimal_places=2, default=Decimal("0"))
    total = models.DecimalField(max_digits=18, decimal_places=2, default=Decimal("0"))
    revision = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-sequence"]
        constraints = [
            models.UniqueConstraint("company", "kind", "sequence", name="document_sequence_unique"),
            models.UniqueConstraint(
                "supplier",
                Lower("supplier_unique_code"),
                condition=models.Q(kind="invoice") & ~models.Q(status="cancelled"),
                name="supplier_unique_code_unique_per_supplier",
            ),
            # The same rule among credit notes: a supplier may number its credit notes and its
            # invoices from separate series, so a credit note's code never clashes with an invoice's.
            models.UniqueConstraint(
                "supplier",
                Lower("supplier_unique_code"),
                condition=models.Q(kind="credit_note") & ~models.Q(status="cancelled"),
                name="supplier_unique_code_unique_per_supplier_credit_note",
            ),
            models.CheckConstraint(condition=models.Q(total__gte=0), name="document_total_not_negative"),
        ]
        # The lists' orders, with the id last: a page's ids come from the index alone (an
        # index-only scan on PostgreSQL), however deep the page (procuresync/paging.py).
        indexes = [
            models.Index(fields=["company", "kind", "status", "-sequence", "id"], name="document_list_status_idx"),
            models.Index(fields=["company", "kind", "-sequence", "id"], name="document_list_idx"),
            # A kind's ids in id order: the QuickBooks filter "Not sent" counts its documents by
            # walking these beside the sync rows' ``documentsync_sent_idx`` (a merge anti join of two
            # index-only scans; quickbooks.selectors.filter_by_sync).
            models.Index(fields=["company", "kind", "id"], name="document_kind_id_idx"),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def is_invoice(self) -> bool:
        return self.kind == DocumentKind.INVOICE

    @property
    def is_credit_note(self) -> bool:
        return self.kind == DocumentKind.CREDIT_NOTE

    @property
    def carries_supplier_code(self) -> bool:
        return carries_supplier_code(self.kind)


class DocumentLine(models.Model):
    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveIntegerField()
    description = models.CharField(max_length=500)
    quantity = models.DecimalField(max_digits=18, decimal_places=4)
    unit_price = models.DecimalField(max_digits=18, decimal_places=4)
    discount_type = models.CharField(max_length=10, choices=DiscountType.choices, default="", blank=True)
    discount_value = models.DecimalField(max_digits=18, decimal_places=4, default=Decimal("0"))
    account = models.ForeignKey(ListOption, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    line_class = models.ForeignKey(
        ListOption, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name="class"
    )
    customer_project = models.ForeignKey(ListOption, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    # An item makes the line item-based in QuickBooks (ItemBasedExpenseLine); otherwise it is
    # account-based.
    item = models.ForeignKey(ListOption, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    tax_code = models.ForeignKey(ListOption, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    tax_rate = models.DecimalField(max_digits=7, decimal_places=4, default=Decimal("0"))
    # Derived: net after the line's own discount, the share of the document discount, and tax.
    net_amount = models.DecimalField(max_digits=18, decimal_places=2, default=Decimal("0"))
    document_discount_share = models.DecimalField(max_digits=18, decimal_places=2, default=Decimal("0"))
    tax_amount = models.DecimalField(max_digits=18, decimal_places=2, default=Decimal("0"))

    class Meta:
        ordering = ["position", "id"]

    @property
    def amount_after_document_discount(self) -> Decimal:
        return self.net_amount - self.document_discount_share


class CustomFieldValue(models.Model):
    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="custom_values")
    field = models.ForeignKey(CustomField, on_delete=models.CASCADE, related_name="values")
    value = models.CharField(max_length=200, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint("document", "field", name="custom_value_unique")]


class EventKind(models.TextChoices):
    CREATED = "created", "Created"
    TRANSITION = "transition", "Status changed"
    EDITED = "edited", "Edited"
    EDIT_WITHOUT_REVISION = "edit_without_revision", "Edited without revision"


class DocumentEvent(models.Model):
    """Append-only history: who did what, when, from which status to which, and why."""

    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=30, choices=EventKind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # Set when the change came from outside, e.g. "QuickBooks payment 123".
    source = models.CharField(max_length=100, blank=True)
    action = models.CharField(max_length=30, blank=True)
    from_status = models.CharField(max_length=20, choices=Status.choices, blank=True)
    to_status = models.CharField(max_length=20, choices=Status.choices, blank=True)
    comment = models.TextField(blank=True)
    changes = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def save(self, *args: object, **kwargs: object) -> None:
        if self.pk is not None:
            raise RuntimeError("Document events are append-only")
        super().save(*args, **kwargs)


class Attachment(models.Model):
    """A file on a document (the supplier's PDF, a quote). Sent to QuickBooks with the document,
    except kinds QuickBooks does not take (see ``quickbooks.export.attachments``)."""

    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(upload_to="attachments/%Y/%m/")
    name = models.CharField(max_length=255)
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    # The QuickBooks Attachable it became, once uploaded.
    qbo_attachable_id = models.CharField(max_length=40, blank=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return self.name
