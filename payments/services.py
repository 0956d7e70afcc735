"""Recording and cancelling payments, and the invoice status that follows from them.

Payments recorded or cancelled here are never sent to QuickBooks (the seed's rule); they only
change the invoice's status here. Payments from QuickBooks come in through ``qbo_payments_apply``.

Credit notes are never paid here. QuickBooks applies one to bills as a supplier credit in a bill
payment, which arrives as a payment of the invoice pointing at the credit note (``credit_note``);
``credit_note_status_recompute`` then makes the credit note Partly Applied or Applied. Wherever
both are locked, the invoices are locked before the credit notes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.db.models import QuerySet, Sum
from django.utils import timezone

from accounts.models import User
from accounts.roles import Permission, require
from payments.models import Method, Payment, PaymentStatus, Source
from procurement import workflow
from procurement.models import Document, DocumentKind, Status
from procurement.services import PaymentStatusChange, document_set_payment_status, documents_set_payment_status
from procurement.validation import DATE_RANGE_MESSAGE, date_in_range, text_errors
from procuresync.bulk import insert_rows
from procuresync.errors import TransitionNotAllowed, ValidationFailed

CENT = Decimal("0.01")


def _active_total(payments: QuerySet[Payment]) -> Decimal:
    total = payments.filter(status=PaymentStatus.ACTIVE).aggregate(s=Sum("amount"))["s"]
    return (total or Decimal("0")).quantize(CENT)  # SQLite's sum drops the scale (20, not 20.00)


def paid_amount(invoice: Document) -> Decimal:
    return _active_total(invoice.payments.all())


def payment_status_for(*, total: Decimal, paid: Decimal) -> Status:
    """Invoice status as a function of its approved total and its active payments."""
    if paid <= 0:
        return Status.APPROVED
    if paid < total:
        return Status.PARTLY_PAID
    return Status.PAID


def applied_amount(credit_note: Document) -> Decimal:
    """How much of a credit note QuickBooks has applied to bills: its active supplier-credit payments."""
    return _active_total(credit_note.credit_applications.all())


# A credit note's applications count as an invoice's payments do, under their own names.
_AS_APPLIED = {Status.APPROVED: Status.APPROVED, Status.PARTLY_PAID: Status.PARTLY_APPLIED, Status.PAID: Status.APPLIED}


def application_status_for(*, total: Decimal, applied: Decimal) -> Status:
    """Credit note status as a function of its approved total and its active applications."""
    return _AS_APPLIED[payment_status_for(total=total, paid=applied)]


def credit_note_status_recompute(
    credit_note: Document, *, actor: User | None = None, source: str = "QuickBooks"
) -> None:
    """Recompute Applied / Partly Applied / Approved from the credit note's active applications.

    Only a credit note in the approved family changes: one in revision (or pending, or cancelled)
    keeps its status and is recomputed when it is approved again, as an invoice is for payments.
    Takes the credit note's row lock itself (inside the caller's transaction, if there is one);
    ``credit_note`` is brought up to date. ``actor`` is the person whose act caused it (cancelling
    the payment here); QuickBooks' changes have none.
    """
    with transaction.atomic():
        locked = Document.objects.select_for_update().get(pk=credit_note.pk)
        if locked.kind != DocumentKind.CREDIT_NOTE or locked.status not in workflow.APPROVED_STATUSES:
            credit_note.status = locked.status
            return
        applied = applied_amount(locked)
        document_set_payment_status(
            document=locked,
            status=application_status_for(total=locked.total, applied=applied),
            actor=actor,
            source=source,
            comment=f"Applied {applied} of {locked.total} {locked.currency} to bills",
            action="applied",
        )
        credit_note.status = locked.status


def invoice_refresh_payment_status(
    *, invoice: Document, actor: User | None, source: str = "", comment: str = ""
) -> Status:
    """Recompute Paid / Partly Paid / Approved from the active payments; call inside a transaction
    holding the invoice's row lock."""
    status = payment_status_for(total=invoice.total, paid=paid_amount(invoice))
    document_set_payment_status(document=invoice, status=status, actor=actor, source=source, comment=comment)
    return status


# ---------------------------------------------------------------- the workflow, as payments see it


def before_document_transition(document: Document, action: workflow.DocumentAction, actor: User | None) -> None:
    """Guard (``procurement.hooks.before_transition``), called with the invoice locked and still in
    its current status. An invoice with active payments cannot be cancelled (QuickBooks would keep
    its bill), and cannot be approved with a total below them (QuickBooks would refuse the update).
    Payments from QuickBooks reach an invoice in revision too, so the status alone cannot tell.
    A credit note with active applications, likewise (``_before_credit_note_transition``)."""
    if document.kind == DocumentKind.CREDIT_NOTE:
        _before_credit_note_transition(document, action)
        return
    if document.kind != DocumentKind.INVOICE or action not in (
        workflow.DocumentAction.CANCEL,
        workflow.DocumentAction.APPROVE,
    ):
        return
    paid = paid_amount(document)
    if paid <= 0:
        return
    if action == workflow.DocumentAction.CANCEL:
        raise TransitionNotAllowed(
            f"Invoice {document.number} cannot be cancelled: {paid:,.2f} of {document.total:,.2f} "
            f"{document.currency} is paid. Cancel its payments first (a payment from QuickBooks by voiding or "
            "deleting it there), then cancel the invoice.",
            field="status",
        )
    if document.total < paid:
        raise TransitionNotAllowed(
            f"Invoice {document.number} cannot be approved: {paid:,.2f} {document.currency} is already paid, "
            f"more than its new total of {document.total:,.2f} {document.currency}. Raise the total to at least "
            f"{paid:,.2f}, or cancel payments first (a payment from QuickBooks by voiding or deleting it there).",
            field="total",
        )


def _before_credit_note_transition(credit_note: Document, action: workflow.DocumentAction) -> None:
    if action not in (workflow.DocumentAction.CANCEL, workflow.DocumentAction.APPROVE):
        return
    applied = applied_amount(credit_note)
    if applied <= 0:
        return
    if action == workflow.DocumentAction.CANCEL:
        raise TransitionNotAllowed(
            f"Credit note {credit_note.number} cannot be cancelled: QuickBooks has applied {applied:,.2f} of it "
            f"to bills. Remove those applications in QuickBooks first, then cancel the credit note.",
            field="status",
        )
    if credit_note.total < applied:
        raise TransitionNotAllowed(
            f"Credit note {credit_note.number} cannot be approved: QuickBooks has already applied {applied:,.2f} "
            f"{credit_note.currency} of it, more than its new total of {credit_note.total:,.2f} "
            f"{credit_note.currency}. Raise the total to at least {applied:,.2f}, or remove applications in "
            "QuickBooks first.",
            field="total",
        )


def on_document_transition(document: Document, action: workflow.DocumentAction, actor: User | None) -> None:
    """Listener (``procurement.hooks.on_transition``), inside the transition's transaction and row
    lock: an approved invoice is Partly Paid or Paid at once if payments arrived while it was in
    revision or pending (QuickBooks payments are kept but do not change such an invoice's status).
    A credit note is Partly Applied or Applied at once in the same way."""
    if document.kind == DocumentKind.CREDIT_NOTE and action == workflow.DocumentAction.APPROVE:
        if applied_amount(document) > 0:
            credit_note_status_recompute(document, actor=actor, source="")
        return
    if document.kind != DocumentKind.INVOICE or action != workflow.DocumentAction.APPROVE:
        return
    paid = paid_amount(document)
    if paid <= 0:
        return
    invoice_refresh_payment_status(
        invoice=document,
        actor=actor,
        comment=f"Paid {paid} of {document.total} {document.currency}, by payments received before this approval",
    )


def payment_record(
    *,
    actor: User,
    invoice: Document,
    amount: Decimal,
    paid_on: dt.date,
    method: str,
    reference: str = "",
) -> Payment:
    require(actor, Permission.PAYMENT_RECORD)
    errors: dict[str, list[str]] = {}
    if method not in Method.values:
        errors["method"] = [f"Choose a payment method: {', '.join(Method.labels)}."]
    if amount <= 0:
        errors["amount"] = ["The amount must be greater than zero."]
    elif amount != amount.quantize(Decimal("0.01")):
        errors["amount"] = ["The amount takes at most 2 decimals."]
    if not date_in_range(paid_on):
        errors["paid_on"] = [DATE_RANGE_MESSAGE]
    if problems := text_errors(reference, what="The reference", max_length=100):
        errors["reference"] = problems
    if errors:
        raise ValidationFailed("The payment could not be recorded.", fields=errors)
    with transaction.atomic():
        invoice = Document.objects.select_for_update().get(pk=invoice.pk)
        if invoice.kind == DocumentKind.CREDIT_NOTE:
            raise ValidationFailed(
                f"{invoice.number} is a credit note: payments are recorded against invoices only. QuickBooks "
                "applies a credit note to bills, and those applications come back here by themselves.",
                field="invoice",
            )
        if invoice.kind != DocumentKind.INVOICE:
            raise ValidationFailed("Payments belong to invoices, not purchase orders.", field="invoice")
        if invoice.status not in workflow.APPROVED_STATUSES:
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
    require(actor, Permission.PAYMENT_CANCEL)
    reason = reason.strip()
    if problems := text_errors(reason, what="The reason", max_length=200, multiline=True):
        raise ValidationFailed(problems[0], fields={"reason": problems})
    with transaction.atomic():
        invoice = Document.objects.select_for_update().get(pk=payment.invoice_id)
        payment = Payment.objects.select_for_update().get(pk=payment.pk)
        if payment.status == PaymentStatus.CANCELLED:
            raise TransitionNotAllowed("This payment is already cancelled.", field="status")
        payment.status = PaymentStatus.CANCELLED
        payment.cancelled_by = actor
        payment.cancelled_at = timezone.now()
        payment.cancel_reason = reason
        payment.save(update_fields=["status", "cancelled_by", "cancelled_at", "cancel_reason"])
        invoice_refresh_payment_status(
            invoice=invoice, actor=actor, comment=f"Payment of {payment.amount} on {payment.paid_on} cancelled"
        )
        if payment.credit_note_id is not None:  # a supplier credit: the credit note is less applied now
            assert payment.credit_note is not None
            credit_note_status_recompute(payment.credit_note, actor=actor, source="")
    return payment


# ---------------------------------------------------------------- payments imported from QuickBooks


@dataclass(frozen=True)
class ImportedPart:
    """One part of a QuickBooks bill payment that pays one of our invoices (cash or a supplier credit)."""

    invoice_id: int
    line_key: str
    amount: Decimal
    paid_on: dt.date
    method: str
    reference: str
    # A supplier credit: our credit note that QuickBooks applied (its VendorCredit), if we have it.
    # A credit note of another company, or a document that is no credit note, is not linked.
    credit_note_id: int | None = None


@dataclass
class ImportOutcome:
    new: int = 0  # parts recorded for the first time
    updated: int = 0  # parts whose amount, date or method changed in QuickBooks
    unchanged: int = 0
    cancelled: int = 0
    known_txns: int = 0  # bill payments that changed nothing here

    def add(self, other: ImportOutcome) -> None:
        for name in ("new", "updated", "unchanged", "cancelled", "known_txns"):
            setattr(self, name, getattr(self, name) + getattr(other, name))


def qbo_payments_apply(
    *,
    company_id: int,
    realm_id: str,
    txns: dict[str, list[ImportedPart]],
    via: str,
    reason_gone: dict[str, str] | None = None,
    versions: dict[str, int] | None = None,
    source: Callable[[str], str],
) -> ImportOutcome:
    """Make the payments here match QuickBooks bill payments ``txns`` (txn id → its parts now).

    The system path for QuickBooks: no actor and no over-payment check (QBO is the book of record);
    nothing is ever sent back. Keyed by (realm, txn id, line key), so applying the same state twice
    changes nothing. Parts no longer present (edited, voided, deleted: an empty list) are cancelled;
    ``reason_gone`` names why per txn. A part a person cancelled here stays cancelled.
    ``versions`` (txn id → SyncToken, deletions highest): a state older than one applied is skipped.

    Scoped by company as well as realm: two companies here may once have been connected to the same
    QuickBooks company, and one's bill payments never touch the other's payments. The invoices are
    locked first (in pk order) and the existing payments read under those locks, so a webhook and a
    catch-up applying the same bill payment at once serialise on the invoices and the second one
    decides with what the first one wrote.
    """
    outcome = ImportOutcome()
    if not txns:
        return outcome
    reasons = reason_gone or {}
    now = timezone.now()
    with transaction.atomic():
        invoices, existing = _lock_then_read(company_id=company_id, realm_id=realm_id, txns=txns)
        credit_notes = _lock_credit_notes(company_id=company_id, txns=txns, existing=existing)
        create: list[dict[str, object]] = []  # new payments' columns (attname → value)
        change: list[Payment] = []
        touched: dict[int, str] = {}  # invoice id → txn id that changed it
        touched_credit_notes: dict[int, str] = {}  # credit note id → txn id that changed its applications
        by_txn: dict[str, list[Payment]] = {}
        for (tid, _key), row in existing.items():
            by_txn.setdefault(tid, []).append(row)
        for txn_id, parts in txns.items():
            changed_before = len(create) + len(change)
            change_start = len(change)
            version = (versions or {}).get(txn_id)
            rows = by_txn.get(txn_id, [])
            applied = max((r.qbo_version for r in rows if r.qbo_version is not None), default=None)
            if version is not None and applied is not None and applied > version:
                outcome.known_txns += 1  # an older state than the one already applied
                continue
            wanted = {part.line_key: part for part in parts}
            for gone in rows:
                if gone.qbo_line_key in wanted or gone.status == PaymentStatus.CANCELLED:
                    continue
                gone.status = PaymentStatus.CANCELLED
                gone.cancelled_at = now
                gone.cancel_reason = reasons.get(txn_id, "Removed from the bill payment in QuickBooks")[:200]
                change.append(gone)
                outcome.cancelled += 1
                touched[gone.invoice_id] = txn_id
                if gone.credit_note_id is not None:
                    touched_credit_notes[gone.credit_note_id] = txn_id
            for key, part in wanted.items():
                invoice = invoices.get(part.invoice_id)
                if invoice is None:
                    continue
                payment = existing.get((txn_id, key))
                link = part.credit_note_id if part.credit_note_id in credit_notes else None
                if payment is None:
                    create.append(
                        {
                            "company_id": invoice.company_id,
                            "invoice_id": invoice.pk,
                            "credit_note_id": link,
                            "amount": part.amount,
                            "paid_on": part.paid_on,
                            "method": part.method,
                            "source": Source.QUICKBOOKS,
                            "via": via,
                            "reference": part.reference[:100],
                            "qbo_realm_id": realm_id,
                            "qbo_txn_id": txn_id,
                            "qbo_line_key": key,
                            "qbo_version": version,
                        }
                    )
                    outcome.new += 1
                    touched[invoice.pk] = txn_id
                    if link is not None:
                        touched_credit_notes[link] = txn_id
                    continue
                # Cancelled by QuickBooks earlier and back now (an edit): active again. Cancelled by
                # a person here: their decision stands.
                revive = payment.status == PaymentStatus.CANCELLED and payment.cancelled_by_id is None
                if payment.status == PaymentStatus.CANCELLED and not revive:
                    outcome.unchanged += 1
                    continue
                same = (payment.amount, payment.paid_on, payment.method, payment.credit_note_id) == (
                    part.amount,
                    part.paid_on,
                    part.method,
                    link,
                )
                if same and not revive:
                    outcome.unchanged += 1
                    continue
                for credit_note_id in (payment.credit_note_id, link):  # the one it leaves, the one it joins
                    if credit_note_id is not None:
                        touched_credit_notes[credit_note_id] = txn_id
                payment.amount, payment.paid_on, payment.method = part.amount, part.paid_on, part.method
                payment.credit_note_id = link
                payment.status, payment.cancelled_at, payment.cancel_reason = PaymentStatus.ACTIVE, None, ""
                change.append(payment)
                outcome.updated += 1
                touched[payment.invoice_id] = txn_id
            if len(create) + len(change) == changed_before:
                outcome.known_txns += 1
            if version is not None:
                changed_ids = {row.pk for row in change[change_start:]}
                for row in rows:
                    if row.qbo_version != version:
                        row.qbo_version = version
                        if row.pk not in changed_ids:
                            change.append(row)
        insert_rows(Payment, create)
        Payment.objects.bulk_update(
            change,
            ["amount", "paid_on", "method", "credit_note", "status", "cancelled_at", "cancel_reason", "qbo_version"],
            batch_size=500,
        )
        _refresh_many(invoices, touched, source)
        for credit_note_id, txn_id in sorted(touched_credit_notes.items()):
            if credit_note_id in credit_notes:
                credit_note_status_recompute(credit_notes[credit_note_id], source=source(txn_id))
    return outcome


# What applying payments reads of an invoice (locked rows are loaded with these only: an import
# locks thousands).
INVOICE_FIELDS = ("pk", "company", "kind", "status", "total", "currency")


def _lock_then_read(
    *, company_id: int, realm_id: str, txns: dict[str, list[ImportedPart]]
) -> tuple[dict[int, Document], dict[tuple[str, str], Payment]]:
    """Lock the invoices the bill payments ``txns`` touch, then read their existing payments.

    The candidates are the invoices the parts name and those of a plain (unlocked) read of the
    existing payments; they are locked in pk order, then the payments are read again under the
    locks. Should that read reveal another invoice (a part moved while we waited), it is locked too
    and the payments read once more, until nothing new appears.

    The payments are found through the (realm, txn id, line key) unique index, whose condition
    (a txn id) the query repeats so that SQLite and PostgreSQL can use it, and kept to the company
    here: filtered in SQL by company instead, SQLite scans all the company's payments for each
    page of an import.
    """
    payments = Payment.objects.filter(qbo_realm_id=realm_id, qbo_txn_id__in=list(txns)).exclude(qbo_txn_id="")
    candidates = {part.invoice_id for parts in txns.values() for part in parts}
    candidates |= {i for i, c in payments.values_list("invoice_id", "company_id") if c == company_id}
    invoices: dict[int, Document] = {}
    asked: set[int] = set()  # locked, or not an invoice of this company
    while True:
        to_lock = sorted(candidates - asked)
        asked |= candidates
        locked = (
            Document.objects.select_for_update()
            .filter(pk__in=to_lock, company_id=company_id)
            .only(*INVOICE_FIELDS)
            .order_by("pk")
        )
        invoices.update((d.pk, d) for d in locked)
        existing = {(p.qbo_txn_id, p.qbo_line_key): p for p in payments.all() if p.company_id == company_id}
        candidates = {p.invoice_id for p in existing.values()} - asked
        if not candidates:
            return invoices, existing


def _lock_credit_notes(
    *, company_id: int, txns: dict[str, list[ImportedPart]], existing: dict[tuple[str, str], Payment]
) -> dict[int, Document]:
    """Lock, after the invoices and in pk order, the company's credit notes that the parts name or
    that the existing payments of these bill payments point at (a part may move off one)."""
    named = [part.credit_note_id for parts in txns.values() for part in parts]
    named += [payment.credit_note_id for payment in existing.values()]
    ids = sorted({pk for pk in named if pk is not None})
    if not ids:
        return {}
    locked = Document.objects.select_for_update().filter(pk__in=ids, company_id=company_id)
    return {document.pk: document for document in locked.filter(kind=DocumentKind.CREDIT_NOTE).order_by("pk")}


def _refresh_many(invoices: dict[int, Document], touched: dict[int, str], source: Callable[[str], str]) -> None:
    """Recompute the status of each touched invoice with one sum query for all of them, and write
    the changes in bulk: one UPDATE per new status and one INSERT per 500 events (what
    ``document_set_payment_status`` does one invoice at a time; an import touches thousands)."""
    if not touched:
        return
    sums = dict(
        Payment.objects.filter(invoice_id__in=list(touched), status=PaymentStatus.ACTIVE)
        .values_list("invoice_id")
        .annotate(s=Sum("amount"))
        .values_list("invoice_id", "s")
    )
    changes: list[PaymentStatusChange] = []
    for invoice_id, txn_id in touched.items():
        invoice = invoices[invoice_id]
        if invoice.status not in workflow.APPROVED_STATUSES:
            continue  # revised, pending or cancelled: kept (approval recomputes it); the payment is listed
        paid = (sums.get(invoice_id) or Decimal("0")).quantize(CENT)
        status = payment_status_for(total=invoice.total, paid=paid)
        comment = f"Paid {paid} of {invoice.total} {invoice.currency}"
        changes.append(PaymentStatusChange(invoice, status, source=source(txn_id), comment=comment))
    documents_set_payment_status(changes)
