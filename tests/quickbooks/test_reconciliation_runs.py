"""Reconciliation runs and their surfaces: the Integrations → Reconciliation page (progress, rows by
kind, a fix per row, "Fix all", CSV), the REST endpoints, ``manage.py qbo_reconcile``, the nightly
run, and who may do any of it (Admins of the company only)."""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from procuresync.errors import NotFound, RoleRequired
from quickbooks import scheduler
from quickbooks.errors import NotConnected
from quickbooks.models import Connection, ConnectionStatus, ReconciliationRun, ReconciliationState
from quickbooks.reconciliation_runs import (
    execute,
    nightly_due,
    nightly_set,
    run_fix,
    run_fix_all,
    run_get,
    run_start,
)
from tests.api.conftest import assert_error
from tests.quickbooks.conftest import settle
from tests.quickbooks.test_payments_in import bill_id, exported_invoice, pay


def logged_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def drifted(qbo: Any, creator: Any, approver: Any, supplier: Any) -> tuple[Any, Any]:
    """Two invoices QuickBooks disagrees about: one bill deleted there, one paid there unseen."""
    deleted = exported_invoice(creator, approver, supplier, code="R-DEL")
    paid = exported_invoice(creator, approver, supplier, code="R-PAY")
    qbo.control("DELETE", f"/bills/{bill_id(deleted)}")
    pay(qbo, (paid, "10.00"))
    return deleted, paid


def finished_run(admin: Any) -> ReconciliationRun:
    run = run_start(actor=admin)
    settle()
    run.refresh_from_db()
    assert run.state == ReconciliationState.DONE, run.error
    return run


# ------------------------------------------------------------------------------------ the page


def test_given_differences_when_an_admin_reconciles_on_the_page_then_rows_by_kind_and_fixes_put_them_right(
    qbo, admin, creator, approver, supplier
):
    deleted, paid = drifted(qbo, creator, approver, supplier)
    client = logged_in(admin)
    assert "Reconcile now" in client.get(reverse("reconciliation")).content.decode()

    response = client.post(reverse("reconciliation-start"))
    assert response.status_code == 302
    settle()
    run = ReconciliationRun.objects.get()
    page = client.get(response.headers["location"]).content.decode()

    assert run.state == ReconciliationState.DONE and run.differences == 2
    assert "Deleted in QuickBooks (1)" in page and "Payment active in QuickBooks, not here (1)" in page
    assert deleted.number in page and paid.number in page and "Send ours again</button>" in page
    assert "Import payments</button>" in page and "Fix all (2)" in page
    assert "per 1,000 documents" in page
    only = client.get(reverse("reconciliation") + f"?run={run.pk}&kind=deleted").content.decode()
    assert deleted.number in only and f">{paid.number}<" not in only

    index = next(i for i, row in enumerate(run.rows) if row["kind"] == "deleted")
    fixed = client.post(reverse("reconciliation-fix", args=[run.pk, index]), {"kind": "deleted"})
    assert fixed.status_code == 302 and "kind=deleted" in fixed.headers["location"]
    client.post(reverse("reconciliation-fix-all", args=[run.pk]))
    settle()
    after = client.get(reverse("reconciliation") + f"?run={run.pk}").content.decode()
    assert "Queued to send again" in after and "Payments imported" in after

    client.post(reverse("reconciliation-start"))
    settle()
    again = client.get(reverse("reconciliation")).content.decode()
    assert "0 differences" in again and "QuickBooks holds exactly what procuresync says it should." in again


def test_given_a_run_in_progress_then_the_fragment_polls_and_the_finished_one_stops(qbo, admin):
    run = ReconciliationRun.objects.create(company_id=admin.tenant_id, realm_id=qbo.realm_id, requested_by=admin)
    client = logged_in(admin)

    waiting = client.get(reverse("reconciliation-progress", args=[run.pk])).content.decode()
    execute(run.pk)
    done = client.get(reverse("reconciliation-progress", args=[run.pk])).content.decode()

    assert 'hx-trigger="every 1s"' in waiting and "Queued" in waiting and "You can leave this page" in waiting
    assert "every 1s" not in done and "0 differences" in done


def test_given_a_filter_when_downloading_csv_then_only_those_rows(qbo, admin, creator, approver, supplier):
    deleted, paid = drifted(qbo, creator, approver, supplier)
    run = finished_run(admin)
    client = logged_in(admin)

    everything = list(
        csv.reader(io.StringIO(client.get(reverse("reconciliation-csv", args=[run.pk])).content.decode()))
    )
    response = client.get(reverse("reconciliation-csv", args=[run.pk]) + "?kind=payment_not_here")
    filtered = list(csv.reader(io.StringIO(response.content.decode())))

    assert response["Content-Type"].startswith("text/csv")
    assert "reconciliation-" in response["Content-Disposition"]
    assert everything[0][:3] == ["document", "document_id", "difference"]
    assert sorted(r[0] for r in everything[1:]) == sorted([deleted.number, paid.number])
    assert [(r[0], r[2], r[4]) for r in filtered[1:]] == [
        (paid.number, "Payment active in QuickBooks, not here", "Import payments")
    ]


def test_given_the_integrations_page_then_the_latest_summary_and_the_nightly_switch(qbo, admin):
    client = logged_in(admin)
    assert "No reconciliation has run yet." in client.get(reverse("integrations")).content.decode()
    finished_run(admin)
    client.post(reverse("reconciliation-nightly"), {"reconcile_nightly": "on"})

    page = client.get(reverse("integrations")).content.decode()

    assert "0 differences" in page and "Nightly reconciliation: <strong>on</strong>" in page
    assert Connection.objects.get(company_id=admin.tenant_id).reconcile_nightly


def test_given_a_row_to_fix_in_quickbooks_then_the_service_refuses_and_says_where(
    qbo, admin, creator, approver, supplier
):
    invoice = exported_invoice(creator, approver, supplier, code="R-DUP")
    ours = qbo.bill(bill_id(invoice))
    copy = {k: v for k, v in ours.items() if k not in ("Id", "SyncToken", "MetaData", "Balance", "TotalAmt")}
    qbo.api("POST", "bill", params={"include": "allowduplicatedocnum"}, json=copy)
    run = finished_run(admin)

    from procuresync.errors import ValidationFailed

    with pytest.raises(ValidationFailed, match="open it there"):
        run_fix(actor=admin, run=run, index=0)
    result = run_fix_all(actor=admin, run=run)
    assert (result.fixed, result.by_hand, result.errors) == (0, 1, [])
    page = logged_in(admin).get(reverse("reconciliation")).content.decode()
    assert "Open in QuickBooks</a>" in page and "Fix all" not in page


# ------------------------------------------------------------------------------------ who may


def test_given_no_admin_role_then_pages_services_and_api_refuse(qbo, admin, creator, approver, payer):
    run = finished_run(admin)
    for user in (creator, approver, payer):
        client = logged_in(user)
        assert client.get(reverse("reconciliation")).status_code == 403
        assert client.post(reverse("reconciliation-start")).status_code == 403
        assert client.get(reverse("reconciliation-csv", args=[run.pk])).status_code == 403
        assert client.post(reverse("reconciliation-fix-all", args=[run.pk])).status_code == 403
        with pytest.raises(RoleRequired):
            run_start(actor=user)
        with pytest.raises(RoleRequired):
            run_get(user=user, run_id=run.pk)
        with pytest.raises(RoleRequired):
            nightly_set(actor=user, on=True)
        with pytest.raises(RoleRequired):
            run_fix_all(actor=user, run=run)
    from tests.api.conftest import client_for

    assert_error(client_for(payer).post("/api/v1/quickbooks/reconciliations", {}, format="json"), 403)
    assert_error(client_for(creator).get(f"/api/v1/quickbooks/reconciliations/{run.pk}"), 403)
    assert ReconciliationRun.objects.count() == 1


def test_given_another_companys_run_then_not_found_everywhere(qbo, admin, outsider):
    run = finished_run(admin)
    client = logged_in(outsider)
    for url in (
        reverse("reconciliation") + f"?run={run.pk}",
        reverse("reconciliation-progress", args=[run.pk]),
        reverse("reconciliation-csv", args=[run.pk]),
    ):
        assert client.get(url).status_code == 404, url
    assert client.post(reverse("reconciliation-fix", args=[run.pk, 0])).status_code == 404
    assert client.post(reverse("reconciliation-fix-all", args=[run.pk])).status_code == 404
    with pytest.raises(NotFound):
        run_get(user=outsider, run_id=run.pk)
    from tests.api.conftest import client_for

    assert_error(client_for(outsider).get(f"/api/v1/quickbooks/reconciliations/{run.pk}"), 404, code="not_found")


def test_given_no_connection_then_starting_is_refused_with_a_message(admin):
    with pytest.raises(NotConnected, match="not connected"):
        run_start(actor=admin)
    response = logged_in(admin).post(reverse("reconciliation-start"), follow=True)
    assert "QuickBooks is not connected" in response.content.decode()
    assert not ReconciliationRun.objects.exists()


# ------------------------------------------------------------------------------------ API


def test_given_the_api_when_a_run_is_started_then_201_and_reading_it_gives_the_rows(
    qbo, admin, creator, approver, supplier
):
    from tests.api.conftest import client_for

    deleted, paid = drifted(qbo, creator, approver, supplier)
    api = client_for(admin)

    started = api.post("/api/v1/quickbooks/reconciliations", {}, format="json")
    settle()
    body = api.get(f"/api/v1/quickbooks/reconciliations/{started.json()['id']}").json()
    filtered = api.get(f"/api/v1/quickbooks/reconciliations/{started.json()['id']}?kind=deleted").json()

    assert started.status_code == 201 and started.json()["state"] == "queued"
    assert body["state"] == "done" and body["finished"] and body["differences"] == 2
    assert body["api_calls"] >= 1 and body["calls_per_thousand"] == body["api_calls"] * 500
    assert {(r["number"], r["kind"], r["fix"]) for r in body["rows"]} == {
        (deleted.number, "deleted", "send_again"),
        (paid.number, "payment_not_here", "import_payments"),
    }
    assert [r["number"] for r in filtered["rows"]] == [deleted.number]
    error = assert_error(api.get(f"/api/v1/quickbooks/reconciliations/{started.json()['id']}?kind=nope"), 400, "kind")
    assert "not a valid choice" in error["fields"]["kind"][0]


def test_given_a_run_under_way_when_started_again_then_the_same_run(qbo, admin):
    first = run_start(actor=admin)
    second = run_start(actor=admin)
    settle()
    assert first.pk == second.pk and ReconciliationRun.objects.count() == 1


# ------------------------------------------------------------------------------------ command


def test_given_differences_when_the_command_runs_then_it_prints_them_and_exits_1(
    qbo, admin, creator, approver, supplier
):
    deleted, paid = drifted(qbo, creator, approver, supplier)
    out = io.StringIO()

    with pytest.raises(SystemExit) as exited:
        call_command("qbo_reconcile", "--company", str(admin.tenant_id), stdout=out)

    text = out.getvalue()
    assert exited.value.code == 1
    assert f"{deleted.number}\tDeleted in QuickBooks" in text and f"{paid.number}\tPayment active" in text
    assert "2 documents checked, 2 differences" in text and "per 1,000 documents" in text


def test_given_no_difference_when_the_command_runs_then_it_exits_0(qbo, admin, creator, approver, supplier):
    exported_invoice(creator, approver, supplier, code="R-OK")
    out = io.StringIO()
    call_command("qbo_reconcile", "--company", str(admin.tenant_id), stdout=out)
    assert "1 documents checked, 0 differences" in out.getvalue()


def test_given_an_unknown_or_unconnected_company_then_the_command_says_so(admin):
    with pytest.raises(CommandError, match="No company"):
        call_command("qbo_reconcile", "--company", "99999")
    with pytest.raises(CommandError, match="not connected"):
        call_command("qbo_reconcile", "--company", str(admin.tenant_id))


# ------------------------------------------------------------------------------------ nightly


def test_given_nightly_on_when_the_scheduler_ticks_then_one_run_a_day(qbo, admin, creator, approver, supplier):
    exported_invoice(creator, approver, supplier, code="R-NIGHT")
    night = timezone.make_aware(dt.datetime.combine(timezone.localdate(), dt.time(1, 0)))
    assert nightly_due(night + dt.timedelta(hours=2)) == 0  # off by default
    nightly_set(actor=admin, on=True)

    assert nightly_due(night) == 0  # before 02:00
    assert nightly_due(night + dt.timedelta(hours=2)) == 1
    assert nightly_due(night + dt.timedelta(hours=5)) == 0  # once a day
    settle()
    assert nightly_due(night + dt.timedelta(days=1, hours=2)) == 1
    settle()

    runs = list(ReconciliationRun.objects.all())
    assert len(runs) == 2 and all(r.requested_by is None and r.state == ReconciliationState.DONE for r in runs)


def test_given_nightly_on_then_a_scheduler_tick_queues_it_and_a_disconnected_company_is_skipped(
    qbo, admin, monkeypatch
):
    from quickbooks import reconciliation_runs

    monkeypatch.setattr(reconciliation_runs, "NIGHTLY_HOUR", 0)  # due whatever the hour the test runs
    nightly_set(actor=admin, on=True)
    Connection.objects.filter(pk=qbo.connection.pk).update(status=ConnectionStatus.NEEDS_RECONNECT)
    scheduler.tick()
    assert not ReconciliationRun.objects.exists()
    Connection.objects.filter(pk=qbo.connection.pk).update(status=ConnectionStatus.CONNECTED)
    scheduler.tick()
    settle()
    assert ReconciliationRun.objects.get().state == ReconciliationState.DONE


def test_given_a_run_whose_worker_died_when_started_again_then_it_is_failed_and_a_new_one_runs(qbo, admin):
    stuck = ReconciliationRun.objects.create(
        company_id=admin.tenant_id,
        realm_id=qbo.realm_id,
        requested_by=admin,
        state=ReconciliationState.RUNNING,
        started_at=timezone.now() - dt.timedelta(hours=2),
    )

    fresh = run_start(actor=admin)
    settle()

    stuck.refresh_from_db()
    fresh.refresh_from_db()
    assert fresh.pk != stuck.pk and fresh.state == ReconciliationState.DONE
    assert stuck.state == ReconciliationState.FAILED and "stopped without finishing" in stuck.error
