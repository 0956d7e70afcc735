"""Long work shows how far it got: a list import step by step, a bulk send by its documents'
outcomes, a payments import as "X of Y" — and the result when done, kept for the next visit."""

from __future__ import annotations

import datetime as dt

from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from procurement.models import Supplier
from quickbooks import list_imports, progress
from quickbooks.export.services import documents_retry_failed
from quickbooks.inbound.payments_import import import_start
from quickbooks.models import PaymentImportRun, RunState, SendRun, SyncStatus
from tests.conftest import invoice_data
from tests.quickbooks.conftest import Qbo, settle, sync_of
from tests.quickbooks.test_currencies_and_order_links import approved


def test_given_an_admin_imports_the_lists_then_the_run_counts_its_steps_and_ends_with_the_counts(
    qbo: Qbo, admin: User
) -> None:
    run = list_imports.list_import_start(actor=admin)
    again = list_imports.list_import_start(actor=admin)  # a second press while it runs is the same run
    settle()

    run.refresh_from_db()
    assert again.pk == run.pk
    assert (run.state, run.steps_total, run.step) == (RunState.DONE, 8, "Done")
    assert run.counts["Account"] == 10 and "vendors matched" in run.counts
    client = Client()
    client.force_login(admin)
    panel = client.get(reverse("integrations-lists-progress", args=[run.pk])).content.decode()
    assert "Lists imported" in panel and "10 accounts" in panel and "hx-get" not in panel


def test_given_a_list_import_that_fails_then_the_run_says_why(qbo: Qbo, admin: User) -> None:
    qbo.fault(kind="status", status=503, count=50, match="/query")
    run = list_imports.list_import_start(actor=admin)
    settle()

    run.refresh_from_db()
    assert run.state == RunState.FAILED
    assert run.error.startswith("The lists were not imported:")


def test_given_failed_documents_when_retried_all_then_the_send_shows_each_outcome(
    qbo: Qbo, creator: User, approver: User, admin: User, supplier: Supplier
) -> None:
    qbo.close_books(dt.date(2026, 12, 31))
    invoices = [approved(creator, approver, "invoice", invoice_data(supplier, code=f"R-{i}")) for i in range(3)]
    assert {sync_of(i).status for i in invoices} == {SyncStatus.FAILED}
    qbo.close_books(None)

    assert documents_retry_failed(actor=admin) == 3
    run = SendRun.objects.get(company_id=admin.tenant_id)
    settle()

    done = progress.send_progress(run)
    assert (done.total, done.done, done.sent, done.failed, done.finished) == (3, 3, 3, 0, True)
    client = Client()
    client.force_login(admin)
    page = client.get(reverse("integrations")).content.decode()
    assert "Retry all failed" in page and "3 of 3 done" in page and "3 sent" in page


def test_given_bill_payments_in_a_range_when_imported_then_the_run_knows_how_many_there_are(
    qbo: Qbo, payer: User
) -> None:
    qbo.control("POST", "/bulk", json={"bills": 30, "pay_ratio": 1.0, "days": 5})
    today = timezone.localdate()
    run = import_start(actor=payer, date_from=today - dt.timedelta(days=10), date_to=today)
    settle()

    run = PaymentImportRun.objects.get(pk=run.pk)
    assert (run.total, run.bill_payments) == (30, 30)

