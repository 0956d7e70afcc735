"""Number formatting for the pages."""

from __future__ import annotations

from decimal import Decimal

from django import template
from django.contrib.humanize.templatetags.humanize import intcomma

register = template.Library()


@register.filter
def amount(value: Decimal | None, places: int = 2) -> str:
    """Money with thousands separators and at least two decimals; more only when the value has them
    (unit prices take four), so 24.9000 shows as 24.90 and 0.1234 stays 0.1234."""
    if value is None or value == "":
        return ""
    value = Decimal(value)
    exponent = value.normalize().as_tuple().exponent
    shown = max(places, -exponent) if isinstance(exponent, int) else places
    return intcomma(f"{value:.{shown}f}")
