"""Money arithmetic: the one written rounding rule for every total in procuresync.

The rule
--------
1. A line's gross is ``quantity × unit_price``, exact (both have at most 4 decimals).
2. The line discount is ``gross × percent / 100`` or a fixed amount; it may not exceed the gross.
3. **Line net = round(gross − line discount, 2)**, rounding half away from zero (ROUND_HALF_UP on
   non-negative amounts), as accountants and QuickBooks do.
4. The subtotal is the sum of line nets.
5. The document discount is ``round(subtotal × percent / 100, 2)`` or a fixed amount; it may not
   exceed the subtotal.
6. The document discount is spread over the lines in proportion to their nets, each share rounded
   down to the cent, and the cents left over go one by one to the lines with the largest
   remainders (ties to the earlier line). So the shares add up to the discount exactly and no line's
   share exceeds its net.
7. Line tax = round((line net − share) × tax rate / 100, 2). Total = Σ(net − share) + Σ tax.
   A line whose tax is made of several rates (a Canadian GST + PST code, given as
   ``tax_components``) rounds each rate's tax on its own and adds them, which is how QuickBooks
   computes tax outside the US: line by line and rate by rate (see docs/amounts-tax-currency.md).

Everything here is pure: plain ``Decimal`` in, plain ``Decimal`` out, no database.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
ZERO = Decimal("0")
HUNDRED = Decimal("100")


class DiscountTooLarge(ValueError):
    """A discount greater than what it discounts."""


def to_cents(amount: Decimal) -> Decimal:
    """Round to the cent, half away from zero. The only rounding function used for money."""
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def discount_amount(base: Decimal, discount_type: str, value: Decimal) -> Decimal:
    """The (unrounded) discount that ``discount_type``/``value`` takes off ``base``."""
    if not discount_type or value == ZERO:
        return ZERO
    if value < ZERO:
        raise DiscountTooLarge("A discount cannot be negative.")
    if discount_type == "percent":
        if value > HUNDRED:
            raise DiscountTooLarge("A percentage discount cannot exceed 100%.")
        return base * value / HUNDRED
    if discount_type == "amount":
        if value > base:
            raise DiscountTooLarge(f"The discount {value} is larger than the amount it applies to ({base}).")
        return value
    raise ValueError(f"Unknown discount type {discount_type!r}")


@dataclass(frozen=True)
class LineInput:
    quantity: Decimal
    unit_price: Decimal
    discount_type: str = ""
    discount_value: Decimal = ZERO
    tax_rate: Decimal = ZERO
    # The rates that make up ``tax_rate`` when they are rounded one by one (QuickBooks' rule for
    # a tax code with several purchase rates); empty: the single ``tax_rate``.
    tax_components: tuple[Decimal, ...] = ()

    def tax_on(self, base: Decimal) -> Decimal:
        rates = self.tax_components or (self.tax_rate,)
        return sum((to_cents(base * rate / HUNDRED) for rate in rates), ZERO)


@dataclass(frozen=True)
class LineTotals:
    gross: Decimal
    net: Decimal  # after the line's own discount, rounded to the cent
    document_discount_share: Decimal
    tax: Decimal

    @property
    def net_after_document_discount(self) -> Decimal:
        return self.net - self.document_discount_share


@dataclass(frozen=True)
class DocumentTotals:
    lines: tuple[LineTotals, ...]
    subtotal: Decimal
    discount_total: Decimal  # the document-level discount only
    tax_total: Decimal
    total: Decimal


def line_net(line: LineInput) -> tuple[Decimal, Decimal]:
    gross = line.quantity * line.unit_price
    return gross, to_cents(gross - discount_amount(gross, line.discount_type, line.discount_value))


def spread(amount: Decimal, weights: Sequence[Decimal]) -> list[Decimal]:
    """Split ``amount`` (whole cents) over ``weights`` proportionally; the parts add up exactly.

    Largest-remainder method: floor every share to the cent, then hand out the missing cents to
    the largest remainders. With ``amount <= sum(weights)`` no share exceeds its weight.
    """
    total_weight = sum(weights, ZERO)
    if amount == ZERO or total_weight == ZERO:
        return [ZERO for _ in weights]
    exact = [amount * w / total_weight for w in weights]
    floors = [e.quantize(CENT, rounding=ROUND_DOWN) for e in exact]
    missing_cents = int((amount - sum(floors, ZERO)) / CENT)
    by_remainder = sorted(range(len(weights)), key=lambda i: (-(exact[i] - floors[i]), i))
    for i in by_remainder[:missing_cents]:
        floors[i] += CENT
    return floors


def document_totals(
    lines: Sequence[LineInput], discount_type: str = "", discount_value: Decimal = ZERO
) -> DocumentTotals:
    grosses_nets = [line_net(line) for line in lines]
    nets = [net for _, net in grosses_nets]
    subtotal = sum(nets, ZERO)
    document_discount = to_cents(discount_amount(subtotal, discount_type, discount_value))
    shares = spread(document_discount, nets)
    line_totals = []
    for line, (gross, net), share in zip(lines, grosses_nets, shares, strict=True):
        tax = line.tax_on(net - share)
        line_totals.append(LineTotals(gross=gross, net=net, document_discount_share=share, tax=tax))
    tax_total = sum((lt.tax for lt in line_totals), ZERO)
    total = subtotal - document_discount + tax_total
    return DocumentTotals(
        lines=tuple(line_totals),
        subtotal=subtotal,
        discount_total=document_discount,
        tax_total=tax_total,
        total=total,
    )
