"""Forms for the document and supplier pages. They parse what was typed; the services judge it.

``DocumentEditor`` bundles a document's header form and its lines formset, turns them into a
``DocumentData`` for the services, and puts the services' field messages back next to the fields.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.db.models import Q
from django.utils import timezone

from accounts.models import User
from procurement import selectors
from procurement.inputs import DocumentData, LineData, SupplierData
from procurement.models import DiscountType, Document, DocumentKind, ListKind, Status, Supplier, carries_supplier_code
from procurement.validation import COMMENT_MAX, NOTES_MAX, document_data_from
from procuresync.errors import DomainError
from procuresync.web import FieldTarget, LongSelect, apply_errors

DISCOUNT_CHOICES = DiscountType.choices
LINE_DISCOUNT_CHOICES = [("", "—"), (DiscountType.PERCENT, "%"), (DiscountType.AMOUNT, "Amount")]


class PurchaseOrderField(forms.ModelChoiceField):
    """Purchase orders named with their supplier, so an invoice's PO is picked by more than a number."""

    widget = LongSelect

    def label_from_instance(self, obj: Document) -> str:
        return f"{obj.number} · {obj.supplier.name}"


class SupplierTaggedSelect(LongSelect):
    """Each option says whose it is (``data-supplier``), so the page can offer only the chosen
    supplier's invoices; without script every invoice is listed, named with its supplier."""

    def create_option(self, name: str, value: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
        option = super().create_option(name, value, *args, **kwargs)
        instance = getattr(value, "instance", None)
        if isinstance(instance, Document):
            option["attrs"]["data-supplier"] = str(instance.supplier_id)
        return option


class CreditedInvoiceField(forms.ModelChoiceField):
    """The invoice a credit note credits: number, supplier and the supplier's own number."""

    widget = SupplierTaggedSelect

    def label_from_instance(self, obj: Document) -> str:
        return f"{obj.number} · {obj.supplier.name} · {obj.supplier_unique_code}"


class DocumentForm(forms.Form):
    supplier = forms.ModelChoiceField(
        queryset=Supplier.objects.none(), empty_label="Choose a supplier", widget=LongSelect
    )
    issue_date = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    due_date = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    supplier_unique_code = forms.CharField(
        label="Supplier Unique Code", required=False, max_length=100,
        help_text="The supplier's own invoice number; QuickBooks shows it as the Bill number.",
    )
    purchase_order = PurchaseOrderField(
        queryset=Document.objects.none(), required=False, label="Purchase order", empty_label="None"
    )
    credited_invoice = CreditedInvoiceField(
        queryset=Document.objects.none(), required=False, label="Credits invoice", empty_label="None",
        help_text="The supplier's invoice this credit note reduces, if it names one.",
    )
    currency = forms.CharField(required=False, max_length=3, help_text="Leave empty for the supplier's currency.")
    exchange_rate = forms.DecimalField(required=False, min_value=Decimal("0"), max_digits=18, decimal_places=8)
    discount_type = forms.ChoiceField(label="Document discount", choices=DISCOUNT_CHOICES, required=False)
    discount_value = forms.DecimalField(label="Discount value", required=False, max_digits=18, decimal_places=4)
    notes = forms.CharField(required=False, max_length=NOTES_MAX, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args: Any, user: User, kind: str, document: Document | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.kind = kind
        suppliers = selectors.suppliers_for(user)
        keep = Q(is_active=True) | Q(pk=document.supplier_id) if document else Q(is_active=True)
        supplier_choices = suppliers.filter(keep)
        supplier = self.fields["supplier"]
        assert isinstance(supplier, forms.ModelChoiceField)
        supplier.queryset = supplier_choices
        # Lets the page fill in the currency when a supplier is chosen.
        self.supplier_currencies = {str(s.pk): s.currency for s in supplier_choices}
        if kind == DocumentKind.INVOICE:
            pos = selectors.documents_for(user, DocumentKind.PURCHASE_ORDER).select_related("supplier")
            purchase_order = self.fields["purchase_order"]
            assert isinstance(purchase_order, PurchaseOrderField)
            purchase_order.queryset = pos.filter(
                Q(status__in=[Status.APPROVED, Status.IN_REVISION])
                | Q(pk=document.purchase_order_id if document else None)
            )
        else:
            del self.fields["due_date"], self.fields["purchase_order"]
        if kind == DocumentKind.CREDIT_NOTE:
            credited = self.fields["credited_invoice"]
            assert isinstance(credited, CreditedInvoiceField)
            # Every supplier's invoices that still stand: the service names a wrong supplier's
            # invoice clearly, which a shorter list would turn into "not one of the choices".
            credited_id = document.credited_invoice_id if document else None
            credited.queryset = selectors.creditable_invoices(user, keep=credited_id)
            self.fields["supplier_unique_code"].help_text = "The supplier's own credit note number."
        else:
            del self.fields["credited_invoice"]
        if not carries_supplier_code(kind):
            del self.fields["supplier_unique_code"]
        self.custom_fields = selectors.custom_fields_for(user, kind)
        for field in self.custom_fields:
            if field.choices_from:
                # e.g. "Location": the value is the name of one of the company's options of that list.
                names = [o.name for o in selectors.list_options_for(user, field.choices_from)]
                self.fields[f"cf_{field.pk}"] = forms.ChoiceField(
                    label=field.name, required=False, choices=[("", "—"), *((n, n) for n in names)]
                )
            else:
                self.fields[f"cf_{field.pk}"] = forms.CharField(label=field.name, required=False, max_length=200)


# Line fields whose choices are one of the company's QuickBooks lists.
_LINE_LISTS = {
    "account": ListKind.ACCOUNT,
    "line_class": ListKind.CLASS,
    "customer_project": ListKind.CUSTOMER_PROJECT,
    "item": ListKind.ITEM,
    "tax_code": ListKind.TAX_CODE,
}


class LineForm(forms.Form):
    description = forms.CharField(required=False, max_length=500)
    item = forms.TypedChoiceField(coerce=int, required=False, empty_value=None, label="Product / service")
    quantity = forms.DecimalField(max_digits=18, decimal_places=4, initial=1)
    unit_price = forms.DecimalField(max_digits=18, decimal_places=4)
    discount_type = forms.ChoiceField(choices=LINE_DISCOUNT_CHOICES, required=False, label="Discount")
    discount_value = forms.DecimalField(required=False, max_digits=18, decimal_places=4, label="Disc. value")
    account = forms.TypedChoiceField(coerce=int, required=False, empty_value=None)
    line_class = forms.TypedChoiceField(coerce=int, required=False, empty_value=None, label="Class")
    customer_project = forms.TypedChoiceField(coerce=int, required=False, empty_value=None, label="Customer / project")
    tax_code = forms.TypedChoiceField(coerce=int, required=False, empty_value=None, label="Tax code")
    tax_rate = forms.DecimalField(required=False, max_digits=7, decimal_places=4, initial=0, label="Tax %")

    def __init__(self, *args: Any, options: dict[str, list[tuple[Any, str]]], **kwargs: Any):
        super().__init__(*args, **kwargs)
        for name, kind in _LINE_LISTS.items():
            field = self.fields[name]
            assert isinstance(field, forms.ChoiceField)
            field.choices = options[kind]


LineFormSet = forms.formset_factory(LineForm, extra=0, can_delete=True)
# A new document starts with one empty row; left empty, it is ignored (and the service asks for a line).
NewLineFormSet = forms.formset_factory(LineForm, extra=1, can_delete=True)

# Service field names inside a line -> the form field that shows them.
_LINE_FIELD = {"class": "line_class"}
_HEADER_FIELD = {"purchase_order": "purchase_order", "supplier": "supplier"}


def _list_options(user: User) -> dict[str, list[tuple[Any, str]]]:
    return {
        kind: [("", "—"), *((o.pk, o.name) for o in selectors.list_options_for(user, kind))]
        for kind in ListKind.values
    }


def _line_initial(data: DocumentData) -> list[dict[str, Any]]:
    return [
        {
            "description": line.description,
            "quantity": line.quantity.normalize(),
            "unit_price": line.unit_price,
            "discount_type": line.discount_type,
            "discount_value": line.discount_value if line.discount_type else None,
            "account": line.account_id,
            "line_class": line.class_id,
            "customer_project": line.customer_project_id,
            "item": line.item_id,
            "tax_code": line.tax_code_id,
            "tax_rate": line.tax_rate.normalize(),
        }
        for line in data.lines
    ]


def _header_initial(data: DocumentData) -> dict[str, Any]:
    initial: dict[str, Any] = {
        "supplier": data.supplier_id,
        "issue_date": data.issue_date,
        "due_date": data.due_date,
        "supplier_unique_code": data.supplier_unique_code,
        "purchase_order": data.purchase_order_id,
        "credited_invoice": data.credited_invoice_id,
        "currency": data.currency,
        "exchange_rate": data.exchange_rate.normalize() if data.exchange_rate is not None else None,
        "discount_type": data.discount_type,
        "discount_value": data.discount_value if data.discount_type else None,
        "notes": data.notes,
    }
    initial.update({f"cf_{field_id}": value for field_id, value in data.custom_values.items()})
    return initial


class DocumentEditor:
    """The create/edit form of a document: header fields, custom fields and the lines formset."""

    def __init__(
        self, *, user: User, kind: str, document: Document | None = None, data: Any = None,
        initial: dict[str, Any] | None = None,
    ):
        header_initial: dict[str, Any] = {"issue_date": timezone.localdate(), **(initial or {})}
        lines_initial: list[dict[str, Any]] = []
        if document is not None:
            existing = document_data_from(document)
            header_initial = _header_initial(existing)
            lines_initial = _line_initial(existing)
        self.form = DocumentForm(data, user=user, kind=kind, document=document, initial=header_initial)
        options = _list_options(user)
        formset = NewLineFormSet if document is None else LineFormSet
        self.lines = formset(data, prefix="lines", initial=lines_initial, form_kwargs={"options": options})
        self.errors: list[str] = []
        self._line_forms: list[LineForm] = []

    def is_valid(self) -> bool:
        valid = self.form.is_valid() & self.lines.is_valid()
        if not valid:
            self.errors = ["Please correct the highlighted fields; nothing was saved."]
        return valid

    def to_data(self) -> DocumentData:
        cleaned = self.form.cleaned_data
        self._line_forms = []
        lines: list[LineData] = []
        for form in self.lines.forms:
            values = form.cleaned_data
            if not values or values.get("DELETE"):
                continue  # an untouched extra row, or one the user removed
            self._line_forms.append(form)
            lines.append(
                LineData(
                    description=values["description"],
                    quantity=values["quantity"],
                    unit_price=values["unit_price"],
                    discount_type=values["discount_type"],
                    discount_value=values["discount_value"] or Decimal("0"),
                    tax_rate=values["tax_rate"] or Decimal("0"),
                    account_id=values["account"],
                    class_id=values["line_class"],
                    customer_project_id=values["customer_project"],
                    item_id=values["item"],
                    tax_code_id=values["tax_code"],
                )
            )
        supplier = cleaned["supplier"]
        purchase_order = cleaned.get("purchase_order")
        credited_invoice = cleaned.get("credited_invoice")
        return DocumentData(
            supplier_id=supplier.pk,
            issue_date=cleaned["issue_date"],
            due_date=cleaned.get("due_date"),
            lines=lines,
            currency=cleaned["currency"].strip().upper(),
            exchange_rate=cleaned["exchange_rate"],
            notes=cleaned["notes"],
            discount_type=cleaned["discount_type"],
            discount_value=cleaned["discount_value"] or Decimal("0"),
            supplier_unique_code=cleaned.get("supplier_unique_code", ""),
            purchase_order_id=purchase_order.pk if purchase_order else None,
            credited_invoice_id=credited_invoice.pk if credited_invoice else None,
            custom_values={f.pk: cleaned.get(f"cf_{f.pk}", "") for f in self.form.custom_fields},
        )

    def _locate(self, name: str) -> FieldTarget | None:
        parts = name.split(".")
        if parts[0] == "lines" and len(parts) == 3 and parts[1].isdigit() and int(parts[1]) < len(self._line_forms):
            return self._line_forms[int(parts[1])], _LINE_FIELD.get(parts[2], parts[2])
        if parts[0] == "custom_fields" and len(parts) == 2:
            return self.form, f"cf_{parts[1]}"
        if len(parts) == 1 and name in self.form.fields:
            return self.form, name
        return None

    def apply_errors(self, exc: DomainError) -> None:
        leftovers = apply_errors(exc, self._locate)
        self.errors = [exc.message, *(m for m in leftovers if m != exc.message)]


class NotesForm(forms.Form):
    """The one edit an approved (or pending, or paid) document accepts."""

    notes = forms.CharField(required=False, max_length=NOTES_MAX, widget=forms.Textarea(attrs={"rows": 5}))


class TransitionForm(forms.Form):
    comment = forms.CharField(required=False, max_length=COMMENT_MAX, widget=forms.Textarea(attrs={"rows": 2}))


class SupplierForm(forms.Form):
    name = forms.CharField(max_length=200)
    currency = forms.CharField(max_length=3, initial="USD")
    email = forms.EmailField(required=False, max_length=254)
    tax_id = forms.CharField(label="Tax ID", required=False, max_length=50)
    address = forms.CharField(required=False, max_length=1000, widget=forms.Textarea(attrs={"rows": 3}))
    is_active = forms.BooleanField(label="Active", required=False, initial=True)

    @classmethod
    def for_supplier(cls, supplier: Supplier) -> SupplierForm:
        return cls(initial={
            "name": supplier.name, "currency": supplier.currency, "email": supplier.email,
            "tax_id": supplier.tax_id, "address": supplier.address, "is_active": supplier.is_active,
        })

    def to_data(self) -> SupplierData:
        c = self.cleaned_data
        return SupplierData(
            name=c["name"], currency=c["currency"].strip().upper(), email=c["email"], address=c["address"],
            tax_id=c["tax_id"], is_active=c["is_active"],
        )
