"""Importing QuickBooks' lists in the background, with live progress.

A press starts a run and the page polls it (htmx) until it is done, then shows the counts; the
run is kept, so the page can be left and reopened. ``services.lists_import`` reports each step.
"""

from __future__ import annotations

import logging

import dramatiq
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from accounts.roles import Permission, require
from procuresync.errors import DomainError, NotFound
from quickbooks.connection import connection_of
from quickbooks.errors import NotConnected
from quickbooks.models import ConnectionStatus
from quickbooks.progress_models import ListImportRun, RunState
from quickbooks.services import lists_import

log = logging.getLogger(__name__)


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
