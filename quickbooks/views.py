"""The Integrations page (Admin) and the "Send to QuickBooks" button of the document pages.

Connecting is Intuit's OAuth dance: ``connect`` sends the Admin to Intuit's consent page with a
one-time state; Intuit sends them back to ``callback`` with a code, which the service exchanges for
tokens. Every write goes through ``quickbooks.services``; every read through ``quickbooks.selectors``.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from accounts.models import User
from accounts.roles import Action
from procurement import selectors as procurement_selectors
from procurement.models import DocumentKind
from procuresync.errors import DomainError, RoleRequired
from procuresync.web import error_text, page
from quickbooks import selectors, services
from quickbooks.connection import client_for
from quickbooks.errors import Kind, QboError
from quickbooks.forms import SettingsForm, VendorMapForm
from quickbooks.models import ConnectionStatus
from quickbooks.vendors import vendor_map_by_hand

# What Intuit may send back instead of a code (RFC 6749 §4.1.2.1), in words an Admin understands.
_OAUTH_ERRORS = {
    "access_denied": "You cancelled the connection; QuickBooks was not connected.",
    "invalid_scope": "QuickBooks refused the permissions procuresync asks for; QuickBooks was not connected.",
}


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _redirect_uri(request: HttpRequest) -> str:
    # Must match, character for character, a redirect URI registered with Intuit: behind a proxy the
    # request's own idea of its host may not, hence the setting.
    return settings.QBO_REDIRECT_URI or request.build_absolute_uri(reverse("integrations-callback"))


def _render(request: HttpRequest, *, settings_form: SettingsForm | None = None, status: int = 200) -> HttpResponse:
    user = _user(request)
    connection = selectors.connection_for(user)
    live = connection is not None and connection.status != ConnectionStatus.NOT_CONNECTED
    context: dict[str, Any] = {
        "connection": connection,
        "live": live,
        "needs_reconnect": live and connection is not None and connection.status == ConnectionStatus.NEEDS_RECONNECT,
    }
    if live and connection is not None:
        kind = connection.document_kind
        context.update(
            settings_form=settings_form or SettingsForm(user=user, connection=connection),
            suppliers=selectors.supplier_vendors(user, connection),
            sync_counts=selectors.sync_counts(user, kind),
            sent_label=selectors.sent_kind_label(connection),
            sent_list_url=reverse("po-list" if kind == DocumentKind.PURCHASE_ORDER else "invoice-list"),
        )
    return render(request, "quickbooks/integrations.html", context, status=status)


@page(Action.INTEGRATION_MANAGE)
def integrations(request: HttpRequest) -> HttpResponse:
    return _render(request)


@require_POST
@page(Action.INTEGRATION_MANAGE)
def connect(request: HttpRequest) -> HttpResponse:
    try:
        url = services.connection_start(actor=_user(request), redirect_uri=_redirect_uri(request))
    except DomainError as exc:
        messages.error(request, error_text(exc))
        return redirect("integrations")
    return redirect(url)


@page(Action.INTEGRATION_MANAGE)
def callback(request: HttpRequest) -> HttpResponse:
    """Where Intuit sends the Admin back, with ``code``, ``state`` and ``realmId`` or an ``error``."""
    error = request.GET.get("error", "")
    if error:
        messages.error(request, _OAUTH_ERRORS.get(error, f"QuickBooks did not connect ({error}); press Connect again."))
        return redirect("integrations")
    try:
        connection = services.connection_complete(
            actor=_user(request),
            code=request.GET.get("code", ""),
            state=request.GET.get("state", ""),
            realm_id=request.GET.get("realmId", ""),
            redirect_uri=_redirect_uri(request),
        )
    except RoleRequired:
        raise
    except DomainError as exc:
        messages.error(request, error_text(exc))
    except QboError as exc:
        messages.error(request, f"QuickBooks did not connect: {exc.message}")
    else:
        name = connection.qbo_company_name or f"realm {connection.realm_id}"
        messages.success(request, f"Connected to the QuickBooks company “{name}”.")
        if connection.last_error:
            messages.warning(request, connection.last_error)
    return redirect("integrations")


@require_POST
@page(Action.INTEGRATION_MANAGE)
def disconnect(request: HttpRequest) -> HttpResponse:
    services.connection_disconnect(actor=_user(request))
    messages.success(
        request, "QuickBooks disconnected. Nothing is sent until you connect again; what was sent stays in QuickBooks."
    )
    return redirect("integrations")


@require_POST
@page(Action.INTEGRATION_MANAGE)
def settings_save(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    form = SettingsForm(request.POST, user=user, connection=selectors.connection_for(user))
    if form.is_valid():
        try:
            services.connection_update_settings(actor=user, **form.to_kwargs())
        except RoleRequired:
            raise
        except DomainError as exc:
            form.apply_errors(exc)
        else:
            messages.success(request, "QuickBooks settings saved.")
            return redirect("integrations")
    messages.error(request, "The settings were not saved; see the messages below.")
    return _render(request, settings_form=form, status=400)


@require_POST
@page(Action.INTEGRATION_MANAGE)
def lists_import(request: HttpRequest) -> HttpResponse:
    try:
        counts = services.lists_import(actor=_user(request))
    except RoleRequired:
        raise
    except DomainError as exc:
        messages.error(request, error_text(exc))
    except QboError as exc:
        messages.error(request, f"The lists were not imported: {exc.message}")
    else:
        summary = ", ".join(f"{count} {_LIST_NAMES.get(name, name)}" for name, count in counts.items())
        messages.success(request, f"Imported from QuickBooks: {summary}.")
    return redirect("integrations")


_LIST_NAMES = {
    "Account": "accounts",
    "Class": "classes",
    "Department": "locations",
    "Customer": "customers / projects",
    "Item": "products / services",
    "TaxCode": "tax codes",
}


@require_POST
@page(Action.INTEGRATION_MANAGE)
def vendor_map(request: HttpRequest) -> HttpResponse:
    """Link a supplier to the QuickBooks vendor whose id the Admin typed, after checking it exists."""
    user = _user(request)
    form = VendorMapForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(str(e) for errors in form.errors.values() for e in errors))
        return redirect(reverse("integrations") + "#vendors")
    supplier = procurement_selectors.supplier_get(user=user, supplier_id=form.cleaned_data["supplier"])
    connection = services.connection_of(user.tenant_id)
    if connection.status != ConnectionStatus.CONNECTED:
        messages.error(request, "Connect QuickBooks first.")
        return redirect("integrations")
    vendor_id = form.cleaned_data["vendor_id"]
    try:
        vendor = client_for(connection).read("Vendor", vendor_id)
    except QboError as exc:
        if exc.kind is Kind.NOT_FOUND or exc.http_status in {400, 404}:
            messages.error(request, f"QuickBooks has no vendor with id {vendor_id}; check the id in QuickBooks.")
        else:
            messages.error(request, f"Could not check vendor {vendor_id} in QuickBooks: {exc.message}")
        return redirect(reverse("integrations") + "#vendors")
    taken = selectors.vendor_taken_by(connection, str(vendor["Id"]), other_than=supplier)
    if taken is not None:
        messages.error(
            request,
            f"The QuickBooks vendor “{vendor.get('DisplayName', vendor_id)}” is already linked to {taken.name}; "
            "a vendor can stand for one supplier only.",
        )
        return redirect(reverse("integrations") + "#vendors")
    link = vendor_map_by_hand(connection=connection, supplier=supplier, vendor=vendor)
    messages.success(request, f"{supplier.name} is now linked to the QuickBooks vendor “{link.qbo_name}”.")
    return redirect(reverse("integrations") + "#vendors")


@require_POST
@page(Action.QUICKBOOKS_SEND)
def retry_failed(request: HttpRequest) -> HttpResponse:
    count = services.documents_retry_failed(actor=_user(request))
    if count:
        messages.success(request, f"{count} failed document{'s' if count != 1 else ''} queued to send again.")
    else:
        messages.info(request, "No failed documents to retry.")
    return redirect("integrations")


@require_POST
@page(Action.QUICKBOOKS_SEND)
def document_send(request: HttpRequest, pk: int) -> HttpResponse:
    """ "Send to QuickBooks" / Retry on a document page; back to that page either way."""
    document = procurement_selectors.document_get(user=request.user, document_id=pk)  # type: ignore[arg-type]
    detail = reverse("po-detail" if document.kind == DocumentKind.PURCHASE_ORDER else "invoice-detail", args=[pk])
    try:
        services.document_send(actor=_user(request), document=document)
    except RoleRequired:
        raise
    except DomainError as exc:
        messages.error(request, error_text(exc))
    else:
        messages.success(request, f"{document.number} queued for QuickBooks.")
    return redirect(detail + "#quickbooks")
