"""What payments in keep: raw webhook events, the catch-up cursor, and date-range import runs.

Registered with Django through ``quickbooks.models`` (same app, same tables as before).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from accounts.models import Company


class EventState(models.TextChoices):
    PENDING = "pending", "Pending"
    PROCESSING = "processing", "Processing"
    DONE = "done", "Done"
    IGNORED = "ignored", "Ignored"
    FAILED = "failed", "Failed"


class WebhookEvent(models.Model):
    """One event of a signed QuickBooks webhook POST, stored before it is acknowledged."""

    # CloudEvents id, or realm:entity:id:operation:lastUpdated for the legacy format.
    dedupe_key = models.CharField(max_length=255, unique=True)
    format = models.CharField(max_length=20)  # cloudevents / legacy
    realm_id = models.CharField(max_length=40)
    entity = models.CharField(max_length=40)
    entity_id = models.CharField(max_length=40)
    operation = models.CharField(max_length=20)  # Create / Update / Delete / Void / Merge / ...
    occurred_at = models.CharField(max_length=40, blank=True)
    payload = models.TextField()
    state = models.CharField(max_length=20, choices=EventState.choices, default=EventState.PENDING)
    outcome = models.TextField(blank=True)
    received_at = models.DateTimeField(auto_now_add=True)
    # When a worker claimed it; a claim older than the lease belonged to a worker that died.
    claimed_at = models.DateTimeField(null=True, blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["state", "id"])]


class PaymentsCursor(models.Model):
    """Where the periodic CDC catch-up of a connected company has got to."""

    connection = models.OneToOneField("quickbooks.Connection", on_delete=models.CASCADE, related_name="payments_cursor")
    changed_since = models.DateTimeField(null=True, blank=True)
    last_started_at = models.DateTimeField(null=True, blank=True)
    last_finished_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)


class ImportState(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class PaymentImportRun(models.Model):
    """A date-range import of QuickBooks bill payments asked for on the Payments page."""

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="+")
    realm_id = models.CharField(max_length=40)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    date_from = models.DateField()
    date_to = models.DateField()
    state = models.CharField(max_length=20, choices=ImportState.choices, default=ImportState.QUEUED)
    pages = models.PositiveIntegerField(default=0)
    # How many bill payments QuickBooks has in the range (a COUNT query first), for "X of Y".
    total = models.PositiveIntegerField(null=True, blank=True)
    bill_payments = models.PositiveIntegerField(default=0)
    new = models.PositiveIntegerField(default=0)
    known = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    cancelled = models.PositiveIntegerField(default=0)
    unlinked = models.PositiveIntegerField(default=0)
    api_calls = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    @property
    def finished(self) -> bool:
        return self.state in (ImportState.DONE, ImportState.FAILED)
