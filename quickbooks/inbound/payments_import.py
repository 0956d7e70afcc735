"""The date-range import of QuickBooks bill payments (the Payments page's "Import from QuickBooks").

The button is for when someone wants to be sure: it queries BillPayments by transaction date, a
page of 1,000 at a time (no per-payment reads), and feeds each page to the same idempotent
``feed`` as webhooks and the catch-up, so importing a range twice changes nothing.
"""

from __future__ import annotations

import datetime as dt
import logging

import dramatiq
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from accounts.audit import Action, record
from accounts.models import User
from accounts.roles import Permission, require
from procurement.validation import DATE_RANGE_MESSAGE, date_in_range
from procuresync.errors import NotFound, ValidationFailed
from quickbooks.client import MAX_RESULTS
from quickbooks.connection import client_for
from quickbooks.errors import ImportSwitchedOff, NotConnected
from quickbooks.inbound.feed import feed
from quickbooks.inbound.models import ImportState, PaymentImportRun
from quickbooks.models import Connection

log = logging.getLogger(__name__)

MAX_RANGE = dt.timedelta(days=366)
SWITCH_OFF = (
    "Importing payments from QuickBooks is switched off for your company. An Admin can switch it on in Integrations."
)


NOT_CONNECTED = "Your company is not connected to QuickBooks. An Admin can connect it in Integrations."


def import_available(user: User) -> Connection | None:
    """The connection when the company is connected and its import switch is on, else None."""
    connection = Connection.objects.filter(company_id=user.tenant_id).first()
    if connection is None or not connection.is_live or not connection.import_payments:
        return None
    return connection


def import_unavailable_reason(user: User) -> str:
    """Why the import button is not offered ("" when it is)."""
    connection = Connection.objects.filter(company_id=user.tenant_id).first()
    if connection is None or not connection.is_live:
        return NOT_CONNECTED
    return "" if connection.import_payments else SWITCH_OFF


def validate_range(date_from: dt.date | None, date_to: dt.date | None, *, today: dt.date) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if date_from is None:
        errors["date_from"] = ["Enter the first day as a date, e.g. 2026-11-01."]
    elif not date_in_range(date_from):
        errors["date_from"] = [DATE_RANGE_MESSAGE]
        date_from = None
    if date_to is None:
        errors["date_to"] = ["Enter the last day as a date, e.g. 2026-11-30."]
    elif not date_in_range(date_to):
        errors["date_to"] = [DATE_RANGE_MESSAGE]
        date_to = None
    if date_from and date_to:
        if date_from > date_to:
            errors["date_to"] = ["The last day is before the first day."]
        elif date_to - date_from > MAX_RANGE:
            errors["date_to"] = ["Import at most one year at a time."]
    if date_from and date_from > today:
        errors["date_from"] = ["The first day is in the future."]
    elif date_to and date_to > today:
        errors.setdefault("date_to", ["The last day is in the future."])
    return errors


def import_start(*, actor: User, date_from: dt.date | None, date_to: dt.date | None) -> PaymentImportRun:
    require(actor, Permission.PAYMENT_RECORD)
    connection = import_available(actor)
    if connection is None:
        reason = import_unavailable_reason(actor)
        raise NotConnected(reason) if reason == NOT_CONNECTED else ImportSwitchedOff(SWITCH_OFF)
    errors = validate_range(date_from, date_to, today=timezone.localdate())
    if errors:
        raise ValidationFailed("Choose a valid date range.", fields=errors)
    assert date_from is not None and date_to is not None
    with transaction.atomic():
        run = PaymentImportRun.objects.create(
            company_id=actor.tenant_id,
            realm_id=connection.realm_id,
            requested_by=actor,
            date_from=date_from,
            date_to=date_to,
        )
        record(
            Action.PAYMENTS_IMPORTED,
            actor=actor,
            target=f"QuickBooks payments {date_from.isoformat()} to {date_to.isoformat()}",
            details={"from": date_from.isoformat(), "to": date_to.isoformat(), "import": run.pk},
        )
        transaction.on_commit(lambda: import_payments.send(run.pk))
    return run


def import_get(*, user: User, run_id: object) -> PaymentImportRun:
    require(user, Permission.PAYMENT_VIEW)
    try:
        return PaymentImportRun.objects.get(company_id=user.tenant_id, pk=int(str(run_id)))
    except (PaymentImportRun.DoesNotExist, ValueError):
        raise NotFound("No such import.") from None


def import_latest(user: User) -> PaymentImportRun | None:
    require(user, Permission.PAYMENT_VIEW)
    return PaymentImportRun.objects.filter(company_id=user.tenant_id).first()


@dramatiq.actor(queue_name="quickbooks", max_retries=0, time_limit=30 * 60 * 1000)
def import_payments(run_id: int) -> None:
    import_run(run_id)


def import_run(run_id: int) -> PaymentImportRun:
    """Run an import, page by page, counting as it goes (the page polls these counters)."""
    run = PaymentImportRun.objects.get(pk=run_id)
    if run.finished:
        return run
    connection = Connection.objects.get(company_id=run.company_id)
    PaymentImportRun.objects.filter(pk=run.pk).update(state=ImportState.RUNNING)
    client = client_for(connection)
    where = f"TxnDate >= '{run.date_from.isoformat()}' AND TxnDate <= '{run.date_to.isoformat()}'"
    start = 1
    try:
        counted = client.query(f"SELECT COUNT(*) FROM BillPayment WHERE {where}")
        PaymentImportRun.objects.filter(pk=run.pk).update(
            total=int(counted.get("totalCount", 0) or 0), api_calls=F("api_calls") + 1
        )
        while True:
            before = client.calls
            page = client.query(
                f"SELECT * FROM BillPayment WHERE {where} ORDERBY Id STARTPOSITION {start} MAXRESULTS {MAX_RESULTS}"
            ).get("BillPayment", [])
            result = feed(connection, page, via="import")
            o = result.outcome
            PaymentImportRun.objects.filter(pk=run.pk).update(
                pages=F("pages") + 1,
                bill_payments=F("bill_payments") + len(page),
                new=F("new") + o.new,
                known=F("known") + o.unchanged,
                updated=F("updated") + o.updated,
                cancelled=F("cancelled") + o.cancelled,
                unlinked=F("unlinked") + result.unlinked,
                api_calls=F("api_calls") + (client.calls - before),
            )
            if len(page) < MAX_RESULTS:
                break
            start += MAX_RESULTS
    except Exception as exc:
        log.exception("Payments import %s failed", run.pk)
        PaymentImportRun.objects.filter(pk=run.pk).update(
            state=ImportState.FAILED, error=f"QuickBooks import stopped: {exc}"[:2000], finished_at=timezone.now()
        )
    else:
        PaymentImportRun.objects.filter(pk=run.pk).update(state=ImportState.DONE, finished_at=timezone.now())
    run.refresh_from_db()
    return run
