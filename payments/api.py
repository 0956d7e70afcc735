"""REST endpoints for payments (mounted under /api/v1/payments/).

Thin like ``procurement.api``: parse, call the selector or service (which check the Payment role),
render. The invoice and the payment are looked up from ``request.user``, so another company's ids
are a 404.
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from payments import selectors, services
from payments.serializers import (
    PaymentCancelIn,
    PaymentFilterIn,
    PaymentImportIn,
    PaymentImportOut,
    PaymentIn,
    PaymentOut,
)
from procurement.selectors import document_get
from procuresync.api import ID, parsed, user_of
from procuresync.api_errors import READ_ERRORS, WRITE_ERRORS
from procuresync.paging import paginated_ids_first
from quickbooks.inbound import payments_import


class PaymentListView(APIView):
    pagination_class = PageNumberPagination

    @extend_schema(parameters=[PaymentFilterIn], responses={200: PaymentOut(many=True), **READ_ERRORS})
    def get(self, request: Request) -> Response:
        filters = parsed(PaymentFilterIn, request.query_params).validated_data
        payments = selectors.payment_list(
            user=user_of(request),
            date_from=filters["date_from"],
            date_to=filters["date_to"],
            supplier_id=filters["supplier"],
            method=filters["method"],
            status=filters["status"],
            invoice_id=filters["invoice"],
        )
        return paginated_ids_first(self, request, payments, PaymentOut)

    @extend_schema(request=PaymentIn, responses={201: PaymentOut, **WRITE_ERRORS})
    def post(self, request: Request) -> Response:
        values = parsed(PaymentIn, request.data).validated_data
        # Any document of the caller's: the service says why a purchase order or a credit note takes no payment.
        invoice = document_get(user=user_of(request), document_id=values["invoice"])
        payment = services.payment_record(
            actor=user_of(request),
            invoice=invoice,
            amount=values["amount"],
            paid_on=values["paid_on"],
            method=values["method"],
            reference=values["reference"],
        )
        return Response(PaymentOut(payment).data, status=status.HTTP_201_CREATED)


class PaymentDetailView(APIView):
    @extend_schema(parameters=[ID], responses={200: PaymentOut, **READ_ERRORS})
    def get(self, request: Request, pk: int) -> Response:
        return Response(PaymentOut(selectors.payment_get(user=user_of(request), payment_id=pk)).data)


class PaymentCancelView(APIView):
    @extend_schema(parameters=[ID], request=PaymentCancelIn, responses={200: PaymentOut, **WRITE_ERRORS})
    def post(self, request: Request, pk: int) -> Response:
        payment = selectors.payment_get(user=user_of(request), payment_id=pk)
        reason = parsed(PaymentCancelIn, request.data).validated_data["reason"]
        payment = services.payment_cancel(actor=user_of(request), payment=payment, reason=reason)
        return Response(PaymentOut(payment).data)


class PaymentImportListView(APIView):
    @extend_schema(request=PaymentImportIn, responses={201: PaymentImportOut, **WRITE_ERRORS})
    def post(self, request: Request) -> Response:
        """Import QuickBooks bill payments of a date range (Payment role; the company's "Import
        payments from QuickBooks" switch must be on). Runs in the background; poll the result."""
        values = parsed(PaymentImportIn, request.data).validated_data
        run = payments_import.import_start(
            actor=user_of(request), date_from=values["date_from"], date_to=values["date_to"]
        )
        return Response(PaymentImportOut(run).data, status=status.HTTP_201_CREATED)


class PaymentImportDetailView(APIView):
    @extend_schema(parameters=[ID], responses={200: PaymentImportOut, **READ_ERRORS})
    def get(self, request: Request, pk: int) -> Response:
        return Response(PaymentImportOut(payments_import.import_get(user=user_of(request), run_id=pk)).data)
