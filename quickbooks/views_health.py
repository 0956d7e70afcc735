"""Integrations → Health (Admin): the connection, the backlog, a week of sends and QuickBooks calls
per hour, payments coming in, failures by cause with what to do, and the sync log (CSV too).

The charts are SVG drawn here, on the server: no script and no style attribute (the CSP allows
neither inline), only presentation attributes and the classes of app.css. Each chart has a title and
a description for screen readers, and its numbers as a table. Every read goes through
``quickbooks.health``.
"""

from __future__ import annotations

import csv
import datetime as dt
import itertools
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, cast

from django import forms
from django.contrib import messages
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import dateformat, timezone

from accounts.roles import Permission
from procuresync.http import AuthenticatedHttpRequest
from procuresync.web import page
from quickbooks import health
from quickbooks.health import Hour, LogFilter
from quickbooks.models import ConnectionStatus

# ------------------------------------------------------------------------- the sync log's filters

EARLIEST_DAY = dt.date(1900, 1, 1)
LATEST_DAY = dt.date(2099, 12, 31)
SEARCH_MAX = 100


def _day_field(label: str, invalid: str) -> forms.DateField:
    return forms.DateField(
        label=label, required=False, widget=forms.DateInput(attrs={"type": "date"}), error_messages={"invalid": invalid}
    )


class LogFilterForm(forms.Form):
    date_from = _day_field("From", "Enter the first day as a date, e.g. 2026-11-01.")
    date_to = _day_field("To", "Enter the last day as a date, e.g. 2026-11-30.")
    outcome = forms.ChoiceField(
        label="Outcome",
        required=False,
        choices=[("", "Any outcome"), *health.OUTCOMES.items()],
        error_messages={"invalid_choice": "Choose Sent, Retry or Failed."},
    )
    document = forms.CharField(
        label="Document",
        required=False,
        max_length=SEARCH_MAX,
        error_messages={"max_length": f"Type at most {SEARCH_MAX} characters of a document number."},
    )

    def _day(self, name: str) -> dt.date | None:
        day: dt.date | None = self.cleaned_data[name]
        if day is not None and not EARLIEST_DAY <= day <= LATEST_DAY:
            raise forms.ValidationError(f"Enter a date between {EARLIEST_DAY} and {LATEST_DAY}.")
        return day

    def clean_date_from(self) -> dt.date | None:
        return self._day("date_from")

    def clean_date_to(self) -> dt.date | None:
        return self._day("date_to")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        first, last = cleaned.get("date_from"), cleaned.get("date_to")
        if first and last and last < first:
            self.add_error("date_to", "The last day is before the first day.")
        return cleaned

    def log_filter(self) -> LogFilter:
        """The filters that are valid (one in error is not applied; ``problems`` says which)."""
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        return LogFilter(
            date_from=data.get("date_from"),
            date_to=data.get("date_to"),
            outcome=data.get("outcome") or "",
            document=(data.get("document") or "").strip(),
        )

    def problems(self) -> list[tuple[str, str]]:
        """(id, message) of each filter in error, named by its label."""
        return [
            (f"{self[name].auto_id}_error", f"{self.fields[name].label}: {' '.join(str(e) for e in errors)}")
            for name, errors in self.errors.items()
            if name in self.fields
        ]


# ------------------------------------------------------------------------- charts

WIDTH, HEIGHT = 900, 214
LEFT, RIGHT, TOP, BOTTOM = 50.0, 890.0, 10.0, 170.0  # the plot area
SLOT = (RIGHT - LEFT) / health.HOURS  # one hour's width
MIN_SEGMENT = 1.5  # a non-zero count stays visible next to a tall bar


@dataclass(frozen=True)
class Series:
    key: str
    label: str
    css: str
    value: Callable[[Hour], int]


@dataclass(frozen=True)
class Segment:
    x: str
    y: str
    width: str
    height: str
    css: str


@dataclass(frozen=True)
class Column:
    title: str
    segments: list[Segment]


@dataclass(frozen=True)
class Chart:
    ident: str
    title: str
    description: str
    y_caption: str
    x_caption: str
    columns: list[Column]
    y_ticks: list[tuple[str, str]]  # (y, label)
    days: list[tuple[str, str, str]]  # (x of the day's start, x of its middle, label)
    legend: list[tuple[Series, int]]  # each series with its total over the week
    rows: list[tuple[str, list[int]]]  # the table: each hour with anything in it, its values
    empty: bool
    width: int = WIDTH
    height: int = HEIGHT
    left: str = f"{LEFT:.1f}"
    right: str = f"{RIGHT:.1f}"
    top: str = f"{TOP:.1f}"
    bottom: str = f"{BOTTOM:.1f}"
    tick_x: str = f"{LEFT - 6:.1f}"  # y tick labels end here
    day_y: str = f"{BOTTOM + 16:.1f}"  # day labels under the plot
    x_caption_at: tuple[str, str] = (f"{(LEFT + RIGHT) / 2:.1f}", f"{HEIGHT - 8}")
    y_caption_at: tuple[str, str] = ("14", f"{(TOP + BOTTOM) / 2:.1f}")


def nice_ceiling(value: int) -> int:
    """The smallest 1, 2 or 5 × 10ⁿ at or above ``value`` (at least 1): the top of the y axis."""
    if value <= 1:
        return 1
    magnitude = 10 ** math.floor(math.log10(value))
    return next(step * magnitude for step in (1, 2, 5, 10) if step * magnitude >= value)


def _hour_label(start: dt.datetime) -> str:
    return dateformat.format(timezone.localtime(start), "D j M H:i")


def bar_chart(
    *,
    ident: str,
    title: str,
    y_caption: str,
    hours: list[Hour],
    series: list[Series],
    describe: Callable[[Hour], str],
) -> Chart:
    """Stacked bars, one per hour, the series stacked from the bottom in the order given."""
    top = nice_ceiling(max((sum(s.value(hour) for s in series) for hour in hours), default=0))
    scale = (BOTTOM - TOP) / top
    columns: list[Column] = []
    rows: list[tuple[str, list[int]]] = []
    for index, hour in enumerate(hours):
        values = [s.value(hour) for s in series]
        if not any(values):
            continue
        rows.append((_hour_label(hour.start), values))
        base = BOTTOM
        segments = []
        for s, value in zip(series, values, strict=True):
            if not value:
                continue
            height = min(max(value * scale, MIN_SEGMENT), base - TOP)
            base -= height
            x = LEFT + index * SLOT + 0.5
            segments.append(Segment(f"{x:.2f}", f"{base:.2f}", f"{SLOT - 1:.2f}", f"{height:.2f}", s.css))
        columns.append(Column(f"{_hour_label(hour.start)}: {describe(hour)}", segments))
    ticks = [0, top // 2, top] if top % 2 == 0 else [0, top]
    y_ticks = [(f"{BOTTOM - tick * scale:.1f}", f"{tick:,}") for tick in ticks]
    legend = [(s, sum(s.value(hour) for hour in hours)) for s in series]
    days = _days(hours)
    first, last = hours[0].start, hours[-1].start + dt.timedelta(hours=1)
    description = (
        f"{title}, from {_hour_label(first)} to {_hour_label(last)}: "
        + ", ".join(f"{total:,} {s.label.lower()}" for s, total in legend)
        + "."
    )
    return Chart(
        ident=ident,
        title=title,
        description=description,
        y_caption=y_caption,
        x_caption=f"Hour of the day, last 7 days ({timezone.get_current_timezone_name()})",
        columns=columns,
        y_ticks=y_ticks,
        days=days,
        legend=legend,
        rows=rows,
        empty=not rows,
    )


def _days(hours: list[Hour]) -> list[tuple[str, str, str]]:
    """Each local day the week touches: where it starts, and its label centred on its part of the
    chart (a day with less than 10 hours shown has no label: it would not fit)."""
    spans: list[tuple[dt.date, int, int]] = []
    for index, hour in enumerate(hours):
        day = timezone.localtime(hour.start).date()
        if spans and spans[-1][0] == day:
            spans[-1] = (day, spans[-1][1], index + 1)
        else:
            spans.append((day, index, index + 1))
    days = []
    for day, start, end in spans:
        middle = LEFT + (start + end) / 2 * SLOT
        label = dateformat.format(day, "D j M") if end - start >= 10 else ""
        days.append((f"{LEFT + start * SLOT:.2f}", f"{middle:.2f}", label))
    return days


DOCUMENT_SERIES = [
    Series("sent", "Sent", "bar-sent", lambda h: h.sent),
    Series("retried", "Retried", "bar-retry", lambda h: h.retried),
    Series("failed", "Failed", "bar-failed", lambda h: h.failed),
]
CALL_SERIES = [
    Series("answered", "Calls answered", "bar-calls", lambda h: max(h.calls - h.throttled, 0)),
    Series("throttled", "Throttled (HTTP 429)", "bar-throttled", lambda h: h.throttled),
]


def charts(hours: list[Hour]) -> tuple[Chart, Chart]:
    documents = bar_chart(
        ident="chart-documents",
        title="Documents sent and failed per hour",
        y_caption="attempts",
        hours=hours,
        series=DOCUMENT_SERIES,
        describe=lambda h: f"{h.sent} sent, {h.retried} retried, {h.failed} failed",
    )
    calls = bar_chart(
        ident="chart-calls",
        title="QuickBooks calls per hour",
        y_caption="calls",
        hours=hours,
        series=CALL_SERIES,
        describe=lambda h: f"{h.calls} calls, {h.throttled} throttled",
    )
    return documents, calls


# ------------------------------------------------------------------------- the page


@page(Permission.INTEGRATION_MANAGE)
def health_page(request: AuthenticatedHttpRequest) -> HttpResponse:
    user = request.user
    form = LogFilterForm(request.GET or None)
    log_filter = form.log_filter()
    connection = health.connection_of(user)
    hours = health.hourly_activity(user)
    documents_chart, calls_chart = charts(hours)
    log_rows, log_total = health.sync_log_latest(user, log_filter)
    now = timezone.now()
    context = {
        "connection": connection,
        "live": connection is not None and connection.status != ConnectionStatus.NOT_CONNECTED,
        "access_expired": bool(connection and connection.access_expires_at and connection.access_expires_at <= now),
        "backlog": health.backlog(user),
        "documents_chart": documents_chart,
        "calls_chart": calls_chart,
        "payments_in": health.payments_in(user, connection),
        "causes": health.failure_causes(user),
        "form": form,
        "problems": form.problems() if form.is_bound else [],
        "log_rows": log_rows,
        "log_total": log_total,
        "log_page": health.LOG_PAGE,
    }
    return render(request, "quickbooks/health.html", context)


CSV_COLUMNS = [
    "started_at",
    "document",
    "document_id",
    "kind",
    "supplier_number",
    "operation",
    "outcome",
    "http_status",
    "fault_code",
    "api_calls",
    "duration_ms",
    "quickbooks_id",
    "request_id",
    "message",
]


class _Echo:
    """A file for ``csv.writer`` that hands each line back instead of keeping it."""

    def write(self, line: str) -> str:
        return line


def _cell(value: object) -> object:
    """No cell a spreadsheet would take for a formula: numbers are typed by people, messages come
    from QuickBooks."""
    return f"'{value}" if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def _csv_rows(rows: Iterator[dict[str, Any]]) -> Iterator[list[object]]:
    for row in rows:
        values: list[object] = [
            row["started_at"].astimezone(dt.UTC).isoformat(),
            row["document__number"],
            row["document_id"],
            row["document__kind"],
            row["document__supplier_unique_code"],
            row["operation"],
            row["outcome"],
            row["http_status"] if row["http_status"] is not None else "",
            row["fault_code"],
            row["api_calls"],
            row["duration_ms"],
            row["qbo_id"],
            row["request_id"],
            row["message"],
        ]
        yield [_cell(value) for value in values]


@page(Permission.INTEGRATION_MANAGE)
def health_log_csv(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The sync log as CSV with the page's filters, streamed: a company's log may be long."""
    form = LogFilterForm(request.GET or None)
    log_filter = form.log_filter()
    if form.is_bound and not form.is_valid():
        # A download must hold what was asked for, not more: back to the page that names the problem.
        messages.error(request, "The sync log was not downloaded: correct the filters first.")
        return redirect(f"{reverse('integrations-health')}?{request.GET.urlencode()}#sync-log")
    attempts = _csv_rows(health.sync_log_rows(request.user, log_filter))
    rows: Iterator[list[object]] = itertools.chain([list(CSV_COLUMNS)], attempts)
    writer = csv.writer(_Echo())
    response = StreamingHttpResponse((writer.writerow(row) for row in rows), content_type="text/csv; charset=utf-8")
    filename = f"quickbooks-sync-log-{timezone.localdate().isoformat()}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    # ``page`` types its views as answering HttpResponse; a streamed answer passes through it the same way.
    return cast(HttpResponse, response)
