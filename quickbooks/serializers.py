"""What the QuickBooks endpoints answer (``quickbooks.api``): reconciliation runs and previews."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from quickbooks.models import ReconciliationRun
from quickbooks.reconciliation import DifferenceKind, Fix
from quickbooks.reconciliation_runs import rows_of


class ReconciliationRowOut(serializers.Serializer):
    """One difference between what QuickBooks should hold and what it holds."""

    index = serializers.IntegerField(help_text="the row's position in the run")
    document_id = serializers.IntegerField()
    number = serializers.CharField(help_text="the document's number")
    kind = serializers.ChoiceField(choices=DifferenceKind.choices)
    kind_label = serializers.CharField()
    message = serializers.CharField(help_text="what differs, with both values")
    fix = serializers.ChoiceField(choices=Fix.choices)
    fix_label = serializers.CharField()
    qbo_id = serializers.CharField(help_text="the QuickBooks transaction concerned (bill, PO or bill payment)")
    qbo_url = serializers.CharField(help_text="where to see it in QuickBooks")
    payment_ids = serializers.ListField(child=serializers.CharField())
    fixed = serializers.CharField(help_text='what was done about it ("" until a fix is applied)')


class ReconciliationRunOut(serializers.Serializer):
    """A reconciliation run: its progress, its counts and (when done) its differences."""

    id = serializers.IntegerField()
    state = serializers.CharField()
    finished = serializers.BooleanField()
    phase = serializers.CharField()
    documents_total = serializers.IntegerField()
    documents_checked = serializers.IntegerField()
    differences = serializers.IntegerField()
    api_calls = serializers.IntegerField(help_text="requests made to QuickBooks")
    calls_per_thousand = serializers.FloatField(allow_null=True, help_text="requests per 1,000 documents checked")
    error = serializers.CharField()
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    rows = serializers.SerializerMethodField(help_text="the differences (of one kind when ?kind= is given)")

    @extend_schema_field(ReconciliationRowOut(many=True))
    def get_rows(self, run: ReconciliationRun) -> list[dict[str, Any]]:
        return list(ReconciliationRowOut(rows_of(run, self.context.get("kind", "")), many=True).data)


class PreviewWarningOut(serializers.Serializer):
    code = serializers.CharField(
        help_text="closed_period, tax_unmapped, tax_total_differs, currency_refused, mapping, doc_number_too_long, ..."
    )
    message = serializers.CharField(help_text="what is wrong and what to do")
    stops = serializers.BooleanField(help_text="QuickBooks will refuse the document (false: worth knowing only)")


class PreviewLineOut(serializers.Serializer):
    number = serializers.IntegerField()
    description = serializers.CharField()
    detail = serializers.CharField(help_text="Account-based or Item-based")
    account = serializers.CharField()
    item = serializers.CharField()
    quantity = serializers.CharField()
    unit_price = serializers.CharField()
    line_class = serializers.CharField()
    customer = serializers.CharField()
    tax_code = serializers.CharField()
    amount = serializers.DecimalField(max_digits=18, decimal_places=2)
    order_line = serializers.CharField(help_text="the purchase order line it bills, if any")


class PreviewOut(serializers.Serializer):
    """What the document will become in QuickBooks if approved (or sent) now, and what would stop it."""

    entity = serializers.CharField(help_text="Bill, PurchaseOrder or VendorCredit")
    what = serializers.CharField()
    vendor = serializers.CharField()
    vendor_note = serializers.CharField()
    doc_number = serializers.CharField()
    txn_date = serializers.CharField()
    due_date = serializers.CharField()
    currency = serializers.CharField()
    exchange_rate = serializers.DecimalField(max_digits=18, decimal_places=8, allow_null=True)
    tax_calculation = serializers.CharField()
    lines = PreviewLineOut(many=True)
    tax_total = serializers.DecimalField(max_digits=18, decimal_places=2)
    total = serializers.DecimalField(max_digits=18, decimal_places=2, help_text="TotalAmt as QuickBooks computes it")
    folding = serializers.ListField(child=serializers.CharField())
    warnings = PreviewWarningOut(many=True)
    stops = serializers.BooleanField(help_text="true when QuickBooks will refuse it as it is")
    payload = serializers.JSONField(allow_null=True, help_text="exactly the JSON that would be sent; null if it cannot")
