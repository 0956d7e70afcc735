"""Recording and cancelling payments, and the invoice status that follows from them.

Payments recorded or cancelled here are never sent to QuickBooks (the seed's rule); they only
change the invoice's status here.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from accounts.models import User
from accounts.roles import Action, require
from payments.models import Method, Payment, PaymentStatus, Source
from procurement import workflow
from procurement.models import Document, DocumentKind, Status
from procurement.services import document_set_payment_status
from procuresync.errors import TransitionNotAllowed, ValidationFailed


def paid_amount(invoice: Document) -> Decimal:
    total = invoice.payments.filter(status=PaymentStatus.ACTIVE).aggregate(s=Sum("amount"))["s"]
    return total or Decimal("0")


def payment_status_for(*, total: Decimal, paid: Decimal) -> Status:
    """Invoice status as a function of its approved total and its active payments."""
    if paid <= 0:
        return Status.APPROVED
    if paid < total:
        return Status.PARTLY_PAID
    return Status.PAID


def invoice_refresh_payment_status(
    *, invoice: Document, actor: User | None, source: str = "", comment: str = ""
) -> Status:
    """Recompute Paid / Partly Paid / Approved from the active payments; call inside a transaction
    holding the invoice's row lock."""
    status = payment_status_for(total=invoice.total, paid=paid_amount(invoice))
    document_set_payment_status(document=invoice, status=status, actor=actor, source=source, comment=comment)
    return status


def payment_record(
    *,
    actor: User,
    invoice: Document,
    amount: Decimal,
    paid_on: dt.date,
    method: str,
    reference: str = "",
) -> Payment:
    require(actor, Action.PAYMENT_RECORD)
    errors: dict[str, list[str]] = {}
    if method not in Method.values:
        errors["method"] = [f"Choose a payment method: {', '.join(Method.labels)}."]
    if amount <= 0:
        errors["amount"] = ["The amount must be greater than zero."]
    elif amount != amount.quantize(Decimal("0.01")):
        errors["amount"] = ["The amount takes at most 2 decimals."]
    if errors:
        raise ValidationFailed("The payment could not be recorded.", fields=errors)
    with transaction.atomic():
        invoice = Document.objects.select_for_update().get(pk=invoice.pk)
        if invoice.kind != DocumentKind.INVOICE:
            raise ValidationFailed("Payments belong to invoices, not purchase orders.", field="invoice")
        if invoice.status not in workflow.PAYABLE_STATUSES:
            raise TransitionNotAllowed(
                f"Invoice {invoice.number} is {invoice.get_status_display()}; only approved invoices can be paid.",
                field="invoice",
            )
        outstanding = invoice.total - paid_amount(invoice)
        if amount > outstanding:
            raise ValidationFailed(
                f"This payment of {amount} would overpay invoice {invoice.number}: "
                f"only {outstanding} of {invoice.total} {invoice.currency} is still unpaid.",
                field="amount",
            )
        payment = Payment.objects.create(
            company_id=invoice.company_id,
            invoice=invoice,
            amount=amount,
            paid_on=paid_on,
            method=method,
            source=Source.RECORDED_HERE,
            reference=reference.strip(),
            created_by=actor,
        )
        invoice_refresh_payment_status(
            invoice=invoice, actor=actor, comment=f"{payment.get_method_display()} payment of {amount} recorded"
        )
    return payment


def payment_cancel(*, actor: User, payment: Payment, reason: str = "") -> Payment:
    require(actor, Action.PAYMENT_CANCEL)
    with transaction.atomic():
        invoice = Document.objects.select_for_update().get(pk=payment.invoice_id)
        payment = Payment.objects.select_for_update().get(pk=payment.pk)
        if payment.status == PaymentStatus.CANCELLED:
            raise TransitionNotAllowed("This payment is already cancelled.", field="status")
        payment.status = PaymentStatus.CANCELLED
        payment.cancelled_by = actor
        payment.cancelled_at = timezone.now()
        payment.cancel_reason = reason.strip()[:200]
        payment.save(update_fields=["status", "cancelled_by", "cancelled_at", "cancel_reason"])
        invoice_refresh_payment_status(
            invoice=invoice, actor=actor, comment=f"Payment of {payment.amount} on {payment.paid_on} cancelled"
        )
    return payment
