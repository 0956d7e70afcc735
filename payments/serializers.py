"""API input and output shapes for payments. Amounts are strings with 2 decimals."""

from __future__ import annotations

from rest_framework import serializers

from payments.models import Method, Payment, PaymentStatus
from procuresync.api import unsigned_decimal


class PaymentIn(serializers.Serializer):
    invoice = serializers.IntegerField(help_text="An approved (or partly paid) invoice of your company.")
    amount = unsigned_decimal(2, help_text="Greater than zero.")
    paid_on = serializers.DateField()
    method = serializers.ChoiceField(Method.choices)
    reference = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")


class PaymentCancelIn(serializers.Serializer):
    reason = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class PaymentFilterIn(serializers.Serializer):
    date_from = serializers.DateField(required=False, allow_null=True, default=None)
    date_to = serializers.DateField(required=False, allow_null=True, default=None)
    supplier = serializers.IntegerField(required=False, allow_null=True, default=None)
    method = serializers.ChoiceField(Method.choices, required=False, allow_blank=True, default="")
    status = serializers.ChoiceField(PaymentStatus.choices, required=False, allow_blank=True, default="")
    invoice = serializers.IntegerField(required=False, allow_null=True, default=None)


class PaymentOut(serializers.ModelSerializer):
    invoice_number = serializers.CharField(source="invoice.number", read_only=True)
    invoice_status = serializers.CharField(source="invoice.status", read_only=True)
    supplier = serializers.IntegerField(source="invoice.supplier_id", read_only=True)
    supplier_name = serializers.CharField(source="invoice.supplier.name", read_only=True)
    currency = serializers.CharField(source="invoice.currency", read_only=True)
    credit_note = serializers.IntegerField(
        source="credit_note_id",
        read_only=True,
        allow_null=True,
        help_text="A supplier credit from QuickBooks: the credit note it applied to the invoice.",
    )

    class Meta:
        model = Payment
        fields = [
            "id",
            "invoice",
            "invoice_number",
            "invoice_status",
            "supplier",
            "supplier_name",
            "amount",
            "currency",
            "paid_on",
            "method",
            "source",
            "status",
            "reference",
            "credit_note",
            "created_at",
            "cancelled_at",
            "cancel_reason",
        ]
        read_only_fields = fields


class PaymentImportIn(serializers.Serializer):
    date_from = serializers.DateField()
    date_to = serializers.DateField()


class PaymentImportOut(serializers.Serializer):
    """A date-range import of QuickBooks bill payments and what it found so far."""

    id = serializers.IntegerField()
    date_from = serializers.DateField()
    date_to = serializers.DateField()
    state = serializers.CharField()
    finished = serializers.BooleanField()
    pages = serializers.IntegerField()
    total = serializers.IntegerField(
        allow_null=True, help_text="bill payments QuickBooks has in the range (null until counted)"
    )
    bill_payments = serializers.IntegerField(help_text="bill payments read so far")
    new = serializers.IntegerField()
    known = serializers.IntegerField()
    updated = serializers.IntegerField()
    cancelled = serializers.IntegerField()
    unlinked = serializers.IntegerField(help_text="bill payment lines not linked to our invoices")
    error = serializers.CharField()
    created_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)
