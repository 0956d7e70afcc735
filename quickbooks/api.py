"""REST endpoints for reconciliation (mounted under /api/v1/quickbooks/reconciliations).

Thin like ``payments.api``: the services in ``quickbooks.reconciliation_runs`` check the Admin role
and look runs up from ``request.user``, so another company's run is a 404.
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from procuresync.api import ID, parsed, user_of
from procuresync.api_errors import READ_ERRORS, WRITE_ERRORS, ErrorOut
from quickbooks import reconciliation_runs
from quickbooks.reconciliation import DifferenceKind
from quickbooks.serializers import ReconciliationRunOut


class RunFilterIn(serializers.Serializer):
    kind = serializers.ChoiceField(DifferenceKind.choices, required=False, help_text="rows of this kind only")


class ReconciliationListView(APIView):
    @extend_schema(request=None, responses={201: ReconciliationRunOut, **WRITE_ERRORS})
    def post(self, request: Request) -> Response:
        """Start a reconciliation of the company with QuickBooks (Admin role). It runs in the
        background; read the run until ``finished`` for its differences. While one is queued or
        running, that one is answered."""
        run = reconciliation_runs.run_start(actor=user_of(request))
        return Response(ReconciliationRunOut(run).data, status=status.HTTP_201_CREATED)


class ReconciliationDetailView(APIView):
    @extend_schema(parameters=[ID, RunFilterIn], responses={200: ReconciliationRunOut, 400: ErrorOut, **READ_ERRORS})
    def get(self, request: Request, pk: int) -> Response:
        """A reconciliation run: progress while it runs, then its differences (Admin role)."""
        run = reconciliation_runs.run_get(user=user_of(request), run_id=pk)
        kind = parsed(RunFilterIn, request.query_params).validated_data.get("kind", "")
        return Response(ReconciliationRunOut(run, context={"kind": kind}).data)
