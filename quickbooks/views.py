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

from accounts.roles import Permission, allowed
from procurement import selectors as procurement_selectors
from procurement.models import DocumentKind
from procuresync.errors import DomainError, RoleRequired
from procuresync.http import AuthenticatedHttpRequest
from procuresync.web import flash_refusal, page
from quickbooks import list_imports, progress, reconciliation_runs, selectors, services, tax_settings
from quickbooks.errors import QboError
from quickbooks.export import services as export_services
from quickbooks.forms import SettingsForm, VendorMapForm
from quickbooks.models import ConnectionStatus

# What Intuit may send back instead of a code (RFC 6749 §4.1.2.1), in words an Admin understands.
_OAUTH_ERRORS = {
    "access_denied": "You cancelled the connection; QuickBooks was not connected.",
    "invalid_scope": "QuickBooks refused the permissions procuresync asks for; QuickBooks was not connected.",
}


def _refused(request: HttpRequest, exc: DomainError, what_failed: str) -> None:
    """Our own refusals speak for themselves; a failure of QuickBooks says what it stopped."""
    flash_refusal(request, exc, prefix=f"{what_failed}: " if isinstance(exc, QboError) else "")


def _redirect_uri(request: HttpRequest) -> str:
    # Must match, character for character, a redirect URI registered with Intuit: behind a proxy the
    # request's own idea of its host may not, hence the setting.
    return settings.QBO_REDIRECT_URI or request.build_absolute_uri(reverse("integrations-callback"))


def _render(
    request: AuthenticatedHttpRequest, *, settings_form: SettingsForm | None = None, status: int = 200
) -> HttpResponse:
    user = request.user
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
            reconciliation=reconciliation_runs.run_latest_finished(user),
            tax_rows=tax_settings.tax_rate_rows(user) if connection.computes_tax else None,
            list_import=list_imports.list_import_latest(user),
            send=progress.send_run_latest(user) if allowed(user, Permission.QUICKBOOKS_SEND) else None,
        )
    return render(request, "quickbooks/integrations.html", context, status=status)


@page(Permission.INTEGRATION_MANAGE)
def integrations(request: AuthenticatedHttpRequest) -> HttpResponse:
    return _render(request)


@require_POST
@page(Permission.INTEGRATION_MANAGE)
def connect(request: AuthenticatedHttpRequest) -> HttpResponse:
    try:
        url = services.connection_start(actor=request.user, redirect_uri=_redirect_uri(request))
    except DomainError as exc:
        flash_refusal(request, exc)
        return redirect("integrations")
    return redirect(url)


@page(Permission.INTEGRATION_MANAGE)
def callback(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Where Intuit sends the Admin back, with ``code``, ``state`` and ``realmId`` or an ``error``."""
    error = request.GET.get("error", "")
    if error:
        messages.error(request, _OAUTH_ERRORS.get(error, f"QuickBooks did not connect ({error}); press Connect again."))
        return redirect("integrations")
    try:
        connection = services.connection_complete(
            actor=request.user,
            code=request.GET.get("code", ""),
            state=request.GET.get("state", ""),
            realm_id=request.GET.get("realmId", ""),
            redirect_uri=_redirect_uri(request),
        )
    except DomainError as exc:
        _refused(request, exc, "QuickBooks did not connect")
    else:
        name = connection.qbo_company_name or f"realm {connection.realm_id}"
        messages.success(request, f"Connected to the QuickBooks company “{name}”.")
        if connection.last_error:
            messages.warning(request, connection.last_error)
    return redirect("integrations")


@require_POST
@page(Permission.INTEGRATION_MANAGE)
def disconnect(request: AuthenticatedHttpRequest) -> HttpResponse:
    services.connection_disconnect(actor=request.user)
    messages.success(
        request, "QuickBooks disconnected. Nothing is sent until you connect again; what was sent stays in QuickBooks."
    )
    return redirect("integrations")


@require_POST
@page(Permission.INTEGRATION_MANAGE)
def settings_save(request: AuthenticatedHttpRequest) -> HttpResponse:
    user = request.user
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
@page(Permission.INTEGRATION_MANAGE)
def lists_import(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Start importing the lists in the background; Integrations follows its progress."""
    try:
        list_imports.list_import_start(actor=request.user)
    except DomainError as exc:
        _refused(request, exc, "The lists were not imported")
    return redirect(reverse("integrations") + "#list-import")


@page(Permission.INTEGRATION_MANAGE)
def list_import_progress(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """The list import's progress panel, polled by the page until the import is done."""
    run = list_imports.list_import_get(user=request.user, run_id=pk)
    return render(request, "quickbooks/_list_import_run.html", {"run": run})


@require_POST
@page(Permission.INTEGRATION_MANAGE)
def tax_codes_save(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Integrations → Tax codes: the rate → QuickBooks tax code choices, one select per rate."""
    rates = request.POST.getlist("rate")
    codes = request.POST.getlist("code")
    if len(rates) != len(codes):
        messages.error(request, "The tax codes were not saved: the form was incomplete; reload the page and try again.")
        return redirect(reverse("integrations") + "#tax-codes")
    try:
        changed = tax_settings.tax_mappings_save(actor=request.user, choices=list(zip(rates, codes, strict=True)))
    except DomainError as exc:
        flash_refusal(request, exc)
    else:
        messages.success(request, f"Tax codes saved ({changed} changed)." if changed else "No tax code changed.")
    return redirect(reverse("integrations") + "#tax-codes")


@require_POST
@page(Permission.INTEGRATION_MANAGE)
def vendor_map(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Link a supplier to the QuickBooks vendor the Admin chose (a choice's Link button posts its id;
    the choices come from ``views_vendors.vendor_choices``)."""
    form = VendorMapForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(str(e) for errors in form.errors.values() for e in errors))
        return redirect(reverse("integrations") + "#vendors")
    try:
        link = services.vendor_map(
            actor=request.user, supplier_id=form.cleaned_data["supplier"], vendor_id=form.cleaned_data["vendor_id"]
        )
    except DomainError as exc:
        flash_refusal(request, exc)
    else:
        messages.success(request, f"{link.supplier.name} is now linked to the QuickBooks vendor “{link.qbo_name}”.")
    return redirect(reverse("integrations") + "#vendors")


@require_POST
@page(Permission.QUICKBOOKS_SEND)
def retry_failed(request: AuthenticatedHttpRequest) -> HttpResponse:
    count = export_services.documents_retry_failed(actor=request.user)
    if count:
        messages.success(request, f"{count} failed document{'s' if count != 1 else ''} queued to send again.")
    else:
        messages.info(request, "No failed documents to retry.")
    return redirect(reverse("integrations") + "#sync")


@page(Permission.QUICKBOOKS_SEND)
def send_progress(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """A bulk send's progress panel, polled by the page until every document has an outcome."""
    return render(request, "quickbooks/_send_run.html", {"send": progress.send_run_get(user=request.user, run_id=pk)})


@require_POST
@page(Permission.QUICKBOOKS_SEND)
def document_send(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """ "Send to QuickBooks" / Retry on a document page; back to that page either way."""
    document = procurement_selectors.document_get(user=request.user, document_id=pk)
    detail = reverse(selectors.DETAIL_URL[DocumentKind(document.kind)], args=[pk])
    try:
        export_services.document_send(actor=request.user, document=document)
    except DomainError as exc:
        flash_refusal(request, exc)
    else:
        messages.success(request, f"{document.number} queued for QuickBooks.")
    return redirect(detail + "#quickbooks")
