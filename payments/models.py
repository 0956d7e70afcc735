"""Payments of approved invoices: recorded here by hand, or imported from QuickBooks.

A supplier credit that QuickBooks applies in a bill payment is a payment of that bill (method
Supplier Credit) too; ``credit_note`` then names our credit note it came from, whose status
(Partly Applied, Applied) follows from such payments.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from accounts.models import Company
from procurement.models import Document


class Method(models.TextChoices):
    BILL_PAYMENT = "bill_payment", "Bill Payment"
    CHEQUE = "cheque", "Cheque"
    CARD = "card", "Credit/Debit Card"
    SUPPLIER_CREDIT = "supplier_credit", "Supplier Credit"


class Source(models.TextChoices):
    RECORDED_HERE = "recorded_here", "Recorded here"
    QUICKBOOKS = "quickbooks", "QuickBooks"


class Via(models.TextChoices):
    """How the payment reached procuresync (QuickBooks payments arrive three ways)."""

    RECORDED_HERE = "recorded_here", "Recorded here"
    WEBHOOK = "webhook", "QuickBooks webhook"
    CATCH_UP = "catch_up", "QuickBooks catch-up"
    IMPORT = "import", "QuickBooks import"


class PaymentStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    CANCELLED = "cancelled", "Cancelled"


class Payment(models.Model):
    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="payments")
    invoice = models.ForeignKey(Document, on_delete=models.PROTECT, related_name="payments")
    # Supplier credits from QuickBooks only: the credit note applied to the invoice's bill.
    credit_note = models.ForeignKey(
        Document, on_delete=models.PROTECT, null=True, blank=True, related_name="credit_applications"
    )
    amount = models.DecimalField(max_digits=18, decimal_places=2)
    paid_on = models.DateField()
    method = models.CharField(max_length=20, choices=Method.choices)
    source = models.CharField(max_length=20, choices=Source.choices, default=Source.RECORDED_HERE)
    status = models.CharField(max_length=10, choices=PaymentStatus.choices, default=PaymentStatus.ACTIVE)
    reference = models.CharField(max_length=100, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancel_reason = models.CharField(max_length=200, blank=True)
    via = models.CharField(max_length=20, choices=Via.choices, default=Via.RECORDED_HERE)
    # A payment imported from QuickBooks: the company (realm), the BillPayment id, and which part of
    # it (bill id, cash or which vendor credit) — the key that makes importing twice count once.
    qbo_realm_id = models.CharField(max_length=40, blank=True)
    qbo_txn_id = models.CharField(max_length=40, blank=True)
    qbo_line_key = models.CharField(max_length=80, blank=True)
    # The BillPayment's SyncToken last applied (a deletion counts as the highest), so a read that
    # was overtaken by a newer one — two workers, a slow webhook — cannot undo it.
    qbo_version = models.BigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-paid_on", "-id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="payment_amount_positive"),
            models.UniqueConstraint(
                fields=["qbo_realm_id", "qbo_txn_id", "qbo_line_key"],
                condition=~models.Q(qbo_txn_id=""),
                name="payment_qbo_line_unique",
            ),
        ]
        indexes = [
            # The list's whole order (-paid_on, -id): without the id the database sorted each day's
            # payments again, and could not find a deep page's ids from the index alone.
            models.Index(fields=["company", "-paid_on", "-id"], name="payment_list_idx"),
            # The page's two filters that keep a share of the rows (a method about a quarter, a status
            # a few in a hundred): counted, and paged, from these alone instead of every payment's
            # row (bench/lists.py at 100,000: ?method=card p50 77 -> 51 ms, ?status=cancelled 64 -> 38).
            models.Index(fields=["company", "method", "-paid_on", "-id"], name="payment_list_method_idx"),
            models.Index(fields=["company", "status", "-paid_on", "-id"], name="payment_list_status_idx"),
            models.Index(fields=["invoice", "status"]),
        ]

    def __str__(self) -> str:
        return f"{self.get_method_display()} {self.amount} on {self.paid_on}"
