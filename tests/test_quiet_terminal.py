"""A quiet terminal: the embedded mode's console says what a person needs — one summary line per
delivery and each failed send with its reason — not one line per HTTP request to QuickBooks,
unless ``QBO_LOG_REQUESTS`` is on.

The loggers are configured as procuresync/settings.py configures them with the variable set or
not (the settings file is run again in a namespace of its own), so the tests hold whatever the
environment running them says. Deliveries run in this process, so ``caplog`` hears them.
"""

from __future__ import annotations

import datetime as dt
import logging
import logging.config
import runpy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from accounts.models import User
from procurement import workflow
from procurement.models import Document, Supplier
from procurement.services import document_create, document_transition
from quickbooks.export import delivery
from quickbooks.models import OutboxItem, SyncStatus
from tests.conftest import invoice_data
from tests.quickbooks import conftest as quickbooks_fixtures
from tests.quickbooks.conftest import Qbo, settle, sync_of

# The QuickBooks tests' fixtures (live emulator, worker threads, connected company).
emulator = quickbooks_fixtures.emulator
qbo_settings = quickbooks_fixtures.qbo_settings
worker = quickbooks_fixtures.worker
qbo = quickbooks_fixtures.qbo

pytestmark = [pytest.mark.in_process_worker, pytest.mark.django_db(transaction=True)]

SETTINGS_FILE = Path(settings.BASE_DIR) / "procuresync" / "settings.py"
HTTP_LOGGERS = ("httpx", "httpcore")


def configure_logging(monkeypatch: pytest.MonkeyPatch, log_requests: str | None) -> dict[str, Any]:
    """The loggers as the settings make them with QBO_LOG_REQUESTS=``log_requests`` (None: unset).
    Incremental: levels only, so caplog's handler on the root logger stays where it is."""
    if log_requests is None:
        monkeypatch.delenv("QBO_LOG_REQUESTS", raising=False)
    else:
        monkeypatch.setenv("QBO_LOG_REQUESTS", log_requests)
    made = runpy.run_path(str(SETTINGS_FILE))
    logging.config.dictConfig({"version": 1, "incremental": True, "loggers": made["LOGGING"]["loggers"]})
    return made


@pytest.fixture(autouse=True)
def _loggers_put_back() -> Iterator[None]:
    yield
    logging.config.dictConfig({"version": 1, "incremental": True, "loggers": settings.LOGGING["loggers"]})


def approved_backlog(creator: User, approver: User, supplier: Supplier, count: int) -> list[Document]:
    invoices = []
    for number in range(count):
        invoice = document_create(actor=creator, kind="invoice", data=invoice_data(supplier, code=f"QUIET-{number}"))
        document_transition(actor=creator, document=invoice, action=workflow.DocumentAction.SUBMIT)
        invoices.append(document_transition(actor=approver, document=invoice, action=workflow.DocumentAction.APPROVE))
    return invoices


def export_in_one_delivery(
    worker: Any, creator: User, approver: User, supplier: Supplier, count: int
) -> list[Document]:
    """``count`` invoices approved while the worker waits, then delivered here: one claim, one batch."""
    worker.pause()
    try:
        invoices = approved_backlog(creator, approver, supplier, count)
        delivery.deliver(str(OutboxItem.objects.get(document=invoices[0]).pk))
    finally:
        worker.resume()
    settle()
    return invoices


def request_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name in HTTP_LOGGERS or "HTTP Request" in r.getMessage()]


def test_given_the_default_settings_when_a_backlog_is_exported_then_one_summary_line_and_no_request_lines(
    qbo: Qbo,
    worker: Any,
    creator: User,
    approver: User,
    supplier: Supplier,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    made = configure_logging(monkeypatch, None)
    assert made["QBO_LOG_REQUESTS"] is False
    caplog.set_level(logging.INFO)

    invoices = export_in_one_delivery(worker, creator, approver, supplier, 5)

    assert {sync_of(i).status for i in invoices} == {SyncStatus.SENT}
    assert request_lines(caplog) == []
    summaries = [r.getMessage() for r in caplog.records if r.name == "quickbooks.export.delivery"]
    assert summaries == [f"QuickBooks: sent 5 documents in one batch (5 created) for {supplier.company.name}"]
    assert all(r.levelno == logging.INFO for r in caplog.records if r.name == "quickbooks.export.delivery")


def test_given_qbo_log_requests_on_when_a_backlog_is_exported_then_each_request_is_logged_too(
    qbo: Qbo,
    worker: Any,
    creator: User,
    approver: User,
    supplier: Supplier,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    made = configure_logging(monkeypatch, "1")
    assert made["QBO_LOG_REQUESTS"] is True
    caplog.set_level(logging.INFO)

    export_in_one_delivery(worker, creator, approver, supplier, 3)

    lines = request_lines(caplog)
    assert any(line.startswith("HTTP Request: POST ") and "/batch" in line for line in lines), lines
    assert any(r.getMessage().startswith("QuickBooks: sent 3 documents in one batch") for r in caplog.records)


def test_given_closed_books_when_an_invoice_is_refused_then_the_console_says_which_and_why(
    qbo: Qbo,
    worker: Any,
    creator: User,
    approver: User,
    supplier: Supplier,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    configure_logging(monkeypatch, None)
    caplog.set_level(logging.INFO)
    qbo.close_books(dt.date(2026, 12, 31))

    (invoice,) = export_in_one_delivery(worker, creator, approver, supplier, 1)

    sync = sync_of(invoice)
    assert sync.status == SyncStatus.FAILED
    failures = [r for r in caplog.records if r.levelno == logging.WARNING and r.name == "quickbooks.export.delivery"]
    assert [r.getMessage() for r in failures] == [f"QuickBooks: {invoice.number} was not sent: {sync.error_message}"]
    assert request_lines(caplog) == []
