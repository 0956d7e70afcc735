"""Integrations → Tax codes: an Admin maps each tax rate our documents use to a QuickBooks tax code.

Only for companies whose QuickBooks computes purchase tax (every edition but the US one,
``quickbooks.tax``). A rate is offered only the codes that charge that very rate on purchases, best
guess first (by rate, then by name: a 0 % rate prefers a zero-rated code over an exempt one), and
nothing is mapped until an Admin saves it. Saving recomputes the documents still being edited, so
their totals follow QuickBooks' rule from then on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.db.models import Count

from accounts.audit import Action, record
from accounts.models import User
from accounts.roles import Permission, require
from procurement.models import Document, DocumentLine, Status
from procurement.services import document_recalculate
from procurement.workflow import FINAL_STATUSES
from procuresync.errors import ValidationFailed
from quickbooks.connection import connection_of
from quickbooks.models import TaxRateMapping
from quickbooks.tax import TaxCode, company_tax_codes, percent_text, rate_key


@dataclass(frozen=True)
class TaxRateRow:
    rate: Decimal
    lines: int  # lines of documents not cancelled or rejected that use it
    mapped: TaxCode | None
    choices: tuple[TaxCode, ...]  # the codes charging this rate on purchases, best guess first

    @property
    def label(self) -> str:
        return percent_text(self.rate)

    @property
    def selected(self) -> TaxCode | None:
        """The mapped code, else the suggestion (shown chosen; saved only when the Admin saves)."""
        return self.mapped or (self.choices[0] if self.choices else None)


def _rank(code: TaxCode, rate: Decimal) -> tuple[int, str]:
    name = code.name.lower()
    if rate == 0:
        if "zero" in name or re.search(r"\bz\b", name):
            score = 0
        elif "exempt" in name:
            score = 1
        elif not code.rates:
            score = 3  # "No VAT": outside the scope of tax, the last guess for a 0 % rate
        else:
            score = 2
    else:
        score = 0 if percent_text(rate) in name else 1
    return score, name


def tax_rate_rows(user: User) -> list[TaxRateRow]:
    require(user, Permission.INTEGRATION_MANAGE)
    connection = connection_of(user.tenant_id)
    codes = company_tax_codes(user.tenant_id)
    used = (
        DocumentLine.objects.filter(document__company_id=user.tenant_id, document__kind__in=connection.sent_kinds)
        .exclude(document__status__in=FINAL_STATUSES)
        .values("tax_rate")
        .annotate(lines=Count("id"))
    )
    counts = {rate_key(row["tax_rate"]): row["lines"] for row in used}
    # Every rate QuickBooks charges on purchases can be mapped before a document uses it.
    for rate in [*codes.by_rate, *(rate_key(c.percent) for c in codes.by_option.values() if c.for_purchases)]:
        counts.setdefault(rate, 0)
    rows = []
    for rate in sorted(counts):
        choices = [c for c in codes.by_option.values() if c.for_purchases and c.percent == rate]
        choices.sort(key=lambda c: _rank(c, rate))
        rows.append(TaxRateRow(rate=rate, lines=counts[rate], mapped=codes.by_rate.get(rate), choices=tuple(choices)))
    return rows


def tax_mappings_save(*, actor: User, choices: list[tuple[str, str]]) -> int:
    """Save the Admin's choice for each rate: (rate, ListOption id of the code, or "" to unmap).
    Returns how many mappings changed."""
    require(actor, Permission.INTEGRATION_MANAGE)
    codes = company_tax_codes(actor.tenant_id)
    errors: dict[str, list[str]] = {}
    wanted: dict[Decimal, TaxCode | None] = {}
    for raw_rate, raw_code in choices:
        try:
            rate = rate_key(Decimal(raw_rate))
        except (InvalidOperation, ValueError):
            errors.setdefault("rate", []).append(f"“{raw_rate[:20]}” is not a tax rate.")
            continue
        if not raw_code:
            wanted[rate] = None
            continue
        code = codes.by_option.get(int(raw_code)) if raw_code.isdigit() else None
        if code is None or not code.for_purchases:
            errors.setdefault("rate", []).append(
                f"{percent_text(rate)} %: choose one of QuickBooks' purchase tax codes (import the lists first)."
            )
        elif code.percent != rate:
            errors.setdefault("rate", []).append(
                f"{percent_text(rate)} %: the code “{code.name}” charges {percent_text(code.percent)} % on "
                "purchases; QuickBooks would compute a different total. Choose a code with the same rate."
            )
        else:
            wanted[rate] = code
    if errors:
        raise ValidationFailed("The tax codes were not saved.", fields=errors)
    changes: dict[str, dict[str, str]] = {}
    with transaction.atomic():
        for rate, code in wanted.items():
            before = codes.by_rate.get(rate)
            if (before.option_id if before else None) == (code.option_id if code else None):
                continue
            changes[f"{percent_text(rate)} %"] = {
                "old": before.name if before else "",
                "new": code.name if code else "",
            }
            if code is None:
                TaxRateMapping.objects.filter(company_id=actor.tenant_id, rate=rate).delete()
            else:
                TaxRateMapping.objects.update_or_create(
                    company_id=actor.tenant_id, rate=rate, defaults={"tax_code_id": code.option_id, "mapped_by": actor}
                )
        if changes:
            record(Action.TAX_CODES_MAPPED, actor=actor, target="QuickBooks tax codes", details={"changes": changes})
            _recalculate_editable(actor.tenant_id, set(wanted))
    return len(changes)


def _recalculate_editable(company_id: int, rates: set[Decimal]) -> None:
    """Documents still being edited take the new rule now; approved ones keep the totals they
    were approved with (a difference is shown on them and refused before sending)."""
    editable = Document.objects.filter(
        company_id=company_id, status__in=[Status.DRAFT, Status.IN_REVISION], lines__tax_rate__in=rates
    ).distinct()
    for document in editable:
        document_recalculate(document)
