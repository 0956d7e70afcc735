"""What the reconciliation endpoints answer (``quickbooks.api``)."""

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
