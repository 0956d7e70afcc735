"""REST endpoints for reconciliation (mounted under /api/v1/quickbooks/reconciliations).

Thin like ``payments.api``: the services in ``quickbooks.reconciliation_runs`` check the Admin role
and look runs up from ``request.user``, so another company's run is a 404.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from procuresync.api import ID, user_of
from procuresync.api_errors import READ_ERRORS, WRITE_ERRORS, ErrorOut
from procuresync.errors import ValidationFailed
from quickbooks import reconciliation_runs
from quickbooks.reconciliation import DifferenceKind
from quickbooks.serializers import ReconciliationRunOut

KIND = OpenApiParameter(
    "kind",
    str,
    OpenApiParameter.QUERY,
    required=False,
    enum=DifferenceKind.values,
    description="rows of this kind only",
)


class ReconciliationListView(APIView):
    @extend_schema(request=None, responses={201: ReconciliationRunOut, **WRITE_ERRORS})
    def post(self, request: Request) -> Response:
        """Start a reconciliation of the company with QuickBooks (Admin role). It runs in the
        background; read the run until ``finished`` for its differences. While one is queued or
        running, that one is answered."""
        run = reconciliation_runs.run_start(actor=user_of(request))
        return Response(ReconciliationRunOut(run).data, status=status.HTTP_201_CREATED)


class ReconciliationDetailView(APIView):
    @extend_schema(parameters=[ID, KIND], responses={200: ReconciliationRunOut, 400: ErrorOut, **READ_ERRORS})
    def get(self, request: Request, pk: int) -> Response:
        """A reconciliation run: progress while it runs, then its differences (Admin role)."""
        run = reconciliation_runs.run_get(user=user_of(request), run_id=pk)
        kind = request.query_params.get("kind", "")
        if kind and kind not in DifferenceKind.values:
            choices = ", ".join(DifferenceKind.values)
            raise ValidationFailed(f"Unknown kind “{kind}”.", fields={"kind": [f"Choose one of: {choices}."]})
        return Response(ReconciliationRunOut(run, context={"kind": kind}).data)
