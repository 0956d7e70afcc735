"""Long work a person waits for, kept so its page can show progress and be left and reopened:
a list import, and a bulk send (Retry all failed, or the backlog that goes out on connecting).
Registered with Django by ``quickbooks.models``."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from accounts.models import Company
from quickbooks.inbound.models import ImportState

# A run's states: the same four as a payments import's.
RunState = ImportState


# What a list import reads, in words and in the order it reads them (steps and the summary).
LIST_WORDS = {
    "Account": "accounts",
    "Class": "classes",
    "Department": "locations",
    "Customer": "customers / projects",
    "Item": "products / services",
    "TaxCode": "tax codes",
    "Term": "payment terms",
    "TaxRate": "tax rates",
    "vendors matched": "suppliers linked to vendors",
}


class ListImportRun(models.Model):
    """One "Import lists from QuickBooks": which list it is on, how many of how many are done."""

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="+")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    state = models.CharField(max_length=20, choices=RunState.choices, default=RunState.QUEUED)
    step = models.CharField(max_length=60, blank=True)  # what it is reading now, in words
    steps_done = models.PositiveIntegerField(default=0)
    steps_total = models.PositiveIntegerField(default=0)
    counts = models.JSONField(default=dict, blank=True)  # list → how many read, as the summary says
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    @property
    def finished(self) -> bool:
        return self.state in (RunState.DONE, RunState.FAILED)

    @property
    def summary(self) -> str:
        """"10 accounts, 2 classes, …" in reading order (PostgreSQL's jsonb keeps no key order)."""
        counts = self.counts or {}
        return ", ".join(f"{counts[key]} {word}" for key, word in LIST_WORDS.items() if key in counts)


class SendRun(models.Model):
    """Documents put on their way to QuickBooks at once. Progress is read from the documents' own
    sync status (still queued, sent, failed), so nothing has to count along."""

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="+")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    reason = models.CharField(max_length=40)  # "retry all failed", "backlog after connecting"
    document_ids = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
