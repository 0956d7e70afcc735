"""Reads of payments, always scoped to the user's company and gated by the Payment role."""

from __future__ import annotations

import datetime as dt

from django.db.models import QuerySet

from accounts.models import User
from accounts.roles import Permission, require
from payments.models import Payment
from procuresync.errors import NotFound


def payment_list(
    *,
    user: User,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    supplier_id: int | None = None,
    method: str = "",
    status: str = "",
    invoice_id: int | None = None,
    credit_note_id: int | None = None,
) -> QuerySet[Payment]:
    require(user, Permission.PAYMENT_VIEW)
    qs = Payment.objects.filter(company_id=user.tenant_id).select_related("invoice", "invoice__supplier")
    if date_from:
        qs = qs.filter(paid_on__gte=date_from)
    if date_to:
        qs = qs.filter(paid_on__lte=date_to)
    if supplier_id:
        qs = qs.filter(invoice__supplier_id=supplier_id)
    if method:
        qs = qs.filter(method=method)
    if status:
        qs = qs.filter(status=status)
    if invoice_id:
        qs = qs.filter(invoice_id=invoice_id)
    if credit_note_id:  # the supplier credits QuickBooks applied from this credit note
        qs = qs.filter(credit_note_id=credit_note_id)
    return qs.order_by("-paid_on", "-id")


def payment_get(*, user: User, payment_id: object) -> Payment:
    require(user, Permission.PAYMENT_VIEW)
    try:
        return Payment.objects.select_related("invoice").get(company_id=user.tenant_id, pk=int(str(payment_id)))
    except (Payment.DoesNotExist, ValueError):
        raise NotFound("No such payment.") from None
