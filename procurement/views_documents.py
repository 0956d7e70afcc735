"""Invoice, credit note and purchase order pages: list, detail, create, edit and the workflow buttons.

All kinds share these views (and templates); the URL conf passes ``kind`` and ``KINDS`` says what
differs. Every read starts from the user (``procurement.selectors``), every write goes through
``procurement.services``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from accounts.roles import Permission as Permission
from accounts.roles import allowed
from payments.forms import PaymentForm
from payments.selectors import payment_list
from payments.services import applied_amount, paid_amount
from procurement import selectors, services, workflow
from procurement.forms import DocumentEditor, NotesForm, TransitionForm
from procurement.models import Document, DocumentKind, Status, carries_supplier_code
from procurement.validation import document_data_from
from procuresync.errors import DomainError
from procuresync.http import AuthenticatedHttpRequest
from procuresync.paging import paginate_ids_first
from procuresync.web import error_text, flash_refusal, is_partial, page
from quickbooks import selectors as qbo_selectors
from quickbooks.models import SyncStatus
from quickbooks.selectors import with_qbo_links


@dataclass(frozen=True)
class KindPages:
    value: str
    label: str
    plural: str
    url: str  # URL name prefix: "<url>-list", "<url>-detail", ...
    # Statuses this kind never reaches, left out of its list's filter.
    never: frozenset[Status] = frozenset()

    def name(self, view: str) -> str:
        return f"{self.url}-{view}"

    @property
    def has_supplier_code(self) -> bool:
        return carries_supplier_code(self.value)

    @property
    def has_due_date(self) -> bool:
        return self.value == DocumentKind.INVOICE


_PAID = workflow.PAYMENT_STATUSES
_APPLIED = workflow.APPLICATION_STATUSES
KINDS = {
    DocumentKind.INVOICE: KindPages(DocumentKind.INVOICE, "Invoice", "Invoices", "invoice", _APPLIED),
    DocumentKind.CREDIT_NOTE: KindPages(DocumentKind.CREDIT_NOTE, "Credit note", "Credit notes", "credit-note", _PAID),
    DocumentKind.PURCHASE_ORDER: KindPages(
        DocumentKind.PURCHASE_ORDER, "Purchase order", "Purchase orders", "po", _PAID | _APPLIED
    ),
}

_DONE = {
    workflow.DocumentAction.SUBMIT: "submitted for approval",
    workflow.DocumentAction.APPROVE: "approved",
    workflow.DocumentAction.REJECT: "rejected",
    workflow.DocumentAction.REVISE: "opened for revision",
    workflow.DocumentAction.CANCEL: "cancelled",
}
_BUTTON = {
    workflow.DocumentAction.SUBMIT: "Submit for approval",
    workflow.DocumentAction.APPROVE: "Approve",
    workflow.DocumentAction.REJECT: "Reject",
    workflow.DocumentAction.REVISE: "Revise",
    workflow.DocumentAction.CANCEL: "Cancel",
}


@page()
def home(request: AuthenticatedHttpRequest) -> HttpResponse:
    return redirect("invoice-list")


@page()
def document_list(request: AuthenticatedHttpRequest, kind: str) -> HttpResponse:
    info = KINDS[DocumentKind(kind)]
    status = request.GET.get("status", "")
    search = request.GET.get("q", "").strip()
    sync = request.GET.get("sync", "")
    documents = selectors.document_list(
        user=request.user, kind=kind, status=status if status in Status.values else "", search=search
    )
    # The QuickBooks column rides on the same query (a missing sync row reads as "Not sent").
    documents = qbo_selectors.filter_by_sync(
        documents.select_related("qbo_sync"), sync, company_id=request.user.tenant_id
    )
    context = {
        "kind": info,
        "page_obj": paginate_ids_first(request, documents),
        "status": status,
        "q": search,
        "statuses": [(value, label) for value, label in Status.choices if value not in info.never],
        "sync": sync if sync in SyncStatus.values else "",
        "sync_statuses": SyncStatus.choices,
        "show_sync": bool(sync) or qbo_selectors.is_in_use(request.user.tenant_id),
    }
    template = "procurement/_document_table.html" if is_partial(request) else "procurement/document_list.html"
    return render(request, template, context)


def render_document_detail(
    request: AuthenticatedHttpRequest, document: Document, *, payment_form: PaymentForm | None = None, status: int = 200
) -> HttpResponse:
    """The detail page; the payments view re-renders it with its bound form when a payment is refused."""
    user = request.user
    info = KINDS[DocumentKind(document.kind)]
    actions = [
        {"value": action.value, "label": _BUTTON[action]}
        for action in workflow.available_actions(document.status)
        if allowed(user, workflow.PERMISSION_FOR[action])
    ]
    context: dict[str, Any] = {
        "kind": info,
        "document": document,
        "lines": document.lines.select_related("account", "line_class", "customer_project", "item", "tax_code"),
        "custom_values": document.custom_values.select_related("field"),
        "events": document.events.select_related("actor"),
        "actions": actions,
        "can_edit": allowed(user, Permission.DOCUMENT_EDIT) and document.status not in workflow.FINAL_STATUSES,
        "notes_only": document.status in workflow.NOTES_ONLY_STATUSES,
        "qbo": qbo_selectors.document_panel(user, document),
        "closed_books_warning": qbo_selectors.closed_books_notice(document),
        "reject_notice": qbo_selectors.reject_notice(document),
    }
    if document.is_invoice:
        paid = paid_amount(document)
        outstanding = document.total - paid if document.status in workflow.APPROVED_STATUSES else None
        context.update(paid=paid, outstanding=outstanding)
        if allowed(user, Permission.PAYMENT_VIEW):
            context["payments"] = with_qbo_links(
                payment_list(user=user, invoice_id=document.pk).select_related("created_by", "credit_note")
            )
        if payment_form is not None:  # a refused payment, shown with its reasons
            context["payment_form"] = payment_form
        elif allowed(user, Permission.PAYMENT_RECORD) and outstanding is not None and outstanding > 0:
            context["payment_form"] = PaymentForm.for_invoice(outstanding)
        context["credit_notes"] = document.credit_notes.all()
    elif document.is_credit_note:
        applied = applied_amount(document)
        context["applied"] = applied
        if allowed(user, Permission.PAYMENT_VIEW):
            context["applications"] = with_qbo_links(
                payment_list(user=user, credit_note_id=document.pk).select_related("created_by")
            )
    else:
        context["invoices"] = document.invoices.all()
    return render(request, "procurement/document_detail.html", context, status=status)


@page()
def document_detail(request: AuthenticatedHttpRequest, kind: str, pk: int) -> HttpResponse:
    document = selectors.document_get(user=request.user, document_id=pk, kind=kind)
    return render_document_detail(request, document)


@page(Permission.DOCUMENT_CREATE)
def document_create(request: AuthenticatedHttpRequest, kind: str) -> HttpResponse:
    info = KINDS[DocumentKind(kind)]
    user = request.user
    initial = _credit_note_initial(request) if kind == DocumentKind.CREDIT_NOTE else None
    editor = DocumentEditor(user=user, kind=kind, data=request.POST or None, initial=initial)
    if request.method == "POST" and editor.is_valid():
        try:
            document = services.document_create(actor=user, kind=kind, data=editor.to_data())
        except DomainError as exc:
            editor.apply_errors(exc)
        else:
            messages.success(request, f"{info.label} {document.number} created as a draft.")
            return redirect(info.name("detail"), pk=document.pk)
    return render(request, "procurement/document_form.html", {"kind": info, "editor": editor, "document": None})


def _credit_note_initial(request: AuthenticatedHttpRequest) -> dict[str, Any] | None:
    """The "New credit note" button of an invoice's page (``?credits=<invoice id>``): its supplier,
    currency and rate, and the invoice as the one credited. An id that is not the user's is ignored."""
    invoice_id = request.GET.get("credits", "")
    if not (invoice_id.isascii() and invoice_id.isdigit()) or len(invoice_id) > 18:
        return None
    invoice = selectors.creditable_invoices(request.user).filter(pk=int(invoice_id)).first()
    if invoice is None:
        return None
    return {
        "supplier": invoice.supplier_id,
        "credited_invoice": invoice.pk,
        "currency": invoice.currency,
        "exchange_rate": invoice.exchange_rate.normalize() if invoice.exchange_rate != 1 else None,
    }


@page(Permission.DOCUMENT_EDIT)
def document_edit(request: AuthenticatedHttpRequest, kind: str, pk: int) -> HttpResponse:
    info = KINDS[DocumentKind(kind)]
    user = request.user
    document = selectors.document_get(user=user, document_id=pk, kind=kind)
    status = Status(document.status)
    if status in workflow.NOTES_ONLY_STATUSES:
        return _notes_edit(request, info, document)
    if status not in workflow.EDITABLE_STATUSES:
        messages.error(request, f"A {status.label} {info.label.lower()} can no longer be edited.")
        return redirect(info.name("detail"), pk=document.pk)
    editor = DocumentEditor(user=user, kind=kind, document=document, data=request.POST or None)
    if request.method == "POST" and editor.is_valid():
        try:
            services.document_update(actor=user, document=document, data=editor.to_data())
        except DomainError as exc:
            editor.apply_errors(exc)
        else:
            messages.success(request, f"{info.label} {document.number} saved.")
            return redirect(info.name("detail"), pk=document.pk)
    return render(request, "procurement/document_form.html", {"kind": info, "editor": editor, "document": document})


def _notes_edit(request: AuthenticatedHttpRequest, info: KindPages, document: Document) -> HttpResponse:
    """Approved (or pending, or paid) documents take a notes change only: no revision, not synced."""
    form = NotesForm(request.POST or None, initial={"notes": document.notes})
    errors: list[str] = []
    if request.method == "POST" and form.is_valid():
        data = document_data_from(document)
        data.notes = form.cleaned_data["notes"]
        try:
            services.document_update(actor=request.user, document=document, data=data)
        except DomainError as exc:
            errors = [error_text(exc)]
        else:
            messages.success(request, f"Notes of {info.label.lower()} {document.number} saved.")
            return redirect(info.name("detail"), pk=document.pk)
    without_revision = document.status != Status.PENDING
    return render(
        request,
        "procurement/document_notes_form.html",
        {"kind": info, "document": document, "form": form, "errors": errors, "without_revision": without_revision},
    )


@require_POST
@page()
def document_action(request: AuthenticatedHttpRequest, kind: str, pk: int, action: str) -> HttpResponse:
    info = KINDS[DocumentKind(kind)]
    document = selectors.document_get(user=request.user, document_id=pk, kind=kind)
    form = TransitionForm(request.POST)
    if not form.is_valid():
        # A comment that cannot be kept (too long, a NUL): say so rather than act without it.
        messages.error(request, " ".join(f"Comment: {e}" for e in form.errors.get("comment", [])))
        return redirect(reverse(info.name("detail"), args=[document.pk]))
    try:
        step = workflow.DocumentAction(action)
        services.document_transition(
            actor=request.user, document=document, action=step, comment=form.cleaned_data["comment"]
        )
    except ValueError:
        messages.error(request, f"Unknown action {action!r}.")
    except DomainError as exc:
        flash_refusal(request, exc)  # a missing role still answers with the 403 page
    else:
        messages.success(request, f"{info.label} {document.number} {_DONE[step]}.")
    return redirect(reverse(info.name("detail"), args=[document.pk]))

