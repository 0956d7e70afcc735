"""Reads for Integrations → Health: is the QuickBooks integration well, and if not, why.

Everything is read for the user's company and bounded: counts and sums are computed by the database
(per hour over the last week: at most 168 groups), lists come as ``values()`` rows with a limit, and
the sync log for the CSV is an iterator, never a list. Nothing here writes.

Where each number comes from:

- the connection: ``Connection`` (no refresh time is stored: the access token's expiry moves forward
  with every refresh, and ``connected_at`` says when the company was connected);
- the backlog: ``OutboxItem`` rows pending or in flight;
- sent / retried / failed per hour: ``SyncAttempt.outcome`` (ok / retry / failed) by ``started_at``;
- QuickBooks calls per hour: ``SyncAttempt.api_calls``; throttled answers: attempts that ended with
  HTTP 429 or fault 3001 (QuickBooks' throttle, sometimes in XML) and made a call themselves;
- payments in: the last ``WebhookEvent`` of the company's realm, and its ``PaymentsCursor``;
- failures by cause: ``DocumentSync`` rows in Failed, grouped by ``error_code``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Max, Q, QuerySet, Sum
from django.db.models.functions import TruncHour
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from accounts.roles import Permission, require
from procurement.models import DocumentKind
from quickbooks.models import (
    Connection,
    DocumentSync,
    OutboxItem,
    OutboxState,
    PaymentsCursor,
    SyncAttempt,
    SyncStatus,
    WebhookEvent,
)
from quickbooks.selectors import DETAIL_URL

HOURS = 7 * 24
LOG_PAGE = 50

LIST_URL = {
    DocumentKind.PURCHASE_ORDER: "po-list",
    DocumentKind.INVOICE: "invoice-list",
    DocumentKind.CREDIT_NOTE: "credit-note-list",
}

# SyncAttempt.outcome → the word the page uses.
OUTCOMES = {"ok": "Sent", "retry": "Retry", "failed": "Failed"}

# A throttled answer: HTTP 429, or QuickBooks' throttle fault 3001 (answered in XML, sometimes with
# another status). A batch refused by a throttle leaves an attempt on each of its rows but only the
# first made the call (``api_calls`` > 0), so the throttle is counted once.
_THROTTLED = (Q(http_status=429) | Q(fault_code="3001")) & Q(api_calls__gt=0)


def document_url(kind: str, document_id: int) -> str:
    return reverse(DETAIL_URL[DocumentKind(kind)], args=[document_id])


# ------------------------------------------------------------------------- the connection


def connection_of(user: User) -> Connection | None:
    require(user, Permission.INTEGRATION_MANAGE)
    return Connection.objects.filter(company_id=user.tenant_id).first()


# ------------------------------------------------------------------------- the backlog


@dataclass(frozen=True)
class Waiting:
    """The oldest outbox row still waiting: its document and how long it has waited."""

    number: str
    url: str
    queued_at: dt.datetime
    attempts: int
    last_error: str


@dataclass(frozen=True)
class Backlog:
    pending: int
    in_flight: int
    scheduled_later: int  # pending rows whose next try is not due yet (a retry's or a throttle's wait)
    oldest: Waiting | None

    @property
    def waiting(self) -> int:
        return self.pending + self.in_flight


def backlog(user: User) -> Backlog:
    """Outbox rows waiting to reach QuickBooks, and the oldest of them (two queries)."""
    require(user, Permission.INTEGRATION_MANAGE)
    waiting = OutboxItem.objects.filter(
        company_id=user.tenant_id, state__in=[OutboxState.PENDING, OutboxState.IN_FLIGHT]
    )
    counts = waiting.aggregate(
        pending=Count("pk", filter=Q(state=OutboxState.PENDING)),
        in_flight=Count("pk", filter=Q(state=OutboxState.IN_FLIGHT)),
        later=Count("pk", filter=Q(state=OutboxState.PENDING, not_before__gt=timezone.now())),
    )
    row = (
        waiting.order_by("created_at", "pk")
        .values("document_id", "document__kind", "document__number", "created_at", "attempts", "last_error")
        .first()
    )
    oldest = None
    if row is not None:
        oldest = Waiting(
            number=row["document__number"],
            url=document_url(row["document__kind"], row["document_id"]),
            queued_at=row["created_at"],
            attempts=row["attempts"],
            last_error=row["last_error"],
        )
    return Backlog(
        pending=counts["pending"], in_flight=counts["in_flight"], scheduled_later=counts["later"], oldest=oldest
    )


# ------------------------------------------------------------------------- per hour


@dataclass(frozen=True)
class Hour:
    """One hour of attempts (``start`` in UTC; pages show it in local time)."""

    start: dt.datetime
    sent: int = 0
    retried: int = 0
    failed: int = 0
    calls: int = 0
    throttled: int = 0

    @property
    def attempts(self) -> int:
        return self.sent + self.retried + self.failed


def hour_floor(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(dt.UTC).replace(minute=0, second=0, microsecond=0)


def hourly_activity(user: User, *, now: dt.datetime | None = None) -> list[Hour]:
    """The last 7 days, hour by hour (168 hours, the current one last), from one grouped query.

    Hours are cut in UTC: every time zone's hours are whole UTC hours but for a few half-hour zones,
    and UTC has no hour twice when clocks go back."""
    require(user, Permission.INTEGRATION_MANAGE)
    last = hour_floor(now or timezone.now())
    first = last - dt.timedelta(hours=HOURS - 1)
    rows = (
        SyncAttempt.objects.filter(document__company_id=user.tenant_id, started_at__gte=first)
        .annotate(hour=TruncHour("started_at", tzinfo=dt.UTC))
        .values("hour")
        .annotate(
            sent=Count("pk", filter=Q(outcome="ok")),
            retried=Count("pk", filter=Q(outcome="retry")),
            failed=Count("pk", filter=Q(outcome="failed")),
            calls=Sum("api_calls"),
            throttled=Count("pk", filter=_THROTTLED),
        )
        .order_by("hour")
    )
    by_hour = {hour_floor(row["hour"]): row for row in rows}
    hours = []
    for index in range(HOURS):
        start = first + dt.timedelta(hours=index)
        row = by_hour.get(start)
        if row is None:
            hours.append(Hour(start=start))
            continue
        hours.append(
            Hour(
                start=start,
                sent=row["sent"],
                retried=row["retried"],
                failed=row["failed"],
                calls=row["calls"] or 0,
                throttled=row["throttled"],
            )
        )
    return hours


# ------------------------------------------------------------------------- payments in


@dataclass(frozen=True)
class PaymentsIn:
    import_payments: bool
    last_webhook: WebhookEvent | None
    cursor: PaymentsCursor | None


def payments_in(user: User, connection: Connection | None) -> PaymentsIn:
    """The last webhook event of the company's QuickBooks company, and where the catch-up stands.

    Webhook events are stored by realm before they are routed; one realm belongs to one live company,
    and events that arrived before this company connected were another company's."""
    require(user, Permission.INTEGRATION_MANAGE)
    if connection is None or not connection.realm_id:
        return PaymentsIn(import_payments=False, last_webhook=None, cursor=None)
    events = WebhookEvent.objects.filter(realm_id=connection.realm_id)
    if connection.connected_at is not None:
        events = events.filter(received_at__gte=connection.connected_at)
    last = events.order_by("-id").defer("payload").first()
    cursor = PaymentsCursor.objects.filter(connection=connection).first()
    return PaymentsIn(import_payments=connection.import_payments, last_webhook=last, cursor=cursor)


# ------------------------------------------------------------------------- failures by cause

THROTTLED_FIX = "QuickBooks asked procuresync to slow down, time after time. Press Retry all failed later."
SIGN_IN_FIX = "QuickBooks refused procuresync's sign-in. Reconnect on Integrations."
CLOSED_PERIOD_FIX = (
    "QuickBooks' books are closed for the document's date. Ask your accountant to reopen the period in "
    "QuickBooks (or move its closing date back), or revise the document to a date after the closing date; "
    "then press Retry."
)
TRANSIENT_FIX = (
    "QuickBooks kept failing or did not answer, retry after retry. Nothing is wrong with the document: press "
    "Retry all failed on Integrations once QuickBooks answers again."
)
NOT_FOUND_FIX = (
    "Something the document uses (an account, class, item, customer or vendor) was deleted or made inactive in "
    "QuickBooks. Import the lists again on Integrations, correct the document in a revision if needed, then Retry."
)
VALIDATION_FIX = (
    "QuickBooks refused the document; the message names the field. Correct it in a revision (or in QuickBooks, "
    "for a list entry), then press Retry."
)

# error_code → (what it is, what to do). Our own reasons first, then QuickBooks' fault codes and the
# cause names given when QuickBooks gave no code (quickbooks.errors).
FIXES: dict[str, tuple[str, str]] = {
    "closed_period": ("Books closed for the date", CLOSED_PERIOD_FIX),
    "6200": ("Books closed for the date", CLOSED_PERIOD_FIX),
    "6210": ("Books closed for the date", CLOSED_PERIOD_FIX),
    "tax_unmapped": (
        "Tax rate without a QuickBooks tax code",
        "A line's tax rate has no QuickBooks tax code. Map the rate on Integrations → Tax codes, then press Retry.",
    ),
    "tax_total_differs": (
        "Total differs from QuickBooks' tax rounding",
        "The total was computed before its tax rate was mapped. Revise the document and approve it again: its "
        "totals are then computed the way QuickBooks computes them.",
    ),
    "currency_refused": (
        "Currency QuickBooks cannot book",
        "Turn on multicurrency in QuickBooks and reconnect to read it, or revise the document into the home "
        "currency (or the vendor's currency); or link the supplier to a vendor of the document's currency.",
    ),
    "mapping": (
        "No QuickBooks counterpart",
        "Something on the document (an option, account or class) has no QuickBooks id. Import the lists again on "
        "Integrations, or choose another value in a revision; then press Retry.",
    ),
    "po_billed": (
        "Purchase order already billed",
        "QuickBooks holds bills against this purchase order, so its revision is not sent. Change the order in "
        "QuickBooks by hand if it must match; nothing to retry.",
    ),
    "internal": (
        "procuresync could not send it",
        "A fault of ours, not of the document. Press Retry; if it fails again, report the message.",
    ),
    "6140": (
        "Duplicate document number (6140)",
        "QuickBooks already has a bill with this number for the vendor. Correct the supplier's number in a "
        "revision, or change the other bill in QuickBooks; then press Retry.",
    ),
    "6240": (
        "Duplicate name (6240)",
        "A QuickBooks vendor, customer or employee already has the supplier's name. Link the supplier to that "
        "vendor on Integrations → Suppliers ↔ vendors (or rename one of them); then press Retry.",
    ),
    "610": ("Not found or inactive in QuickBooks (610)", NOT_FOUND_FIX),
    "not_found": ("Not found or inactive in QuickBooks", NOT_FOUND_FIX),
    "6000": ("Business validation error (6000)", VALIDATION_FIX),
    "6070": (
        "Amount is not quantity × price (6070)",
        "A line's amount does not equal its quantity times its unit price in QuickBooks' rounding. Correct the "
        "line in a revision, then press Retry.",
    ),
    "2500": ("Invalid reference (2500)", NOT_FOUND_FIX),
    "2050": (
        "Text too long for QuickBooks (2050)",
        "A text field is longer than QuickBooks accepts (a number is at most 21 characters). Shorten it in a "
        "revision, then press Retry.",
    ),
    "validation": ("Refused by QuickBooks", VALIDATION_FIX),
    "duplicate": ("Duplicate in QuickBooks", VALIDATION_FIX),
    "10000": ("QuickBooks kept failing (10000)", TRANSIENT_FIX),
    "transient": ("QuickBooks kept failing", TRANSIENT_FIX),
    "3001": ("Throttled by QuickBooks (3001)", THROTTLED_FIX),
    "throttled": ("Throttled by QuickBooks", THROTTLED_FIX),
    "auth": ("Sign-in refused", SIGN_IN_FIX),
    "invalid_grant": ("Sign-in refused", SIGN_IN_FIX),
    "5010": (
        "Edited in QuickBooks meanwhile (5010)",
        "Someone saved the bill in QuickBooks while procuresync updated it. Press Retry.",
    ),
    "stale": (
        "Edited in QuickBooks meanwhile",
        "Someone saved the bill in QuickBooks while procuresync updated it. Press Retry.",
    ),
}
UNKNOWN_FIX = "Read the message on the document, correct what it names, then press Retry."


@dataclass(frozen=True)
class Example:
    number: str
    url: str
    message: str


@dataclass
class FailureCause:
    code: str
    label: str
    fix: str
    count: int = 0
    # (kind label, count, documents list URL filtered by sync=failed) per kind of document.
    lists: list[tuple[str, int, str]] = field(default_factory=list)
    example: Example | None = None  # the latest failed document of this cause


def failure_causes(user: User) -> list[FailureCause]:
    """Failed documents grouped by their error code, most frequent first, each with the latest
    document as an example and what to do (two queries, whatever the number of failures)."""
    require(user, Permission.INTEGRATION_MANAGE)
    groups = (
        DocumentSync.objects.filter(company_id=user.tenant_id, status=SyncStatus.FAILED)
        .values("error_code", "document__kind")
        .annotate(n=Count("pk"), latest=Max("document_id"))
        .order_by()
    )
    causes: dict[str, FailureCause] = {}
    example_ids: dict[str, int] = {}
    for group in groups:
        code = group["error_code"] or ""
        label, fix = FIXES.get(code, (f"Refused ({code})" if code else "No reason recorded", UNKNOWN_FIX))
        cause = causes.setdefault(code, FailureCause(code=code, label=label, fix=fix))
        kind = DocumentKind(group["document__kind"])
        cause.count += group["n"]
        list_url = reverse(LIST_URL[kind]) + f"?sync={SyncStatus.FAILED}"
        cause.lists.append((kind.label, group["n"], list_url))
        example_ids[code] = max(example_ids.get(code, 0), group["latest"])
    examples = {
        row["document_id"]: row
        for row in DocumentSync.objects.filter(document_id__in=example_ids.values()).values(
            "document_id", "document__kind", "document__number", "error_message"
        )
    }
    for code, cause in causes.items():
        row = examples.get(example_ids[code])
        if row is not None:
            url = document_url(row["document__kind"], row["document_id"])
            cause.example = Example(number=row["document__number"], url=url, message=row["error_message"])
        cause.lists.sort()
    return sorted(causes.values(), key=lambda c: (-c.count, c.code))


# ------------------------------------------------------------------------- the sync log


@dataclass(frozen=True)
class LogFilter:
    """The sync log's filters, already checked: days in the server's time zone, both included."""

    date_from: dt.date | None = None
    date_to: dt.date | None = None
    outcome: str = ""  # "", or a key of OUTCOMES
    document: str = ""  # part of the document's number or its supplier's number (DocNumber)


LOG_FIELDS = (
    "pk",
    "started_at",
    "document_id",
    "document__kind",
    "document__number",
    "document__supplier_unique_code",
    "operation",
    "outcome",
    "http_status",
    "fault_code",
    "api_calls",
    "duration_ms",
    "qbo_id",
    "request_id",
    "message",
)


def _start_of(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def sync_log(user: User, log_filter: LogFilter) -> QuerySet[SyncAttempt, dict[str, Any]]:
    """Every attempt of the company that the filter lets through, newest first, as rows of values."""
    require(user, Permission.INTEGRATION_MANAGE)
    attempts = SyncAttempt.objects.filter(document__company_id=user.tenant_id)
    if log_filter.date_from:
        attempts = attempts.filter(started_at__gte=_start_of(log_filter.date_from))
    if log_filter.date_to:
        attempts = attempts.filter(started_at__lt=_start_of(log_filter.date_to + dt.timedelta(days=1)))
    if log_filter.outcome:
        attempts = attempts.filter(outcome=log_filter.outcome)
    if log_filter.document:
        attempts = attempts.filter(
            Q(document__number__icontains=log_filter.document)
            | Q(document__supplier_unique_code__icontains=log_filter.document)
        )
    return attempts.order_by("-started_at", "-id").values(*LOG_FIELDS)


def sync_log_latest(user: User, log_filter: LogFilter) -> tuple[list[dict[str, Any]], int]:
    """The latest ``LOG_PAGE`` attempts the filter lets through (with links), and how many it lets through."""
    rows = sync_log(user, log_filter)
    latest = list(rows[:LOG_PAGE])
    for row in latest:
        row["url"] = document_url(row["document__kind"], row["document_id"])
        row["outcome_label"] = OUTCOMES.get(row["outcome"], row["outcome"])
    total = len(latest) if len(latest) < LOG_PAGE else rows.count()
    return latest, total


def sync_log_rows(user: User, log_filter: LogFilter) -> Iterator[dict[str, Any]]:
    """Every attempt the filter lets through, read in chunks: a log may be long."""
    return sync_log(user, log_filter).iterator(chunk_size=2000)
