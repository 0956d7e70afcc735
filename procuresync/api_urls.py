"""Routes of the REST API, mounted at /api/v1/. One view method per operation; see each app's api.py."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.urls import URLPattern, path, re_path, register_converter
from django.views.decorators.csrf import csrf_exempt

from accounts.api import MeView, TokenView
from payments.api import (
    PaymentCancelView,
    PaymentDetailView,
    PaymentImportDetailView,
    PaymentImportListView,
    PaymentListView,
)
from procurement import workflow
from procurement.api import (
    DocumentDetailView,
    DocumentListView,
    DocumentTransitionView,
    SupplierDetailView,
    SupplierListView,
)
from procurement.models import DocumentKind
from procuresync.api_errors import error_body
from quickbooks.api import DocumentPreviewView, ReconciliationDetailView, ReconciliationListView


class IdConverter:
    """An object id in a URL: 1 to 18 digits, so that no lookup can overflow a 64-bit integer
    (a longer number is no object of ours: 404, like any other unknown id)."""

    regex = "[0-9]{1,18}"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: int) -> str:
        return str(value)


register_converter(IdConverter, "id")


@csrf_exempt  # a 404 whatever the method: a POST to an unknown URL must not become a CSRF page
def not_found(request: HttpRequest, rest: str) -> JsonResponse:
    """Unknown API URLs answer in the API's error shape rather than with an HTML page."""
    message = "No such API endpoint. Collection and object URLs end with a slash, e.g. /api/v1/invoices/12/."
    return JsonResponse(error_body("not_found", message), status=404)


def _document_routes(prefix: str, kind: str) -> list[URLPattern]:
    name = prefix.replace("-", "_")
    routes = [
        path(f"{prefix}/", DocumentListView.as_view(kind=kind), name=f"api-{name}"),
        path(f"{prefix}/<id:pk>/", DocumentDetailView.as_view(kind=kind), name=f"api-{name}-detail"),
    ]
    routes += [
        path(
            f"{prefix}/<id:pk>/{action.value}",
            DocumentTransitionView.as_view(kind=kind, action=action),
            name=f"api-{name}-{action.value}",
        )
        for action in workflow.DocumentAction
    ]
    routes.append(
        path(
            f"{prefix}/<id:pk>/quickbooks-preview",
            DocumentPreviewView.as_view(kind=kind),
            name=f"api-{name}-quickbooks-preview",
        )
    )
    return routes


urlpatterns: list[URLPattern] = [
    path("me", MeView.as_view(), name="api-me"),
    path("auth/token", TokenView.as_view(), name="api-token"),
    path("suppliers/", SupplierListView.as_view(), name="api-suppliers"),
    path("suppliers/<id:pk>/", SupplierDetailView.as_view(), name="api-suppliers-detail"),
    *_document_routes("purchase-orders", DocumentKind.PURCHASE_ORDER),
    *_document_routes("invoices", DocumentKind.INVOICE),
    *_document_routes("credit-notes", DocumentKind.CREDIT_NOTE),
    path("payments/", PaymentListView.as_view(), name="api-payments"),
    path("payments/<id:pk>/", PaymentDetailView.as_view(), name="api-payments-detail"),
    path("payments/<id:pk>/cancel", PaymentCancelView.as_view(), name="api-payments-cancel"),
    path("payments/imports", PaymentImportListView.as_view(), name="api-payment-imports"),
    path("payments/imports/<id:pk>", PaymentImportDetailView.as_view(), name="api-payment-imports-detail"),
    path("quickbooks/reconciliations", ReconciliationListView.as_view(), name="api-reconciliations"),
    path(
        "quickbooks/reconciliations/<id:pk>", ReconciliationDetailView.as_view(), name="api-reconciliations-detail"
    ),
    re_path(r"^(?P<rest>.*)$", not_found, name="api-not-found"),
]
