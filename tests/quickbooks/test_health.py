"""Integrations → Health: an Admin sees what reached QuickBooks hour by hour, what failed and why with
the fix, what waits, how payments come in, and downloads the sync log as CSV with the filters of the
page. Documents go through the real worker to the live emulator; faults are injected there."""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

import pytest
from django.db.models import Sum
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from accounts.roles import Role
from procurement import workflow
from procurement.models import Document, Supplier
from procurement.services import document_create, document_transition
from quickbooks import health
from quickbooks.inbound import catchup
from quickbooks.models import Connection, SyncAttempt, SyncStatus
from quickbooks.views_health import CSV_COLUMNS, DOCUMENT_SERIES, bar_chart, charts, nice_ceiling
from tests.conftest import invoice_data, make_user
from tests.quickbooks.conftest import Qbo, settle, sync_of
from tests.quickbooks.test_payments_in import exported_invoice
from tests.quickbooks.test_payments_webhooks import legacy, post
from tests.test_security_headers import inline_code

HEALTH = "/integrations/health/"
CSV_URL = "/integrations/health/sync-log.csv"
QUERIES = 14  # the page's reads, however many attempts and failures there are


def approved(creator: User, approver: User, supplier: Supplier, code: str, **data: Any) -> Document:
    invoice = document_create(actor=creator, kind="invoice", data=invoice_data(supplier, code=code, **data))
    document_transition(actor=creator, document=invoice, action=workflow.DocumentAction.SUBMIT)
    return document_transition(actor=approver, document=invoice, action=workflow.DocumentAction.APPROVE)


def failing_on_a_fault(qbo: Qbo, creator: User, approver: User, supplier: Supplier, code: str) -> Document:
    """An invoice QuickBooks answers 503 to, retry after retry, until it is Failed."""
    qbo.fault(kind="status", status=503, count=40, match="/bill")
    invoice = approved(creator, approver, supplier, code)
    settle()
    qbo.emulator.control("DELETE", "/faults")
    assert sync_of(invoice).status == SyncStatus.FAILED
    return invoice


def logged_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def csv_rows(response: Any) -> list[list[str]]:
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


def week(hours: list[health.Hour], name: str) -> int:
    return sum(getattr(hour, name) for hour in hours)


# ------------------------------------------------------------------------------ what the page shows


def test_given_one_invoice_sent_one_failing_on_a_fault_and_one_in_closed_books_when_the_admin_opens_health_then_the_week_counts_them_and_failures_are_grouped_with_their_fix(  # noqa: E501
    qbo: Qbo, admin: User, creator: User, approver: User, supplier: Supplier, django_assert_max_num_queries: Any
) -> None:
    sent = exported_invoice(creator, approver, supplier, code="OK-1")
    broken = failing_on_a_fault(qbo, creator, approver, supplier, "BAD-1")
    qbo.close_books(dt.date(2026, 10, 31))
    late = approved(creator, approver, supplier, "LATE-1", issue_date=dt.date(2026, 10, 20))
    settle()
    assert sync_of(late).status == SyncStatus.FAILED

    hours = health.hourly_activity(admin)
    causes = health.failure_causes(admin)
    client = logged_in(admin)
    with django_assert_max_num_queries(QUERIES):  # grouped by hour and by cause, the log limited
        response = client.get(HEALTH)

    # The week: one create that QuickBooks took, nine 503s retried, two failures.
    assert len(hours) == 168
    assert (week(hours, "sent"), week(hours, "retried"), week(hours, "failed")) == (1, 9, 2)
    calls = SyncAttempt.objects.aggregate(n=Sum("api_calls"))["n"]
    assert week(hours, "calls") == calls and calls >= 1 + 10 * 3  # every 503 attempt: 1 call + 2 quick retries
    assert week(hours, "throttled") == 0
    # Failures by cause, each with its example and its fix.
    assert [(c.code, c.count) for c in causes] == [("10000", 1), ("closed_period", 1)]
    fault, closed = causes
    assert fault.example is not None and fault.example.number == broken.number
    assert fault.example.url == f"/invoices/{broken.pk}/"
    assert "Retry all failed" in fault.fix
    assert closed.example is not None and closed.example.number == late.number
    assert "reopen the period" in closed.fix and "date" in closed.fix
    assert closed.lists == [("Invoice", 1, "/invoices/?sync=failed")]
    # The page: the chart's legend with the totals, the causes, the oldest nothing, no inline code.
    html = response.content.decode()
    assert response.status_code == 200
    assert 'role="img"' in html and 'class="bar-failed"' in html and 'class="bar-sent"' in html
    assert "Failed <strong>2</strong>" in html and "Sent <strong>1</strong>" in html
    assert 'data-code="closed_period"' in html and 'data-code="10000"' in html
    assert 'href="/invoices/?sync=failed"' in html
    assert "0</strong> documents waiting" in html
    assert sent.number in html and broken.number in html  # in the sync log
    assert inline_code(html) == []


def test_given_quickbooks_throttles_once_then_the_calls_chart_counts_one_throttled_answer(
    qbo: Qbo, admin: User, creator: User, approver: User, supplier: Supplier
) -> None:
    qbo.fault(kind="throttle", count=1, match="/bill")
    invoice = approved(creator, approver, supplier, "SLOW-1")
    settle()
    assert sync_of(invoice).status == SyncStatus.SENT

    hours = health.hourly_activity(admin)
    _, calls_chart = charts(hours)

    assert (week(hours, "sent"), week(hours, "retried"), week(hours, "throttled")) == (1, 1, 1)
    assert [(series.key, total) for series, total in calls_chart.legend] == [
        ("answered", week(hours, "calls") - 1),
        ("throttled", 1),
    ]
    html = logged_in(admin).get(HEALTH).content.decode()
    assert "Throttled (HTTP 429) <strong>1</strong>" in html
    assert 'class="bar-throttled"' in html


def test_given_an_invoice_waiting_for_quickbooks_then_the_backlog_names_the_oldest_with_a_link(
    qbo: Qbo, admin: User, creator: User, approver: User, supplier: Supplier
) -> None:
    Connection.objects.filter(pk=qbo.connection.pk).update(status="needs_reconnect")
    invoice = approved(creator, approver, supplier, "WAIT-1")

    backlog = health.backlog(admin)
    html = logged_in(admin).get(HEALTH).content.decode()

    assert backlog.waiting == 1 and backlog.oldest is not None
    assert backlog.oldest.number == invoice.number and backlog.oldest.url == f"/invoices/{invoice.pk}/"
    assert f'Oldest: <a href="/invoices/{invoice.pk}/">{invoice.number}</a>' in html
    assert "Needs reconnect" in html


def test_given_a_webhook_and_a_catch_up_then_payments_in_shows_when_and_the_cursor(
    qbo: Qbo, admin: User, creator: User, approver: User, supplier: Supplier
) -> None:
    before = timezone.now()
    post(legacy(qbo.realm_id, "999"), token=str(qbo.emulator.verifier_token))
    settle()
    qbo.connection.refresh_from_db()
    catchup.catch_up(qbo.connection)

    found = health.payments_in(admin, qbo.connection)
    html = logged_in(admin).get(HEALTH).content.decode()

    assert found.last_webhook is not None and found.last_webhook.entity_id == "999"
    assert found.cursor is not None and found.cursor.last_finished_at is not None
    assert found.cursor.changed_since is not None and found.cursor.last_error == ""
    assert found.last_webhook.received_at >= before
    assert "BillPayment 999 Create" in html
    assert "Last catch-up finished" in html


# ------------------------------------------------------------------------------ the sync log


def test_given_attempts_on_two_days_when_the_admin_filters_the_sync_log_then_page_and_csv_hold_the_same_rows(
    qbo: Qbo, admin: User, creator: User, approver: User, supplier: Supplier, other_company: Any
) -> None:
    sent = exported_invoice(creator, approver, supplier, code="OK-2")
    broken = failing_on_a_fault(qbo, creator, approver, supplier, "BAD-2")
    ten_days_ago = timezone.now() - dt.timedelta(days=10)
    SyncAttempt.objects.filter(document=sent).update(started_at=ten_days_ago)
    client = logged_in(admin)
    today = timezone.localdate().isoformat()
    that_day = timezone.localdate(ten_days_ago).isoformat()

    everything = csv_rows(client.get(CSV_URL))
    failed = csv_rows(client.get(CSV_URL, {"outcome": "failed"}))
    by_number = csv_rows(client.get(CSV_URL, {"document": "ok-2"}))  # the supplier's number, any case
    by_day = csv_rows(client.get(CSV_URL, {"date_from": that_day, "date_to": that_day}))
    since_today = csv_rows(client.get(CSV_URL, {"date_from": today}))
    page = client.get(HEALTH, {"outcome": "failed"}).content.decode()
    stranger = csv_rows(logged_in(make_user(other_company, "their-admin", Role.ADMIN)).get(CSV_URL))

    assert everything[0] == CSV_COLUMNS
    column = {name: index for index, name in enumerate(CSV_COLUMNS)}
    assert len(everything) - 1 == SyncAttempt.objects.count() == 11
    assert [(r[column["document"]], r[column["outcome"]], r[column["fault_code"]]) for r in failed[1:]] == [
        (broken.number, "failed", "10000")
    ]
    # The bill POSTed three times (two quick retries), after looking for a bill the last 503 may have made.
    assert failed[1][column["http_status"]] == "503" and int(failed[1][column["api_calls"]]) >= 3
    assert [r[column["document"]] for r in by_number[1:]] == [sent.number]
    assert [r[column["document"]] for r in by_day[1:]] == [sent.number]
    assert {r[column["document"]] for r in since_today[1:]} == {broken.number}
    assert page.count('class="log-row"') == 1 and f'href="/invoices/{broken.pk}/"' in page
    assert f"{CSV_URL}?outcome=failed" in page  # the download carries the page's filters
    assert stranger == [CSV_COLUMNS]  # another company's Admin sees none of it
    # A week back only: the attempt moved to ten days ago is out of the chart.
    assert week(health.hourly_activity(admin), "sent") == 0


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"date_from": "yesterday"}, "From: Enter the first day as a date, e.g. 2026-11-01."),
        ({"date_to": "2026-13-45"}, "To: Enter the last day as a date, e.g. 2026-11-30."),
        ({"date_from": "2026-11-05", "date_to": "2026-11-01"}, "To: The last day is before the first day."),
        ({"date_to": "9999-12-31"}, "To: Enter a date between 1900-01-01 and 2099-12-31."),
        ({"outcome": "maybe"}, "Outcome: Choose Sent, Retry or Failed."),
        ({"document": "x" * 101}, "Document: Type at most 100 characters of a document number."),
        ({"document": "INV\x00"}, "Document: Null characters are not allowed."),
    ],
)
def test_given_a_bad_filter_then_the_page_says_which_and_why_and_the_csv_is_not_downloaded(
    admin: User, query: dict[str, str], message: str
) -> None:
    client = logged_in(admin)

    page = client.get(HEALTH, query)
    download = client.get(CSV_URL, query)

    html = page.content.decode()
    assert page.status_code == 200
    assert f"{message} This filter is not applied." in html
    assert "Download CSV" not in html
    assert download.status_code == 302 and download["Location"].startswith(reverse("integrations-health") + "?")
    after = client.get(download["Location"]).content.decode()
    assert "The sync log was not downloaded: correct the filters first." in after


# ------------------------------------------------------------------------------ who may see it


@pytest.mark.parametrize("url", [HEALTH, CSV_URL])
def test_given_someone_without_the_admin_role_then_health_and_its_csv_are_refused(
    creator: User, approver: User, url: str
) -> None:
    assert logged_in(creator).get(url).status_code == 403
    assert logged_in(approver).get(url).status_code == 403
    assert Client().get(url).status_code == 302  # to the login page


def test_given_an_admin_of_a_company_never_connected_then_health_opens_and_says_so(
    admin: User, django_assert_max_num_queries: Any
) -> None:
    client = logged_in(admin)
    with django_assert_max_num_queries(QUERIES):
        response = client.get(HEALTH)

    html = response.content.decode()
    assert response.status_code == 200
    assert "QuickBooks is not connected: nothing is sent." in html
    assert "No document has failed to reach QuickBooks." in html
    assert "Nothing in the last 7 days." in html
    assert "No attempt matches these filters." in html


def test_given_integrations_connected_then_it_links_to_health(qbo: Qbo, admin: User) -> None:
    html = logged_in(admin).get(reverse("integrations")).content.decode()

    assert f'href="{HEALTH}"' in html


# ------------------------------------------------------------------------------ the chart


def test_given_a_week_of_hours_then_the_chart_draws_only_hours_with_attempts_on_a_round_scale() -> None:
    start = dt.datetime(2026, 11, 2, tzinfo=dt.UTC)
    hours = [health.Hour(start=start + dt.timedelta(hours=i)) for i in range(168)]
    hours[5] = health.Hour(start=hours[5].start, sent=30, failed=1)
    hours[100] = health.Hour(start=hours[100].start, retried=3)

    chart = bar_chart(
        ident="c",
        title="Documents",
        y_caption="attempts",
        hours=hours,
        series=DOCUMENT_SERIES,
        describe=lambda h: f"{h.sent} sent",
    )

    assert [total for _, total in chart.legend] == [30, 3, 1]
    assert len(chart.columns) == 2 and len(chart.rows) == 2
    assert [label for _, label in chart.y_ticks] == ["0", "25", "50"]
    failed = chart.columns[0].segments[-1]
    assert failed.css == "bar-failed" and float(failed.height) >= 1.5  # one failure stays visible
    assert [label for _, _, label in chart.days] == [
        f"{day} {n} Nov" for day, n in zip(["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"], range(2, 9), strict=True)
    ]


@pytest.mark.parametrize(("value", "top"), [(0, 1), (1, 1), (2, 2), (3, 5), (7, 10), (11, 20), (480, 500)])
def test_the_y_axis_tops_at_a_round_number(value: int, top: int) -> None:
    assert nice_ceiling(value) == top
