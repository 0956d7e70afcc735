"""The audit trail's page (Admin): who did what, when and from where in the Admin's own company,
newest first, filtered, and downloaded as CSV with the same filters.

Entries are only read here: ``accounts.audit.record`` writes them and the model refuses any change,
so the page offers no edit or delete.
"""

from __future__ import annotations

import csv
import datetime as dt
import itertools
import json
from collections.abc import Iterator
from typing import Any, cast

from django import forms
from django.contrib import messages
from django.db.models import QuerySet
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.text import capfirst

from accounts.audit import Action
from accounts.models import AuditEntry, User
from accounts.roles import Permission, require
from procuresync.http import AuthenticatedHttpRequest
from procuresync.web import is_partial, page, paginate

# Days a filter may name: the date arithmetic of a day's end stays far from the calendar's limits.
EARLIEST_DAY = dt.date(1900, 1, 1)
LATEST_DAY = dt.date(2099, 12, 31)
OUTSIDE = f"Enter a date between {EARLIEST_DAY.isoformat()} and {LATEST_DAY.isoformat()}."
CSV_COLUMNS = ["when", "who", "action", "target", "details", "address", "browser"]


def _day_field(label: str, invalid: str) -> forms.DateField:
    return forms.DateField(
        label=label, required=False, widget=forms.DateInput(attrs={"type": "date"}), error_messages={"invalid": invalid}
    )


class AuditFilterForm(forms.Form):
    action = forms.ChoiceField(
        required=False, choices=[("", "All actions"), *((action.value, capfirst(action.value)) for action in Action)]
    )
    person = forms.CharField(label="Person", required=False, max_length=150)
    date_from = _day_field("From", "Enter the first day as a date, e.g. 2026-11-01.")
    date_to = _day_field("To", "Enter the last day as a date, e.g. 2026-11-30.")
    target = forms.CharField(label="Target contains", required=False, max_length=200)

    def clean_date_from(self) -> dt.date | None:
        return self._within_limits(self.cleaned_data["date_from"])

    def clean_date_to(self) -> dt.date | None:
        return self._within_limits(self.cleaned_data["date_to"])

    @staticmethod
    def _within_limits(day: dt.date | None) -> dt.date | None:
        if day is not None and not EARLIEST_DAY <= day <= LATEST_DAY:
            raise forms.ValidationError(OUTSIDE)
        return day

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        first, last = cleaned.get("date_from"), cleaned.get("date_to")
        if first and last and last < first:
            self.add_error("date_to", "The last day is before the first day.")
        return cleaned

    def problems(self) -> list[tuple[str, str]]:
        """(id, message) of each filter in error, named by its label; such a filter is not applied.
        The id is the one the field's aria-describedby points at."""
        return [
            (f"{self[name].auto_id}_error", f"{self.fields[name].label}: {' '.join(str(error) for error in errors)}")
            for name, errors in self.errors.items()
            if name in self.fields
        ]


def _start_of(day: dt.date) -> dt.datetime:
    """Midnight of ``day`` where the company reads its times (TIME_ZONE)."""
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def company_entries(actor: User, form: AuditFilterForm) -> QuerySet[AuditEntry]:
    """The actor's company's entries, newest first, that the form's valid filters let through."""
    require(actor, Permission.USERS_MANAGE)
    form.is_valid()
    filters = getattr(form, "cleaned_data", {})
    entries = AuditEntry.objects.filter(company_id=actor.tenant_id)
    if filters.get("action"):
        entries = entries.filter(action=filters["action"])
    if filters.get("person"):
        entries = entries.filter(actor_name__icontains=filters["person"])
    if filters.get("date_from"):
        entries = entries.filter(at__gte=_start_of(filters["date_from"]))
    if filters.get("date_to"):
        entries = entries.filter(at__lt=_start_of(filters["date_to"] + dt.timedelta(days=1)))
    if filters.get("target"):
        entries = entries.filter(target__icontains=filters["target"])
    return entries.order_by("-at", "-id")


def readable(value: object) -> str:
    """Details as a line an Admin reads: a change as "old → new", names with their values."""
    if isinstance(value, dict):
        if value.keys() == {"old", "new"}:
            return f"{readable(value['old'])} → {readable(value['new'])}"
        if value.keys() == {"changes"}:
            return readable(value["changes"])
        return "; ".join(f"{key}: {readable(item)}" for key, item in value.items())
    if isinstance(value, list):
        return ", ".join(readable(item) for item in value) or "none"
    if isinstance(value, bool):
        return "on" if value else "off"
    return "none" if value is None else str(value)


@page(Permission.USERS_MANAGE)
def audit_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    form = AuditFilterForm(request.GET or None)
    page_obj = paginate(request, company_entries(request.user, form))
    rows = [{"entry": entry, "details": readable(entry.details)} for entry in page_obj]
    context = {"form": form, "page_obj": page_obj, "rows": rows, "problems": form.problems() if form.is_bound else []}
    template = "accounts/_audit_table.html" if is_partial(request) else "accounts/audit_list.html"
    return render(request, template, context)


class _Echo:
    """A file for ``csv.writer`` that hands each line back instead of keeping it."""

    def write(self, line: str) -> str:
        return line


def _cell(value: str) -> str:
    # Usernames of failed logins and browsers' names are typed by strangers: no cell a spreadsheet
    # would run as a formula.
    return f"'{value}" if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def _csv_rows(entries: QuerySet[AuditEntry]) -> Iterator[list[str]]:
    for entry in entries.iterator(chunk_size=1000):
        yield [
            entry.at.astimezone(dt.UTC).isoformat(),
            _cell(entry.actor_name),
            entry.action,
            _cell(entry.target),
            json.dumps(entry.details, ensure_ascii=False, sort_keys=True),
            entry.ip_address or "",
            _cell(entry.user_agent),
        ]


@page(Permission.USERS_MANAGE)
def audit_csv(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The filtered entries as CSV, streamed: a company's trail may be long."""
    form = AuditFilterForm(request.GET or None)
    if form.is_bound and not form.is_valid():
        # A download must hold what was asked for, not more: back to the page that names the problem.
        messages.error(request, "The audit trail was not downloaded: correct the filters first.")
        return redirect(f"{reverse('audit-list')}?{request.GET.urlencode()}")
    rows = itertools.chain([CSV_COLUMNS], _csv_rows(company_entries(request.user, form)))
    writer = csv.writer(_Echo())
    lines = (writer.writerow(row) for row in rows)
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="audit-trail-{timezone.localdate().isoformat()}.csv"'
    # ``page`` types its views as answering HttpResponse; a streamed answer passes through it the same way.
    return cast(HttpResponse, response)
