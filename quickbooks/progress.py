"""Bulk sends with live progress: "Retry all failed", and the documents that waited for a connection.

The documents are kept with the run and the page polls it (htmx) until each has an outcome; the
run is kept, so the page can be left and reopened. Nothing counts along: the progress is the
documents' own sync status (still queued, sent, failed). List imports: ``quickbooks.list_imports``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Count

from accounts.models import User
from accounts.roles import Permission, require
from procuresync.errors import NotFound
from quickbooks.models import DocumentSync, SyncStatus
from quickbooks.progress_models import SendRun

log = logging.getLogger(__name__)


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
