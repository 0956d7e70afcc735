"""The Suppliers page: every member sees the list; Create or Admin role adds and edits."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render

from accounts.roles import Permission
from procurement import selectors, services
from procurement.forms import SupplierForm
from procuresync.errors import DomainError
from procuresync.http import AuthenticatedHttpRequest
from procuresync.web import apply_errors, page, paginate


@page(Permission.DOCUMENT_VIEW)
def supplier_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    suppliers = selectors.suppliers_for(request.user)
    show = request.GET.get("show", "")
    if show == "active":
        suppliers = suppliers.filter(is_active=True)
    elif show == "inactive":
        suppliers = suppliers.filter(is_active=False)
    return render(request, "procurement/supplier_list.html", {"page_obj": paginate(request, suppliers), "show": show})


@page(Permission.SUPPLIER_MANAGE)
def supplier_create(request: AuthenticatedHttpRequest) -> HttpResponse:
    form = SupplierForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            supplier = services.supplier_create(actor=request.user, data=form.to_data())
        except DomainError as exc:
            apply_errors(exc, lambda name: (form, name), fallback=form)
        else:
            messages.success(request, f"Supplier {supplier.name} added.")
            return redirect("supplier-list")
    return render(request, "procurement/supplier_form.html", {"form": form, "supplier": None})


@page(Permission.SUPPLIER_MANAGE)
def supplier_edit(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    supplier = selectors.supplier_get(user=request.user, supplier_id=pk)
    form = SupplierForm(request.POST) if request.method == "POST" else SupplierForm.for_supplier(supplier)
    if request.method == "POST" and form.is_valid():
        try:
            services.supplier_update(actor=request.user, supplier=supplier, data=form.to_data())
        except DomainError as exc:
            apply_errors(exc, lambda name: (form, name), fallback=form)
        else:
            messages.success(request, f"Supplier {supplier.name} saved.")
            return redirect("supplier-list")
    return render(request, "procurement/supplier_form.html", {"form": form, "supplier": supplier})
