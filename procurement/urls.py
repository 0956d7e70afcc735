from django.urls import path

from procurement import views
from procurement.models import DocumentKind


def _document_urls(prefix: str, name: str, kind: str) -> list:
    extra = {"kind": kind}
    return [
        path(f"{prefix}/", views.document_list, extra, name=f"{name}-list"),
        path(f"{prefix}/new/", views.document_create, extra, name=f"{name}-create"),
        path(f"{prefix}/<int:pk>/", views.document_detail, extra, name=f"{name}-detail"),
        path(f"{prefix}/<int:pk>/edit/", views.document_edit, extra, name=f"{name}-edit"),
        path(f"{prefix}/<int:pk>/<slug:action>/", views.document_action, extra, name=f"{name}-action"),
    ]


urlpatterns = [
    path("", views.home, name="home"),
    *_document_urls("invoices", "invoice", DocumentKind.INVOICE),
    *_document_urls("credit-notes", "credit-note", DocumentKind.CREDIT_NOTE),
    *_document_urls("purchase-orders", "po", DocumentKind.PURCHASE_ORDER),
    path("suppliers/", views.supplier_list, name="supplier-list"),
    path("suppliers/new/", views.supplier_create, name="supplier-create"),
    path("suppliers/<int:pk>/edit/", views.supplier_edit, name="supplier-edit"),
]
