"""Purchase tax as QBO computes it outside the US (qbo-api.md §11a), on Bill, PurchaseOrder and
VendorCredit lines. US companies are untouched: their lines default to the NON pseudo code and
`TxnTaxDetail` / `GlobalTaxCalculation` are echoed as sent.

- Every line needs a `TaxCodeRef` to an active TaxCode; its *purchase* rates apply.
- Tax is computed line by line, rate by rate, each rounded half up to the cent ("QuickBooks
  Online will always calculate line-by-line", §11a; UNCONFIRMED from a primary Intuit page).
- `TxnTaxDetail` and `TotalAmt` are always the emulator's own: "any value you supply is
  over-written" (§11a). QBO may honour an overridden `TotalTax` (UNCONFIRMED); we recompute.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from . import faults
from .ledger_core import CENT, LedgerCore, dec, num
from .models import Obj
from .tax_tables import company_country

TAX_MODES = ("TaxExcluded", "TaxInclusive", "NotApplicable")
HUNDRED = Decimal(100)


def half_up(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


class TaxRules(LedgerCore):
    """Tax codes on purchase lines and the TxnTaxDetail QBO computes from them."""

    def country(self) -> str:
        return company_country(self.company)

    def tax_mode(self, obj: Obj) -> str | None:
        """The GlobalTaxCalculation in force, or None for a US company (tax not computed)."""
        if self.country() == "US":
            return None
        mode = obj.get("GlobalTaxCalculation") or "TaxExcluded"
        # Omitted → TaxExcluded: Intuit calls the field required outside the US but documents no
        # default (UNCONFIRMED); TaxExcluded is what the published captures show.
        if mode not in TAX_MODES:
            raise faults.invalid_enumeration("GlobalTaxCalculation", mode)
        if mode == "NotApplicable":
            # "not applicable to US companies; required for non-US companies" (§11a). Whether QBO
            # refuses NotApplicable or treats it as TaxExcluded is UNCONFIRMED: refusing is the
            # reading that shows a client sending US-style documents to a non-US company.
            raise faults.business_validation(
                "GlobalTaxCalculation NotApplicable is for US companies only; use TaxExcluded or "
                "TaxInclusive.", "GlobalTaxCalculation")
        obj["GlobalTaxCalculation"] = mode
        return str(mode)

    def sent_amount(self, line: Obj, detail: Obj, mode: str | None) -> Decimal:
        """The amount a line was sent with. TaxInclusive: the gross, which is `TaxInclusiveAmt` when
        the line carries one (a line read back from QBO holds its net in `Amount`, so a round trip
        must not take tax off twice; UNCONFIRMED), otherwise `Amount`."""
        if mode == "TaxInclusive" and detail.get("TaxInclusiveAmt") is not None:
            return dec(detail["TaxInclusiveAmt"], "TaxInclusiveAmt")
        return dec(line["Amount"], "Line.Amount")

    def _line_code(self, detail: Obj, element: str) -> Obj:
        ref = detail.get("TaxCodeRef")
        if not isinstance(ref, dict) or not ref.get("value"):
            raise faults.missing_tax_code(self.country(), element)
        code = self.company.get("TaxCode", ref["value"])
        if code is None:
            raise faults.invalid_reference("TaxCode", str(ref["value"]), element)
        if code.get("Active") is False:
            raise faults.object_not_found(element)
        return code

    def _purchase_rates(self, code: Obj, element: str) -> list[Obj]:
        purchase = (code.get("PurchaseTaxRateList") or {}).get("TaxRateDetail") or []
        sales = (code.get("SalesTaxRateList") or {}).get("TaxRateDetail") or []
        if not purchase and sales:
            # A code with sales rates only cannot tax a purchase. How QBO refuses it is
            # UNCONFIRMED; a business validation fault naming the code is the safe reading.
            raise faults.business_validation(
                f"The tax code {code['Name']} has sales rates only and cannot be used on a purchase.", element)
        ordered = sorted(purchase, key=lambda d: int(d.get("TaxOrder") or 0))
        rates = []
        for detail in ordered:
            rate = self.company.get("TaxRate", (detail.get("TaxRateRef") or {}).get("value"))
            if rate is not None:
                rates.append(rate)
        return rates

    def apply_tax(self, obj: Obj, mode: str) -> Decimal:
        """Validate each line's tax code, compute the tax, fill `TxnTaxDetail`; return TotalAmt.

        TaxExcluded: tax per rate = round_half_up(Amount × rate / 100); TotalAmt = Σ Amount + tax.
        TaxInclusive (UNCONFIRMED for Bills, §11a shows it on Australian invoices): the sent amount
        is gross; tax per rate = round_half_up(gross × rate / (100 + Σ rates)), so one rate gives
        gross × r / (100 + r) and several split it in proportion, each rounded on its own
        (UNCONFIRMED); the line keeps Amount = net and TaxInclusiveAmt = gross; TotalAmt = Σ gross.
        """
        total = Decimal(0)
        by_rate: dict[str, list[Decimal]] = {}  # rate Id -> [tax, net taxable], in order of first use
        percents: dict[str, Decimal] = {}
        for line in obj["Line"]:
            detail_type = line["DetailType"]
            detail = line[detail_type]
            element = f"Line.{detail_type}.TaxCodeRef"
            rates = self._purchase_rates(self._line_code(detail, element), element)
            values = [dec(rate.get("RateValue", 0)) for rate in rates]
            detail.pop("TaxAmount", None)  # a client's own line tax is not used
            if mode == "TaxInclusive":
                gross = self.sent_amount(line, detail, mode)
                taxes = [half_up(gross * v / (HUNDRED + sum(values, Decimal(0)))) for v in values]
                net = gross - sum(taxes, Decimal(0))
                line["Amount"] = num(net)
                detail["TaxInclusiveAmt"] = num(gross)
                total += gross
            else:
                detail.pop("TaxInclusiveAmt", None)
                net = dec(line["Amount"])
                taxes = [half_up(net * v / HUNDRED) for v in values]
                total += net + sum(taxes, Decimal(0))
            for rate, value, tax in zip(rates, values, taxes, strict=True):
                sums = by_rate.setdefault(rate["Id"], [Decimal(0), Decimal(0)])
                sums[0] += tax
                sums[1] += net
                percents[rate["Id"]] = value
        total_tax = sum((sums[0] for sums in by_rate.values()), Decimal(0))
        detail_out: Obj = {"TotalTax": num(total_tax)}
        if by_rate:
            detail_out["TaxLine"] = [
                {"Amount": num(tax), "DetailType": "TaxLineDetail",
                 "TaxLineDetail": {"TaxRateRef": {"value": rate_id}, "PercentBased": True,
                                   "TaxPercent": _number(percents[rate_id]), "NetAmountTaxable": num(net)}}
                for rate_id, (tax, net) in by_rate.items()]
        obj["TxnTaxDetail"] = detail_out
        return total


def _number(value: Decimal) -> int | float:
    """A percent as QBO's JSON writes it: 20, or 7.5."""
    return int(value) if value == value.to_integral_value() else float(value)
