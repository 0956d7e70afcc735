"""Forms of the Integrations page. They parse what was typed; ``quickbooks.services`` judges it."""

from __future__ import annotations

from typing import Any

from django import forms

from accounts.models import User
from procurement.models import CustomField, DocumentKind, ListOption
from procuresync.errors import DomainError
from procuresync.web import apply_errors
from quickbooks import selectors
from quickbooks.models import Connection


class SettingsForm(forms.Form):
    document_kind = forms.ChoiceField(
        label="Documents sent to QuickBooks",
        choices=[(DocumentKind.PURCHASE_ORDER, "Purchase Orders"), (DocumentKind.INVOICE, "Invoices (as Bills)")],
        widget=forms.RadioSelect,
        help_text="The other kind stays in procuresync only (shown as Internal).",
    )
    auto_send = forms.BooleanField(label="Send automatically on approval", required=False)
    import_payments = forms.BooleanField(label="Import payments from QuickBooks", required=False)
    default_ap_account = forms.ModelChoiceField(
        queryset=ListOption.objects.none(),
        required=False,
        label="Default A/P account",
        empty_label="QuickBooks' default",
        help_text="Bills are posted to this Accounts Payable account.",
    )
    default_expense_account = forms.ModelChoiceField(
        queryset=ListOption.objects.none(),
        required=False,
        label="Default expense account",
        empty_label="None",
        help_text="Used for lines that name no account.",
    )
    location_field = forms.ModelChoiceField(
        queryset=CustomField.objects.none(),
        required=False,
        label="Location field",
        empty_label="Not sent",
        help_text="The document custom field sent as the QuickBooks Location.",
    )

    def __init__(self, *args: Any, user: User, connection: Connection | None, **kwargs: Any) -> None:
        if connection is not None and "initial" not in kwargs:
            kwargs["initial"] = {
                "document_kind": connection.document_kind,
                "auto_send": connection.auto_send,
                "import_payments": connection.import_payments,
                "default_ap_account": connection.default_ap_account_id,
                "default_expense_account": connection.default_expense_account_id,
                "location_field": connection.location_field_id,
            }
        elif connection is None:
            kwargs.setdefault(
                "initial", {"document_kind": DocumentKind.INVOICE, "auto_send": True, "import_payments": True}
            )
        super().__init__(*args, **kwargs)
        choices = {
            "default_ap_account": selectors.ap_accounts_for(user),
            "default_expense_account": selectors.expense_accounts_for(user),
            "location_field": selectors.custom_fields_all(user),
        }
        for name, queryset in choices.items():
            field = self.fields[name]
            assert isinstance(field, forms.ModelChoiceField)
            field.queryset = queryset

    def to_kwargs(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "document_kind": data["document_kind"],
            "auto_send": data["auto_send"],
            "import_payments": data["import_payments"],
            "default_ap_account_id": data["default_ap_account"].pk if data["default_ap_account"] else None,
            "default_expense_account_id": (
                data["default_expense_account"].pk if data["default_expense_account"] else None
            ),
            "location_field_id": data["location_field"].pk if data["location_field"] else None,
        }

    def apply_errors(self, exc: DomainError) -> None:
        apply_errors(exc, lambda name: (self, name if name in self.fields else None), fallback=self)


_NO_SUPPLIER = "Choose one of your suppliers."


class VendorMapForm(forms.Form):
    """Link one supplier to a QuickBooks vendor, named by its id: the id of the imported vendor
    whose Link button was pressed (``quickbooks.vendor_choice``), or any id QuickBooks has."""

    # The row's own supplier (a hidden field): anything that cannot be a supplier id is refused
    # here, before a query or a call to QuickBooks.
    supplier = forms.IntegerField(
        widget=forms.HiddenInput,
        min_value=1,
        max_value=2**63 - 1,
        error_messages={key: _NO_SUPPLIER for key in ("required", "invalid", "min_value", "max_value")},
    )
    vendor_id = forms.RegexField(
        label="QuickBooks vendor id",
        regex=r"^\d{1,20}$",
        max_length=20,
        error_messages={
            "invalid": "A QuickBooks vendor id is a number, e.g. 58.",
            "required": "Enter the QuickBooks vendor id, e.g. 58.",
        },
    )
