"""REST endpoints for reconciliation (mounted under /api/v1/quickbooks/reconciliations) and a
document's QuickBooks preview (/api/v1/{invoices,purchase-orders,credit-notes}/{id}/quickbooks-preview).

Thin like ``payments.api``: the services in ``quickbooks.reconciliation_runs`` check the Admin role
and look runs up from ``request.user``, so another company's run is a 404.
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from procurement import selectors as procurement_selectors
from procurement.models import DocumentKind
from procuresync.api import ID, parsed, user_of
from procuresync.api_errors import READ_ERRORS, WRITE_ERRORS, ErrorOut
from quickbooks import reconciliation_runs
from quickbooks.errors import SendRefused
from quickbooks.models import Connection
from quickbooks.preview import document_preview
from quickbooks.reconciliation import DifferenceKind
from quickbooks.serializers import PreviewOut, ReconciliationRunOut


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


class DocumentPreviewView(APIView):
    """The document as QuickBooks would receive it now; the URL sets ``kind``."""

    kind: str = DocumentKind.INVOICE

    @extend_schema(parameters=[ID], responses={200: PreviewOut, 409: ErrorOut, **READ_ERRORS})
    def get(self, request: Request, pk: int) -> Response:
        """What approving (or sending) the document now would put in QuickBooks, in words and as the
        exact payload, with every warning that would stop or change the send. Reads only
        procuresync's database: no QuickBooks call. 409 when the document does not go to QuickBooks
        (not connected, a kind not sent, cancelled or rejected)."""
        user = user_of(request)
        document = procurement_selectors.document_get(user=user, document_id=pk, kind=self.kind)
        preview = document_preview(document, Connection.objects.filter(company_id=document.company_id).first())
        if preview is None:
            raise SendRefused(
                f"{document.number} does not go to QuickBooks: QuickBooks is not connected, this kind of document "
                "is not sent (Integrations settings), or it is cancelled or rejected.",
                code="not_sent_to_quickbooks",
            )
        return Response(PreviewOut(preview).data)
