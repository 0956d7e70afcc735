"""REST endpoints for suppliers, purchase orders, invoices and credit notes (mounted under /api/v1/).

Each method parses with an input serializer, calls a selector or service, and renders with an
output serializer. Objects are always looked up from ``request.user`` (another company's id is a
404), roles are checked by the services, and refusals become the one error shape in
``procuresync.api_errors``. All kinds of document share these views; the URL sets ``kind``.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch, prefetch_related_objects
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from procurement import selectors, services, workflow
from procurement.models import Document, DocumentEvent, DocumentKind
from procurement.serializers import (
    DocumentFilterIn,
    DocumentIn,
    DocumentOut,
    DocumentPatchIn,
    DocumentSummaryOut,
    DocumentUpdateIn,
    SupplierFilterIn,
    SupplierIn,
    SupplierOut,
    TransitionIn,
    merged_input,
)
from procuresync.api import ID, paginated, parsed, user_of
from procuresync.api_errors import READ_ERRORS, WRITE_ERRORS
from procuresync.paging import paginated_ids_first

# ---------------------------------------------------------------- suppliers


class SupplierListView(APIView):
    pagination_class = PageNumberPagination  # read by drf-spectacular to describe the paginated body

    @extend_schema(parameters=[SupplierFilterIn], responses={200: SupplierOut(many=True), **READ_ERRORS})
    def get(self, request: Request) -> Response:
        filters = parsed(SupplierFilterIn, request.query_params).validated_data
        suppliers = selectors.suppliers_for(user_of(request)).order_by("name", "id")
        if filters["search"]:
            suppliers = suppliers.filter(name__icontains=filters["search"].strip())
        if filters["active"] is not None:
            suppliers = suppliers.filter(is_active=filters["active"])
        return paginated(self, request, suppliers, SupplierOut)

    @extend_schema(request=SupplierIn, responses={201: SupplierOut, **WRITE_ERRORS})
    def post(self, request: Request) -> Response:
        data = parsed(SupplierIn, request.data).to_data()
        supplier = services.supplier_create(actor=user_of(request), data=data)
        return Response(SupplierOut(supplier).data, status=status.HTTP_201_CREATED)


class SupplierDetailView(APIView):
    @extend_schema(parameters=[ID], responses={200: SupplierOut, **READ_ERRORS})
    def get(self, request: Request, pk: int) -> Response:
        supplier = selectors.supplier_get(user=user_of(request), supplier_id=pk)
        return Response(SupplierOut(supplier).data)

    @extend_schema(parameters=[ID], request=SupplierIn, responses={200: SupplierOut, **WRITE_ERRORS})
    def put(self, request: Request, pk: int) -> Response:
        supplier = selectors.supplier_get(user=user_of(request), supplier_id=pk)
        data = parsed(SupplierIn, request.data).to_data()
        supplier = services.supplier_update(actor=user_of(request), supplier=supplier, data=data)
        return Response(SupplierOut(supplier).data)

    @extend_schema(
        parameters=[ID],
        request=SupplierIn(partial=True),
        responses={200: SupplierOut, **WRITE_ERRORS},
    )
    def patch(self, request: Request, pk: int) -> Response:
        supplier = selectors.supplier_get(user=user_of(request), supplier_id=pk)
        data = parsed(SupplierIn, merged_input(SupplierOut(supplier).data, request.data)).to_data()
        supplier = services.supplier_update(actor=user_of(request), supplier=supplier, data=data)
        return Response(SupplierOut(supplier).data)


# ---------------------------------------------------------------- purchase orders, invoices, credit notes


def document_detail(*, request: Request, pk: int, kind: str) -> Document:
    """The document with everything DocumentOut shows, in a fixed number of queries."""
    document = selectors.document_get(user=user_of(request), document_id=pk, kind=kind)
    prefetch_related_objects(
        [document], "lines", "custom_values", Prefetch("events", DocumentEvent.objects.select_related("actor"))
    )
    return document


class DocumentListView(APIView):
    """GET lists, POST creates. Subclassed per kind so each gets its own operations in the schema."""

    kind: str = DocumentKind.INVOICE
    pagination_class = PageNumberPagination

    @extend_schema(parameters=[DocumentFilterIn], responses={200: DocumentSummaryOut(many=True), **READ_ERRORS})
    def get(self, request: Request) -> Response:
        filters = parsed(DocumentFilterIn, request.query_params).validated_data
        documents = selectors.document_list(
            user=user_of(request),
            kind=self.kind,
            status=filters["status"],
            search=filters["search"],
            supplier_id=filters["supplier"],
        )
        return paginated_ids_first(self, request, documents, DocumentSummaryOut)

    @extend_schema(request=DocumentIn, responses={201: DocumentOut, **WRITE_ERRORS})
    def post(self, request: Request) -> Response:
        data = parsed(DocumentIn, request.data).to_data()
        document = services.document_create(actor=user_of(request), kind=self.kind, data=data)
        document = document_detail(request=request, pk=document.pk, kind=self.kind)
        return Response(DocumentOut(document).data, status=status.HTTP_201_CREATED)


class DocumentDetailView(APIView):
    """GET shows one document; PUT replaces its content, PATCH changes the fields sent."""

    kind: str = DocumentKind.INVOICE

    @extend_schema(parameters=[ID], responses={200: DocumentOut, **READ_ERRORS})
    def get(self, request: Request, pk: int) -> Response:
        return Response(DocumentOut(document_detail(request=request, pk=pk, kind=self.kind)).data)

    @extend_schema(parameters=[ID], request=DocumentUpdateIn, responses={200: DocumentOut, **WRITE_ERRORS})
    def put(self, request: Request, pk: int) -> Response:
        document = selectors.document_get(user=user_of(request), document_id=pk, kind=self.kind)
        return self._update(request, document, request.data)

    @extend_schema(parameters=[ID], request=DocumentPatchIn, responses={200: DocumentOut, **WRITE_ERRORS})
    def patch(self, request: Request, pk: int) -> Response:
        document = document_detail(request=request, pk=pk, kind=self.kind)
        # Validating the merged whole (rather than a partial serializer) keeps nested lines strict.
        return self._update(request, document, merged_input(DocumentOut(document).data, request.data))

    def _update(self, request: Request, document: Document, body: Any) -> Response:
        serializer = parsed(DocumentUpdateIn, body)
        services.document_update(
            actor=user_of(request),
            document=document,
            data=serializer.to_data(),
            comment=serializer.validated_data["comment"],
        )
        return Response(DocumentOut(document_detail(request=request, pk=document.pk, kind=self.kind)).data)


class DocumentTransitionView(APIView):
    """POST {"comment"} to submit, approve, reject, revise or cancel; the URL sets ``action``."""

    kind: str = DocumentKind.INVOICE
    action: workflow.DocumentAction = workflow.DocumentAction.SUBMIT

    @extend_schema(parameters=[ID], request=TransitionIn, responses={200: DocumentOut, **WRITE_ERRORS})
    def post(self, request: Request, pk: int) -> Response:
        document = selectors.document_get(user=user_of(request), document_id=pk, kind=self.kind)
        comment = parsed(TransitionIn, request.data).validated_data["comment"]
        services.document_transition(actor=user_of(request), document=document, action=self.action, comment=comment)
        return Response(DocumentOut(document_detail(request=request, pk=pk, kind=self.kind)).data)
