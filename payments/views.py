"""The Payments page, and recording / cancelling a payment from an invoice."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from accounts.roles import Permission
from payments import selectors, services
from payments.forms import PaymentFilterForm, PaymentForm, PaymentImportForm
from procurement.models import DocumentKind
from procurement.selectors import document_get
from procurement.views_documents import render_document_detail
from procuresync.errors import DomainError
from procuresync.http import AuthenticatedHttpRequest
from procuresync.paging import paginate_ids_first
from procuresync.web import apply_errors, error_text, is_partial, page
from quickbooks.inbound import payments_import
from quickbooks.selectors import with_qbo_links


@page(Permission.PAYMENT_VIEW)
def payment_list(
    request: AuthenticatedHttpRequest, import_form: PaymentImportForm | None = None, status: int = 200
) -> HttpResponse:
    form = PaymentFilterForm(request.GET or None, user=request.user)
    payments = selectors.payment_list(user=request.user, **form.filters())
    page_obj = paginate_ids_first(request, payments)
    with_qbo_links(page_obj)
    context = {"form": form, "page_obj": page_obj}
    if is_partial(request):
        return render(request, "payments/_payment_table.html", context)
    context.update(
        import_available=payments_import.import_available(request.user) is not None,
        import_form=import_form or PaymentImportForm.initial_range(),
        run=payments_import.import_latest(request.user),
        import_off_reason=payments_import.import_unavailable_reason(request.user),
    )
    return render(request, "payments/payment_list.html", context, status=status)


@require_POST
@page(Permission.PAYMENT_RECORD)
def payment_import(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Start a date-range import from QuickBooks; the page then shows its progress."""
    form = PaymentImportForm(request.POST)
    if form.is_valid():
        try:
            run = payments_import.import_start(actor=request.user, **form.cleaned_data)
        except DomainError as exc:
            apply_errors(exc, lambda name: (form, name), fallback=form)
        else:
            messages.info(request, f"Importing QuickBooks payments from {run.date_from} to {run.date_to}.")
            return redirect("payment-list")
    return payment_list(request, import_form=form, status=400)


@page(Permission.PAYMENT_VIEW)
def payment_import_progress(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    run = payments_import.import_get(user=request.user, run_id=pk)
    return render(request, "payments/_import_run.html", {"run": run})


@require_POST
@page(Permission.PAYMENT_RECORD)
def payment_record(request: AuthenticatedHttpRequest, invoice_pk: int) -> HttpResponse:
    invoice = document_get(user=request.user, document_id=invoice_pk, kind=DocumentKind.INVOICE)
    form = PaymentForm(request.POST)
    if form.is_valid():
        try:
            services.payment_record(actor=request.user, invoice=invoice, **form.cleaned_data)
        except DomainError as exc:
            apply_errors(exc, lambda name: (form, name), fallback=form)
        else:
            invoice.refresh_from_db()
            messages.success(
                request,
                f"Payment of {form.cleaned_data['amount']} {invoice.currency} recorded on invoice {invoice.number}; "
                f"it is now {invoice.get_status_display()}.",
            )
            return redirect("invoice-detail", pk=invoice.pk)
    # Refused: show the invoice again with the form as typed and the reasons next to the fields.
    return render_document_detail(request, invoice, payment_form=form, status=400)


@require_POST
@page(Permission.PAYMENT_CANCEL)
def payment_cancel(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    payment = selectors.payment_get(user=request.user, payment_id=pk)
    try:
        services.payment_cancel(actor=request.user, payment=payment, reason=request.POST.get("reason", ""))
    except DomainError as exc:
        messages.error(request, error_text(exc))
    else:
        payment.invoice.refresh_from_db()
        messages.success(
            request,
            f"Payment of {payment.amount} on invoice {payment.invoice.number} cancelled; "
            f"it is now {payment.invoice.get_status_display()}.",
        )
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        back = reverse("invoice-detail", args=[payment.invoice_id])
    return redirect(back)
