"""Forms for recording payments and filtering the Payments page."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.utils import timezone

from accounts.models import User
from payments.models import Method, PaymentStatus
from procurement.models import Supplier
from procurement.selectors import suppliers_for
from procuresync.web import LongSelect


class PaymentForm(forms.Form):
    amount = forms.DecimalField(min_value=Decimal("0.01"), max_digits=18, decimal_places=2)
    paid_on = forms.DateField(label="Paid on", widget=forms.DateInput(attrs={"type": "date"}))
    method = forms.ChoiceField(choices=Method.choices)
    reference = forms.CharField(required=False, max_length=100)

    @classmethod
    def for_invoice(cls, outstanding: Decimal) -> PaymentForm:
        # The usual case is paying what is left, today, by bill payment.
        return cls(initial={"amount": outstanding, "paid_on": timezone.localdate(), "method": Method.BILL_PAYMENT})


class PaymentFilterForm(forms.Form):
    date_from = forms.DateField(label="From", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label="To", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    supplier = forms.ModelChoiceField(
        queryset=Supplier.objects.none(), required=False, empty_label="All suppliers", widget=LongSelect
    )
    method = forms.ChoiceField(choices=[("", "All methods"), *Method.choices], required=False)
    status = forms.ChoiceField(choices=[("", "All statuses"), *PaymentStatus.choices], required=False)

    def __init__(self, *args: Any, user: User, **kwargs: Any):
        super().__init__(*args, **kwargs)
        supplier = self.fields["supplier"]
        assert isinstance(supplier, forms.ModelChoiceField)
        supplier.queryset = suppliers_for(user)

    def filters(self) -> dict[str, Any]:
        """Selector arguments from the valid fields; a malformed one is ignored, not an error page."""
        self.is_valid()
        c = getattr(self, "cleaned_data", {})
        supplier = c.get("supplier")
        return {
            "date_from": c.get("date_from"),
            "date_to": c.get("date_to"),
            "supplier_id": supplier.pk if supplier else None,
            "method": c.get("method", ""),
            "status": c.get("status", ""),
        }


class PaymentImportForm(forms.Form):
    """The date range of an import from QuickBooks (the range rules are the service's)."""

    date_from = forms.DateField(
        label="From", widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={"invalid": "Enter the first day as a date, e.g. 2026-11-01.",
                        "required": "Enter the first day of the range."},
    )
    date_to = forms.DateField(
        label="To", widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={"invalid": "Enter the last day as a date, e.g. 2026-11-30.",
                        "required": "Enter the last day of the range."},
    )

    def __init__(self, *args: Any, **kwargs: Any):
        kwargs.setdefault("prefix", "import")
        super().__init__(*args, **kwargs)

    @classmethod
    def initial_range(cls) -> PaymentImportForm:
        today = timezone.localdate()
        return cls(initial={"date_from": today.replace(day=1), "date_to": today})
