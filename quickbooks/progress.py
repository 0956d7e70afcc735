"""Long work with live progress: importing the lists, and sending many documents at once.

Each press starts a run in the background and the page polls it (htmx) until it is done, then
shows what happened; the run is kept, so the page can be left and reopened. A list import counts
its steps as it goes; a bulk send needs no counter: its progress is its documents' sync status.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

import dramatiq
from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from accounts.models import User
from accounts.roles import Permission, require
from procuresync.errors import DomainError, NotFound
from quickbooks.connection import connection_of
from quickbooks.errors import NotConnected
from quickbooks.models import ConnectionStatus, DocumentSync, SyncStatus
from quickbooks.progress_models import ListImportRun, RunState, SendRun

log = logging.getLogger(__name__)


# ------------------------------------------------------------------------------------ list import


def list_import_start(*, actor: User) -> ListImportRun:
    """Queue an import of QuickBooks' lists; while one is queued or running, that one is answered."""
    require(actor, Permission.INTEGRATION_MANAGE)
    if connection_of(actor.tenant_id).status != ConnectionStatus.CONNECTED:
        raise NotConnected("Connect QuickBooks first.")
    with transaction.atomic():
        running = (
            ListImportRun.objects.select_for_update()
            .filter(company_id=actor.tenant_id, state__in=[RunState.QUEUED, RunState.RUNNING])
            .first()
        )
        if running is not None:
            return running
        run = ListImportRun.objects.create(company_id=actor.tenant_id, requested_by=actor, step="Waiting to start")
        transaction.on_commit(lambda: import_lists.send(run.pk))
    return run


@dramatiq.actor(queue_name="quickbooks", max_retries=0, time_limit=15 * 60 * 1000)
def import_lists(run_id: int) -> None:
    list_import_run(run_id)


def list_import_run(run_id: int) -> ListImportRun:
    """Run the import (``services.lists_import``), writing each step as it starts."""
    from quickbooks.services import lists_import  # the service imports this module's starters

    run = ListImportRun.objects.select_related("requested_by").get(pk=run_id)
    if run.finished:
        return run

    def step(what: str, done: int, total: int) -> None:
        ListImportRun.objects.filter(pk=run.pk).update(step=what, steps_done=done, steps_total=total)

    ListImportRun.objects.filter(pk=run.pk).update(state=RunState.RUNNING)
    try:
        counts = lists_import(actor=run.requested_by, progress=step)
    except DomainError as exc:
        ListImportRun.objects.filter(pk=run.pk).update(
            state=RunState.FAILED, error=f"The lists were not imported: {exc.message}", finished_at=timezone.now()
        )
    except Exception as exc:
        log.exception("List import %s failed", run.pk)
        ListImportRun.objects.filter(pk=run.pk).update(
            state=RunState.FAILED, error=f"The lists were not imported: {exc}"[:2000], finished_at=timezone.now()
        )
    else:
        ListImportRun.objects.filter(pk=run.pk).update(
            state=RunState.DONE, step="Done", counts=counts, finished_at=timezone.now()
        )
    run.refresh_from_db()
    return run


def list_import_get(*, user: User, run_id: object) -> ListImportRun:
    require(user, Permission.INTEGRATION_MANAGE)
    try:
        return ListImportRun.objects.get(company_id=user.tenant_id, pk=int(str(run_id)))
    except (ListImportRun.DoesNotExist, ValueError):
        raise NotFound("No such list import.") from None


def list_import_latest(user: User) -> ListImportRun | None:
    require(user, Permission.INTEGRATION_MANAGE)
    return ListImportRun.objects.filter(company_id=user.tenant_id).first()


# ------------------------------------------------------------------------------------- bulk sends


@dataclass(frozen=True)
class SendProgress:
    run: SendRun
    total: int
    on_the_way: int
    sent: int
    failed: int

    @property
    def done(self) -> int:
        return self.total - self.on_the_way

    @property
    def finished(self) -> bool:
        return self.on_the_way == 0

    @property
    def percent(self) -> int:
        return 100 if not self.total else round(100 * self.done / self.total)


def send_run_start(*, company_id: int, document_ids: Iterable[int], reason: str, actor: User | None) -> SendRun | None:
    """Keep the documents of a bulk send (in the caller's transaction), or None when there are none."""
    ids = sorted(set(document_ids))
    if not ids:
        return None
    return SendRun.objects.create(company_id=company_id, requested_by=actor, reason=reason, document_ids=ids)


def send_progress(run: SendRun) -> SendProgress:
    statuses = dict(
        DocumentSync.objects.filter(document_id__in=run.document_ids)
        .values_list("status")
        .annotate(n=Count("document_id"))
        .values_list("status", "n")
    )
    return SendProgress(
        run=run,
        total=len(run.document_ids),
        on_the_way=statuses.get(SyncStatus.QUEUED, 0),
        sent=statuses.get(SyncStatus.SENT, 0),
        failed=statuses.get(SyncStatus.FAILED, 0),
    )


def send_run_get(*, user: User, run_id: object) -> SendProgress:
    require(user, Permission.QUICKBOOKS_SEND)
    try:
        return send_progress(SendRun.objects.get(company_id=user.tenant_id, pk=int(str(run_id))))
    except (SendRun.DoesNotExist, ValueError):
        raise NotFound("No such send.") from None


def send_run_latest(user: User) -> SendProgress | None:
    require(user, Permission.QUICKBOOKS_SEND)
    run = SendRun.objects.filter(company_id=user.tenant_id).first()
    return send_progress(run) if run is not None else None
