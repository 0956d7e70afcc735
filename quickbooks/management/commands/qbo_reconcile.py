"""Reconcile one company with QuickBooks from the command line: prints every difference and the counts;
exits with 1 when there are differences (so a cron job or a monitoring check can tell)."""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from accounts.models import Company
from procuresync.errors import DomainError
from quickbooks.models import ReconciliationState
from quickbooks.reconciliation_runs import rows_of, run_now


class Command(BaseCommand):
    help = "Compare what QuickBooks should hold for a company with what it holds; exit 1 when they differ."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--company", type=int, required=True, help="The procuresync company's id.")

    def handle(self, *args: Any, company: int, **options: Any) -> None:
        if not Company.objects.filter(pk=company).exists():
            raise CommandError(f"No company with id {company}.")
        try:
            run = run_now(company_id=company)
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        if run.state == ReconciliationState.FAILED:
            raise CommandError(run.error)
        for row in rows_of(run):
            qbo = f" [QuickBooks {row['qbo_id']}]" if row["qbo_id"] else ""
            self.stdout.write(f"{row['number']}\t{row['kind_label']}\t{row['message']}{qbo}\t→ {row['fix_label']}")
        per_thousand = run.calls_per_thousand
        rate = f" ({per_thousand} per 1,000 documents)" if per_thousand is not None else ""
        self.stdout.write(
            f"Reconciliation {run.pk}: {run.documents_checked} documents checked, {run.differences} differences, "
            f"{run.api_calls} QuickBooks requests{rate}."
        )
        if run.differences:
            sys.exit(1)
