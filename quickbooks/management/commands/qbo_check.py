"""Check the QuickBooks setup from the command line, as Integrations → Setup guide does: one line per
check ("OK   keys present: …", "FAIL token endpoint: … → what to do"); exits with 1 when one failed
(so a deploy script or a monitoring check can tell)."""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from accounts.models import Company
from quickbooks.setup_check import any_failed, checks_run
from quickbooks.setup_facts import public_base_url


class Command(BaseCommand):
    help = "Check the QuickBooks setup (keys, Intuit's endpoints, clock, webhook URL, connection); exit 1 on a failure."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--company", type=int, help="The procuresync company whose connection to check.")
        parser.add_argument(
            "--base-url",
            default="",
            help="How Intuit reaches this server, e.g. https://procure.example.com (default: QBO_REDIRECT_URI's).",
        )

    def handle(self, *args: Any, company: int | None, base_url: str, **options: Any) -> None:
        if company is not None and not Company.objects.filter(pk=company).exists():
            raise CommandError(f"No company with id {company}.")
        base = base_url.rstrip("/") or public_base_url()
        checks = checks_run(base_url=base, company_id=company, source="--base-url")
        for check in checks:
            self.stdout.write(check.line)
        if any_failed(checks):
            sys.exit(1)
