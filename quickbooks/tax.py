"""Purchase tax as QuickBooks computes it outside the US (qbo-api.md §11a).

- **US companies** (and a connection whose country is not known yet): tax is folded into the
  line amounts and the document says GlobalTaxCalculation NotApplicable, as before.
- **Every other edition** (UK, Canada, Australia, India…): QuickBooks computes the tax itself from
  a tax code on each line, line by line and rate by rate, and adds it to TotalAmt. So each line
  must carry a code: the line's own QuickBooks tax code, or the code an Admin mapped to the line's
  tax rate on Integrations. A line with neither stops the send, with a message naming the line and
  the rate to map. Our totals follow QuickBooks' rule for these companies (``tax_rule`` below, used
  by ``procurement.services.document_recalculate``), so TotalAmt equals our total to the cent; a
  document whose total was computed otherwise is refused before sending, never found out after.

Everything but the database reads is pure.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from procurement import hooks
from procurement.models import Document, DocumentLine, ListKind, ListOption
from procurement.money import to_cents
from quickbooks.models import Connection, ConnectionStatus, TaxCodeRates, TaxRateMapping

HUNDRED = Decimal("100")
SETTINGS_HINT = "An Admin maps tax rates to QuickBooks tax codes on Integrations → Tax codes."


@dataclass(frozen=True)
class TaxRate:
    ref: str
    name: str
    percent: Decimal


@dataclass(frozen=True)
class TaxCode:
    option_id: int
    ref: str
    name: str
    rates: tuple[TaxRate, ...]
    for_purchases: bool = True

    @property
    def percent(self) -> Decimal:
        return sum((rate.percent for rate in self.rates), Decimal("0"))

    def tax_on(self, amount: Decimal) -> list[tuple[TaxRate, Decimal]]:
        """Each rate's tax on a line of ``amount``, rounded to the cent on its own (QuickBooks'
        rule: "QuickBooks Online will always calculate line-by-line", §11a)."""
        return [(rate, to_cents(amount * rate.percent / HUNDRED)) for rate in self.rates]


@dataclass(frozen=True)
class CompanyTaxCodes:
    """A company's imported QuickBooks tax codes and its rate → code mappings."""

    by_option: dict[int, TaxCode]
    by_rate: dict[Decimal, TaxCode]

    def code_for(self, line: DocumentLine) -> TaxCode | None:
        if line.tax_code_id is not None:
            return self.by_option.get(line.tax_code_id)
        return self.by_rate.get(rate_key(line.tax_rate))

    def problem(self, line: DocumentLine, number: int) -> str:
        """Why this line cannot go to QuickBooks with a tax code ("" when it can)."""
        rate = percent_text(line.tax_rate)
        if line.tax_code_id is not None and line.tax_code_id not in self.by_option:
            name = line.tax_code.name if line.tax_code else "?"
            return (
                f"Line {number}: the tax code “{name}” is not one of QuickBooks' tax codes. Import the lists on "
                "Integrations and choose one of QuickBooks' codes, or clear it to use the code mapped to its rate."
            )
        code = self.code_for(line)
        if code is None:
            return f"Line {number} has tax rate {rate} %, which is not mapped to a QuickBooks tax code. {SETTINGS_HINT}"
        if not code.for_purchases:
            return (
                f"Line {number}: the QuickBooks tax code “{code.name}” has no purchase rate, so QuickBooks will not "
                "take it on a bill or purchase order. Choose a purchase tax code."
            )
        if code.percent != line.tax_rate:
            return (
                f"Line {number} has tax rate {rate} %, but its QuickBooks tax code “{code.name}” charges "
                f"{percent_text(code.percent)} % on purchases. Change the line's rate or tax code so they agree."
            )
        return ""


def rate_key(rate: Decimal) -> Decimal:
    return Decimal(rate).quantize(Decimal("0.0001"))


def percent_text(rate: Decimal) -> str:
    return f"{Decimal(rate).normalize():f}"


def company_tax_codes(company_id: int) -> CompanyTaxCodes:
    rows = TaxCodeRates.objects.filter(option__company_id=company_id, option__kind=ListKind.TAX_CODE)
    by_option: dict[int, TaxCode] = {}
    for row in rows.select_related("option"):
        option = row.option
        if not option.external_id:
            continue
        rates = tuple(
            TaxRate(ref=str(r.get("id", "")), name=str(r.get("name", "")), percent=Decimal(str(r.get("percent", "0"))))
            for r in row.purchase_rates
        )
        by_option[option.pk] = TaxCode(option.pk, option.external_id, option.name, rates, row.for_purchases)
    by_rate = {
        rate_key(rate): by_option[option_id]
        for rate, option_id in TaxRateMapping.objects.filter(company_id=company_id).values_list("rate", "tax_code_id")
        if option_id in by_option
    }
    return CompanyTaxCodes(by_option=by_option, by_rate=by_rate)


def taxing_connection(company_id: int) -> Connection | None:
    """The company's connection when QuickBooks computes tax on its documents, else None."""
    connection = Connection.objects.filter(company_id=company_id).exclude(status=ConnectionStatus.NOT_CONNECTED).first()
    return connection if connection is not None and connection.computes_tax else None


@hooks.tax_rule
def tax_rule(document: Document, lines: Sequence[DocumentLine]) -> list[tuple[Decimal, ...]]:
    """For ``document_recalculate``: the rates QuickBooks will round one by one on each line, so our
    totals are QuickBooks' totals. Lines without a usable code keep their own rate (they cannot be
    sent until mapped, and the document says so)."""
    if not lines or taxing_connection(document.company_id) is None:
        return []
    codes = company_tax_codes(document.company_id)
    out: list[tuple[Decimal, ...]] = []
    for number, line in enumerate(lines, start=1):
        code = codes.code_for(line)
        usable = code is not None and not codes.problem(line, number)
        out.append(tuple(rate.percent for rate in code.rates) if usable and code is not None else ())
    return out


# ---------------------------------------------------------------- importing QuickBooks' tax codes


def import_tax_codes(company_id: int, tax_codes: list[dict[str, Any]], tax_rates: list[dict[str, Any]]) -> None:
    """Store each imported code's purchase rates (``lists_import`` made its ListOption already)."""
    rates = {str(r.get("Id")): r for r in tax_rates}
    options = {o.external_id: o for o in ListOption.objects.filter(company_id=company_id, kind=ListKind.TAX_CODE)}
    for code in tax_codes:
        option = options.get(str(code.get("Id")))
        if option is None:
            continue
        purchase = _rate_details(code.get("PurchaseTaxRateList"))
        sales = _rate_details(code.get("SalesTaxRateList"))
        purchase_rates = []
        for detail in purchase:
            ref = str((detail.get("TaxRateRef") or {}).get("value", ""))
            rate = rates.get(ref, {})
            purchase_rates.append(
                {
                    "id": ref,
                    "name": str(rate.get("Name") or (detail.get("TaxRateRef") or {}).get("name") or ref),
                    "percent": str(Decimal(str(rate.get("RateValue", 0)))),
                }
            )
        TaxCodeRates.objects.update_or_create(
            option=option,
            defaults={
                "purchase_rates": purchase_rates,
                # A code with no rates at all (UK "No VAT") is fine on a purchase; one with sales
                # rates only is not (UNCONFIRMED how QuickBooks refuses it; we refuse before sending).
                "for_purchases": bool(purchase) or not sales,
            },
        )
        summary = " + ".join(f"{r['percent']} %" for r in purchase_rates) or "no tax"
        if option.detail != f"purchases {summary}"[:100]:
            option.detail = f"purchases {summary}"[:100]
            option.save(update_fields=["detail"])


def _rate_details(rate_list: Any) -> list[dict[str, Any]]:
    details = (rate_list or {}).get("TaxRateDetail") or [] if isinstance(rate_list, dict) else []
    return sorted((d for d in details if isinstance(d, dict)), key=lambda d: int(d.get("TaxOrder") or 0))
