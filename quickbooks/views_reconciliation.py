"""Integrations → Reconciliation (Admin): start a run, watch it, read the differences by kind, fix one
or all of them, download them as CSV, and switch the nightly run on or off.

Every read goes through ``quickbooks.reconciliation_runs`` from the user, every write through its
services; the progress fragment is polled by htmx like the Payments page's import.
"""

from __future__ import annotations

import csv
from typing import Any

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from accounts.roles import Permission
from procurement.models import DocumentKind
from procuresync.errors import DomainError
from procuresync.http import AuthenticatedHttpRequest
from procuresync.web import flash_refusal, page
from quickbooks import reconciliation_runs as runs
from quickbooks import selectors
from quickbooks.models import ConnectionStatus, ReconciliationRun
from quickbooks.reconciliation import DifferenceKind


def _kind(request: AuthenticatedHttpRequest) -> str:
    kind = request.GET.get("kind") or request.POST.get("kind") or ""
    return kind if kind in DifferenceKind.values else ""


def _back(run: ReconciliationRun | None, kind: str) -> HttpResponse:
    url = reverse("reconciliation")
    query = [f"run={run.pk}"] if run is not None else []
    if kind:
        query.append(f"kind={kind}")
    return redirect(url + ("?" + "&".join(query) if query else ""))


def run_context(request: AuthenticatedHttpRequest, run: ReconciliationRun | None, kind: str) -> dict[str, Any]:
    groups: list[dict[str, Any]] = []
    if run is not None and run.finished:
        rows = runs.rows_of(run, kind)
        kinds = selectors.document_kinds(row["document_id"] for row in rows)
        for row in rows:
            document_kind = DocumentKind(kinds.get(row["document_id"], DocumentKind.INVOICE))
            row["document_url"] = reverse(selectors.DETAIL_URL[document_kind], args=[row["document_id"]])
        for value, label in DifferenceKind.choices:
            of_kind = [row for row in rows if row["kind"] == value]
            if of_kind:
                groups.append({"kind": value, "label": label, "rows": of_kind})
    fixable = sum(
        1 for group in groups for row in group["rows"] if not row["fixed"] and row["fix"] in runs.APPLICABLE_FIXES
    )
    return {
        "run": run,
        "kind": kind,
        "kind_label": DifferenceKind(kind).label if kind else "",
        "counts": runs.counts_by_kind(run) if run is not None and run.finished else [],
        "groups": groups,
        "fixable": fixable,
    }


@page(Permission.INTEGRATION_MANAGE)
def reconciliation(request: AuthenticatedHttpRequest) -> HttpResponse:
    user = request.user
    run_id = request.GET.get("run")
    run = runs.run_get(user=user, run_id=run_id) if run_id else runs.run_latest(user)
    connection = selectors.connection_for(user)
    context = run_context(request, run, _kind(request))
    context.update(
        connection=connection,
        live=connection is not None and connection.status == ConnectionStatus.CONNECTED,
    )
    return render(request, "quickbooks/reconciliation.html", context)


@require_POST
@page(Permission.INTEGRATION_MANAGE)
def reconciliation_start(request: AuthenticatedHttpRequest) -> HttpResponse:
    try:
        run = runs.run_start(actor=request.user)
    except DomainError as exc:
        flash_refusal(request, exc)
        return redirect("reconciliation")
    messages.info(request, "Reconciliation started: procuresync is comparing your documents with QuickBooks.")
    return _back(run, "")


@page(Permission.INTEGRATION_MANAGE)
def reconciliation_progress(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    run = runs.run_get(user=request.user, run_id=pk)
    return render(request, "quickbooks/_reconciliation_run.html", run_context(request, run, _kind(request)))


@require_POST
@page(Permission.INTEGRATION_MANAGE)
def reconciliation_fix(request: AuthenticatedHttpRequest, pk: int, index: int) -> HttpResponse:
    run = runs.run_get(user=request.user, run_id=pk)
    try:
        done = runs.run_fix(actor=request.user, run=run, index=index)
    except DomainError as exc:
        flash_refusal(request, exc)
    else:
        messages.success(request, f"{done} Run the reconciliation again to check the result.")
    return _back(run, _kind(request))


@require_POST
@page(Permission.INTEGRATION_MANAGE)
def reconciliation_fix_all(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    run = runs.run_get(user=request.user, run_id=pk)
    kind = _kind(request)
    result = runs.run_fix_all(actor=request.user, run=run, kind=kind)
    if result.fixed:
        messages.success(
            request, f"{result.fixed} difference(s) fixed. Run the reconciliation again to check the result."
        )
    if result.by_hand:
        messages.info(request, f"{result.by_hand} difference(s) must be put right in QuickBooks: open them there.")
    for error in result.errors:
        messages.error(request, error)
    if not (result.fixed or result.by_hand or result.errors):
        messages.info(request, "Nothing left to fix.")
    return _back(run, kind)


CSV_COLUMNS = ["document", "document_id", "difference", "message", "fix", "quickbooks_id", "quickbooks_link", "fixed"]


@page(Permission.INTEGRATION_MANAGE)
def reconciliation_csv(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    run = runs.run_get(user=request.user, run_id=pk)
    kind = _kind(request)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    suffix = f"-{kind}" if kind else ""
    response["Content-Disposition"] = f'attachment; filename="reconciliation-{run.pk}{suffix}.csv"'
    writer = csv.writer(response)
    writer.writerow(CSV_COLUMNS)
    for row in runs.rows_of(run, kind):
        values = [row[name] for name in ("number", "document_id", "kind_label", "message", "fix_label")]
        values += [row["qbo_id"], row["qbo_url"], row["fixed"]]
        writer.writerow([_cell(value) for value in values])
    return response


def _cell(value: object) -> object:
    """No cell a spreadsheet would take for a formula (text from QuickBooks ends up in messages)."""
    return f"'{value}" if isinstance(value, str) and value[:1] in ("=", "+", "-", "@") else value


@require_POST
@page(Permission.INTEGRATION_MANAGE)
def reconciliation_nightly(request: AuthenticatedHttpRequest) -> HttpResponse:
    on = request.POST.get("reconcile_nightly") in ("on", "true", "1")
    runs.nightly_set(actor=request.user, on=on)
    messages.success(request, "Nightly reconciliation is on." if on else "Nightly reconciliation is off.")
    return redirect("integrations" if request.POST.get("next") == "integrations" else "reconciliation")
