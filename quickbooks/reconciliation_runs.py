"""Reconciliation runs: started by an Admin (page, API), by ``manage.py qbo_reconcile``, or nightly by
the scheduler; run in the background by the ``reconcile_company`` actor with progress counters the
page polls; and the fixes an Admin applies to the differences found, one row or all of them.

The engine is ``quickbooks.reconciliation``; this module keeps runs and applies fixes through the
services that own each write: ``export.services.document_send_again`` (documents out),
``inbound.feed.refresh_bill_payments`` (payments in), ``payments.services`` (the invoice status).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import dramatiq
from django.db import transaction
from django.utils import timezone

from accounts.audit import Action, record
from accounts.models import User
from accounts.roles import Permission, require
from payments.services import invoice_refresh_payment_status
from procurement.models import Document
from procurement.selectors import document_get
from procurement.workflow import APPROVED_STATUSES
from procuresync.errors import DomainError, NotFound, RoleRequired, TransitionNotAllowed, ValidationFailed
from quickbooks.connection import client_for, connection_of
from quickbooks.errors import NotConnected
from quickbooks.export.services import document_send_again
from quickbooks.inbound.feed import refresh_bill_payments
from quickbooks.models import Connection, ConnectionStatus, ReconciliationRun, ReconciliationState
from quickbooks.reconciliation import APPLICABLE_FIXES, DifferenceKind, Fix, reconcile

log = logging.getLogger(__name__)

NIGHTLY_HOUR = 2  # local time: the first scheduler tick after 02:00 queues the day's run
RUN_TIME_LIMIT = dt.timedelta(minutes=60)
REQUEUE_AFTER = dt.timedelta(minutes=2)  # a run still queued after this is sent again when asked for
NOT_CONNECTED = "QuickBooks is not connected; connect it on Integrations first."
NEEDS_RECONNECT = "QuickBooks needs you to sign in again (Integrations → Reconnect) before reconciling."


# ------------------------------------------------------------------------------------ reads


def run_get(*, user: User, run_id: object) -> ReconciliationRun:
    require(user, Permission.INTEGRATION_MANAGE)
    try:
        return ReconciliationRun.objects.get(company_id=user.tenant_id, pk=int(str(run_id)))
    except (ReconciliationRun.DoesNotExist, ValueError):
        raise NotFound("No such reconciliation.") from None


def run_latest(user: User) -> ReconciliationRun | None:
    require(user, Permission.INTEGRATION_MANAGE)
    return ReconciliationRun.objects.filter(company_id=user.tenant_id).first()


def run_latest_finished(user: User) -> ReconciliationRun | None:
    """The last run that came to an end (the summary on the Integrations page)."""
    require(user, Permission.INTEGRATION_MANAGE)
    finished = [ReconciliationState.DONE, ReconciliationState.FAILED]
    return ReconciliationRun.objects.filter(company_id=user.tenant_id, state__in=finished).first()


def rows_of(run: ReconciliationRun, kind: str = "") -> list[dict[str, Any]]:
    """The run's difference rows (each with its ``index`` and labels), of one kind if given."""
    out = []
    for index, row in enumerate(run.rows or []):
        if kind and row.get("kind") != kind:
            continue
        out.append({**row, "index": index, **labels(row)})
    return out


def labels(row: dict[str, Any]) -> dict[str, str]:
    kind = row.get("kind", "")
    fix = row.get("fix", "")
    return {
        "kind_label": DifferenceKind(kind).label if kind in DifferenceKind.values else kind,
        "fix_label": Fix(fix).label if fix in Fix.values else fix,
    }


def counts_by_kind(run: ReconciliationRun) -> list[tuple[str, str, int]]:
    """(kind, label, rows) for each kind found, in the order of ``DifferenceKind``."""
    counts: dict[str, int] = {}
    for row in run.rows or []:
        counts[row.get("kind", "")] = counts.get(row.get("kind", ""), 0) + 1
    return [(value, label, counts[value]) for value, label in DifferenceKind.choices if counts.get(value)]


# ------------------------------------------------------------------------------------ starting


def _live_connection(company_id: int) -> Connection:
    connection = Connection.objects.filter(company_id=company_id).first()
    if connection is None or connection.status == ConnectionStatus.NOT_CONNECTED:
        raise NotConnected(NOT_CONNECTED)
    if connection.status == ConnectionStatus.NEEDS_RECONNECT:
        raise NotConnected(NEEDS_RECONNECT)
    return connection


def run_start(*, actor: User) -> ReconciliationRun:
    """Queue a reconciliation of the Admin's company; while one is queued or running, that one is
    returned instead of starting a second."""
    require(actor, Permission.INTEGRATION_MANAGE)
    connection = _live_connection(actor.tenant_id)
    return _queue(connection, requested_by=actor)


def _queue(connection: Connection, *, requested_by: User | None) -> ReconciliationRun:
    with transaction.atomic():
        Connection.objects.select_for_update().filter(pk=connection.pk).first()  # one start at a time
        unfinished = ReconciliationRun.objects.filter(
            company_id=connection.company_id, state__in=[ReconciliationState.QUEUED, ReconciliationState.RUNNING]
        ).first()
        now = timezone.now()
        if unfinished is not None and _stalled(unfinished, now):
            ReconciliationRun.objects.filter(pk=unfinished.pk).update(
                state=ReconciliationState.FAILED,
                phase="",
                error="The reconciliation stopped without finishing (the worker running it was stopped).",
                finished_at=now,
            )
        elif unfinished is not None:
            if unfinished.state == ReconciliationState.QUEUED and now - unfinished.created_at > REQUEUE_AFTER:
                # Its message may have been lost (the embedded broker keeps messages in memory only).
                transaction.on_commit(lambda: reconcile_company.send(unfinished.pk))
            return unfinished
        run = ReconciliationRun.objects.create(
            company_id=connection.company_id, realm_id=connection.realm_id, requested_by=requested_by
        )
        transaction.on_commit(lambda: reconcile_company.send(run.pk))
    return run


def _stalled(run: ReconciliationRun, now: dt.datetime) -> bool:
    """Running for longer than the actor may run: its worker is gone."""
    return run.state == ReconciliationState.RUNNING and (
        run.started_at is None or now - run.started_at > RUN_TIME_LIMIT
    )


def run_now(*, company_id: int) -> ReconciliationRun:
    """Run a reconciliation here and now (``manage.py qbo_reconcile``: an operator, no user)."""
    connection = _live_connection(company_id)
    run = ReconciliationRun.objects.create(company_id=company_id, realm_id=connection.realm_id)
    return execute(run.pk)


def nightly_due(now: dt.datetime | None = None) -> int:
    """Queue one run per connected company with "Reconcile nightly" on, once a day after
    ``NIGHTLY_HOUR`` (compare-and-set on the day, so several schedulers queue one run)."""
    now = timezone.localtime(now or timezone.now())
    if now.hour < NIGHTLY_HOUR:
        return 0
    today = now.date()
    queued = 0
    for connection in Connection.objects.filter(status=ConnectionStatus.CONNECTED, reconcile_nightly=True):
        if connection.reconcile_queued_on == today:
            continue
        won = Connection.objects.filter(pk=connection.pk, reconcile_queued_on=connection.reconcile_queued_on).update(
            reconcile_queued_on=today
        )
        if won:
            _queue(connection, requested_by=None)
            queued += 1
    return queued


def nightly_set(*, actor: User, on: bool) -> Connection:
    """Switch the nightly reconciliation of the Admin's company on or off."""
    require(actor, Permission.INTEGRATION_MANAGE)
    connection = connection_of(actor.tenant_id)
    was_on = connection.reconcile_nightly
    connection.reconcile_nightly = on
    with transaction.atomic():
        connection.save(update_fields=["reconcile_nightly"])
        if was_on != on:
            # An Integrations setting like the others (``services.connection_update_settings``).
            changes = {"reconcile_nightly": {"old": was_on, "new": on}}
            record(Action.SETTINGS_CHANGED, actor=actor, target="QuickBooks settings", details={"changes": changes})
    return connection


# ------------------------------------------------------------------------------------ running


@dramatiq.actor(queue_name="quickbooks", max_retries=0, time_limit=int(RUN_TIME_LIMIT.total_seconds() * 1000))
def reconcile_company(run_id: int) -> None:
    execute(run_id)


def execute(run_id: int) -> ReconciliationRun:
    """Run one reconciliation, telling its progress on the run row as it goes (the page polls it)."""
    run = ReconciliationRun.objects.get(pk=run_id)
    if run.finished:
        return run
    claimed = ReconciliationRun.objects.filter(pk=run.pk, state=ReconciliationState.QUEUED).update(
        state=ReconciliationState.RUNNING, started_at=timezone.now(), phase="Reading documents"
    )
    if not claimed:
        return run  # another worker has it
    connection = Connection.objects.filter(company_id=run.company_id).first()

    def progress(phase: str, checked: int, total: int, calls: int) -> None:
        ReconciliationRun.objects.filter(pk=run.pk).update(
            phase=phase, documents_checked=checked, documents_total=total, api_calls=calls
        )

    try:
        if connection is None or not connection.is_live:
            raise NotConnected(NEEDS_RECONNECT if connection is not None else NOT_CONNECTED)
        report = reconcile(connection, client_for(connection), progress=progress)
    except Exception as exc:
        log.exception("Reconciliation %s failed", run.pk)
        message = exc.message if isinstance(exc, DomainError) else str(exc)
        ReconciliationRun.objects.filter(pk=run.pk).update(
            state=ReconciliationState.FAILED,
            phase="",
            error=f"The reconciliation stopped: {message}"[:2000],
            finished_at=timezone.now(),
        )
    else:
        ReconciliationRun.objects.filter(pk=run.pk).update(
            state=ReconciliationState.DONE,
            phase="",
            documents_checked=report.documents_checked,
            documents_total=report.documents_checked,
            differences=len(report.differences),
            api_calls=report.api_calls,
            rows=[d.as_row() for d in report.differences],
            finished_at=timezone.now(),
        )
    run.refresh_from_db()
    return run


# ------------------------------------------------------------------------------------ fixing


FIXED_TEXT = {
    Fix.SEND_AGAIN: "Queued to send again",
    Fix.IMPORT_PAYMENTS: "Payments imported",
    Fix.RECOMPUTE_STATUS: "Status recomputed",
}


def run_fix(*, actor: User, run: ReconciliationRun, index: int) -> str:
    """Apply one row's fix; returns what was done (for the message on the page)."""
    require(actor, Permission.INTEGRATION_MANAGE)
    rows = run.rows or []
    if not 0 <= index < len(rows):
        raise NotFound("No such difference.")
    row = rows[index]
    if row.get("fixed"):
        return f"{row.get('number', '')}: {str(row['fixed']).lower()}."
    fix = row.get("fix", "")
    if fix not in APPLICABLE_FIXES:
        raise ValidationFailed(
            "This difference is put right in QuickBooks: open it there."
            if fix == Fix.OPEN_IN_QBO
            else "There is nothing procuresync can do about this difference by itself."
        )
    done, _ = _apply(actor, {index: row}, stop_on_error=True)
    _mark_fixed(run, done, actor=actor)
    return f"{row.get('number', '')}: {done[index].lower()}."


@dataclass(frozen=True)
class FixAllResult:
    fixed: int  # rows whose fix was applied
    by_hand: int  # rows to put right in QuickBooks (or that cannot be fixed from here)
    errors: list[str]  # fixes refused, one message each


def run_fix_all(*, actor: User, run: ReconciliationRun, kind: str = "") -> FixAllResult:
    """Apply the fix of every row not fixed yet (of one kind if given)."""
    require(actor, Permission.INTEGRATION_MANAGE)
    todo = {
        index: row
        for index, row in enumerate(run.rows or [])
        if (not kind or row.get("kind") == kind) and not row.get("fixed")
    }
    applicable = {i: r for i, r in todo.items() if r.get("fix") in APPLICABLE_FIXES}
    done, errors = _apply(actor, applicable, stop_on_error=False)
    _mark_fixed(run, done, actor=actor)
    return FixAllResult(fixed=len(done), by_hand=len(todo) - len(applicable), errors=errors)


def _apply(actor: User, rows: dict[int, dict[str, Any]], *, stop_on_error: bool) -> tuple[dict[int, str], list[str]]:
    """Apply the rows' fixes: one "send again" per document (several rows of one document share
    it), all the bill payments involved refreshed in one go, each status recomputed once.
    Returns (row index → what was done, refusals)."""
    sends: dict[int, list[int]] = {}  # document id → its rows
    statuses: dict[int, list[int]] = {}
    payments: dict[str, list[int]] = {}
    for index, row in rows.items():
        fix = row.get("fix")
        if fix == Fix.SEND_AGAIN:
            sends.setdefault(int(row["document_id"]), []).append(index)
        elif fix == Fix.IMPORT_PAYMENTS:
            for txn_id in row.get("payment_ids", []):
                payments.setdefault(str(txn_id), []).append(index)
        elif fix == Fix.RECOMPUTE_STATUS:
            statuses.setdefault(int(row["document_id"]), []).append(index)
    done: dict[int, str] = {}
    errors: list[str] = []

    def attempt(indexes: list[int], text: str, action: Callable[[], None]) -> None:
        try:
            action()
        except RoleRequired:
            raise
        except DomainError as exc:
            if stop_on_error:
                raise
            errors.append(f"{rows[indexes[0]].get('number', '')}: {exc.message}")
        else:
            done.update((i, text) for i in indexes)

    for doc_id, indexes in sends.items():
        gone = any(rows[i].get("gone_from_qbo") for i in indexes)

        def send(doc_id: int = doc_id, gone: bool = gone) -> None:
            document = document_get(user=actor, document_id=doc_id)
            document_send_again(actor=actor, document=document, gone_from_qbo=gone)

        attempt(indexes, FIXED_TEXT[Fix.SEND_AGAIN], send)
    if payments:

        def refresh() -> None:
            connection = _live_connection(actor.tenant_id)
            refresh_bill_payments(connection, read_ids=list(payments), deleted_ids=[], via="import")

        attempt(sorted({i for indexes in payments.values() for i in indexes}), FIXED_TEXT[Fix.IMPORT_PAYMENTS], refresh)
    for doc_id, indexes in statuses.items():

        def recompute(doc_id: int = doc_id) -> None:
            document = document_get(user=actor, document_id=doc_id)
            with transaction.atomic():
                invoice = Document.objects.select_for_update().get(pk=document.pk)
                if invoice.status not in APPROVED_STATUSES:
                    raise TransitionNotAllowed(
                        f"{invoice.number} is {invoice.get_status_display()} now; its status follows its "
                        "payments again once it is approved."
                    )
                invoice_refresh_payment_status(invoice=invoice, actor=actor, comment="Recomputed by reconciliation")

        attempt(indexes, FIXED_TEXT[Fix.RECOMPUTE_STATUS], recompute)
    return done, errors


def _mark_fixed(run: ReconciliationRun, done: dict[int, str], *, actor: User) -> None:
    if not done:
        return
    with transaction.atomic():
        locked = ReconciliationRun.objects.select_for_update().get(pk=run.pk)
        rows = list(locked.rows or [])
        for index, text in done.items():
            rows[index] = {**rows[index], "fixed": text}
        locked.rows = rows
        locked.save(update_fields=["rows"])
        fixes = [
            {"document": rows[index].get("number", ""), "difference": labels(rows[index])["kind_label"], "fix": text}
            for index, text in sorted(done.items())
        ]
        record(
            Action.RECONCILIATION_FIXED,
            actor=actor,
            target=f"Reconciliation {run.pk}",
            details={"reconciliation": run.pk, "fixes": fixes},
        )
    run.rows = rows
