"""API input and output shapes for suppliers, purchase orders, invoices and credit notes.

Inputs only parse types (dates, decimals, ids) into the ``procurement.inputs`` dataclasses; every
business rule (positive quantities, discounts, currencies, duplicate codes) stays in the services,
which name the offending field the same way (``lines.0.quantity``). Outputs render money with 2
decimals and quantities/prices with 4, as strings.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from rest_framework import serializers

from procurement import workflow
from procurement.inputs import DocumentData, LineData, SupplierData
from procurement.models import (
    DiscountType,
    Document,
    DocumentEvent,
    DocumentLine,
    Status,
    Supplier,
)
from procuresync.api import OptionalEmailField, unsigned_decimal
from procuresync.errors import ValidationFailed


def _decimal(places: int, digits: int = 18, **kwargs: Any) -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=digits, decimal_places=places, **kwargs)


def merged_input(current: dict[str, Any], body: Any) -> dict[str, Any]:
    """PATCH: the current representation with the fields the client sent laid over it.

    A list (``lines``) or map (``custom_fields``) that is sent replaces the old one whole.
    """
    if not isinstance(body, dict):  # a JSON list or scalar; QueryDict (form posts) is a dict
        raise serializers.ValidationError({"non_field_errors": ["Send a JSON object with the fields to change."]})
    return {**current, **body}


# ---------------------------------------------------------------- suppliers


class SupplierIn(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    currency = serializers.CharField(max_length=3, help_text="ISO code, e.g. USD.")
    email = OptionalEmailField(required=False, allow_blank=True, default="")
    address = serializers.CharField(required=False, allow_blank=True, default="")
    tax_id = serializers.CharField(max_length=50, required=False, allow_blank=True, default="")
    is_active = serializers.BooleanField(required=False, default=True)

    def to_data(self) -> SupplierData:
        return SupplierData(**self.validated_data)


class SupplierOut(serializers.ModelSerializer):
    email = OptionalEmailField(read_only=True)

    class Meta:
        model = Supplier
        fields = ["id", "name", "currency", "email", "address", "tax_id", "is_active", "created_at"]
        read_only_fields = fields


class SupplierFilterIn(serializers.Serializer):
    search = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    active = serializers.BooleanField(required=False, allow_null=True, default=None)


# ---------------------------------------------------------------- documents


class LineIn(serializers.Serializer):
    description = serializers.CharField(max_length=500, help_text="What is bought on this line.")
    quantity = unsigned_decimal(4, help_text="Greater than zero, up to 4 decimals.")
    unit_price = unsigned_decimal(4, help_text="Zero or more, up to 4 decimals.")
    discount_type = serializers.ChoiceField(DiscountType.choices, required=False, allow_blank=True, default="")
    discount_value = unsigned_decimal(4, required=False, default=Decimal("0"))
    tax_rate = unsigned_decimal(4, 7, required=False, default=Decimal("0"), help_text="Percent, 0 to 100.")
    account = serializers.IntegerField(required=False, allow_null=True, default=None)
    customer_project = serializers.IntegerField(required=False, allow_null=True, default=None)
    item = serializers.IntegerField(required=False, allow_null=True, default=None, help_text="Product/service id.")
    tax_code = serializers.IntegerField(required=False, allow_null=True, default=None)

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        # "class" is a Python keyword, so it cannot be a class attribute above.
        fields["class"] = serializers.IntegerField(required=False, allow_null=True, default=None)
        return fields

    @staticmethod
    def to_data(values: dict[str, Any]) -> LineData:
        return LineData(
            description=values["description"],
            quantity=values["quantity"],
            unit_price=values["unit_price"],
            discount_type=values["discount_type"],
            discount_value=values["discount_value"],
            tax_rate=values["tax_rate"],
            account_id=values["account"],
            class_id=values["class"],
            customer_project_id=values["customer_project"],
            item_id=values["item"],
            tax_code_id=values["tax_code"],
        )


class DocumentIn(serializers.Serializer):
    """A purchase order, an invoice or a credit note. A field another kind has is ignored."""

    supplier = serializers.IntegerField()
    issue_date = serializers.DateField()
    due_date = serializers.DateField(required=False, allow_null=True, default=None, help_text="Invoices only.")
    currency = serializers.CharField(
        max_length=3, required=False, allow_blank=True, default="", help_text="Empty: the supplier's currency."
    )
    exchange_rate = unsigned_decimal(8, required=False, allow_null=True, default=None, help_text="null: 1.")
    notes = serializers.CharField(required=False, allow_blank=True, default="")
    discount_type = serializers.ChoiceField(DiscountType.choices, required=False, allow_blank=True, default="")
    discount_value = unsigned_decimal(4, required=False, default=Decimal("0"))
    supplier_unique_code = serializers.CharField(
        max_length=100,
        required=False,
        allow_blank=True,
        default="",
        help_text="Invoices and credit notes: the supplier's own number for it.",
    )
    purchase_order = serializers.IntegerField(required=False, allow_null=True, default=None, help_text="Invoices only.")
    credited_invoice = serializers.IntegerField(
        required=False,
        allow_null=True,
        default=None,
        help_text="Credit notes only: the invoice of the same supplier it credits (not cancelled or rejected).",
    )
    lines = LineIn(many=True, allow_empty=True)
    custom_fields = serializers.DictField(
        child=serializers.CharField(allow_blank=True),
        required=False,
        default=dict,
        help_text="Custom field id -> value; a field left out has no value.",
    )

    def validate_custom_fields(self, value: dict[str, str]) -> dict[int, str]:
        # OpenAPI 3.0 cannot say that keys are ids, so a key that is not one is what an id that
        # is not yours is: an unknown custom field (422, like the services say for those).
        unknown = [key for key in value if not key.isdigit()]
        if unknown:
            raise ValidationFailed(
                "Please correct the fields named below; nothing was saved.",
                fields={f"custom_fields.{key}": ["Unknown custom field."] for key in unknown},
            )
        return {int(key): text for key, text in value.items()}

    def to_data(self) -> DocumentData:
        values = self.validated_data
        return DocumentData(
            supplier_id=values["supplier"],
            issue_date=values["issue_date"],
            due_date=values["due_date"],
            currency=values["currency"],
            exchange_rate=values["exchange_rate"],
            notes=values["notes"],
            discount_type=values["discount_type"],
            discount_value=values["discount_value"],
            supplier_unique_code=values["supplier_unique_code"],
            purchase_order_id=values["purchase_order"],
            credited_invoice_id=values["credited_invoice"],
            lines=[LineIn.to_data(line) for line in values["lines"]],
            custom_values=values["custom_fields"],
        )


class DocumentUpdateIn(DocumentIn):
    comment = serializers.CharField(required=False, allow_blank=True, default="", help_text="Why; kept in history.")


class DocumentPatchIn(DocumentUpdateIn):
    """Documents the PATCH body: any subset of the fields; ``lines`` and ``custom_fields`` replace whole."""

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        for field in fields.values():
            field.required = False
        return fields


class DocumentFilterIn(serializers.Serializer):
    status = serializers.ChoiceField(Status.choices, required=False, allow_blank=True, default="")
    search = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    supplier = serializers.IntegerField(required=False, allow_null=True, default=None)


class TransitionIn(serializers.Serializer):
    comment = serializers.CharField(
        required=False, allow_blank=True, default="", help_text="Why; required when rejecting."
    )


class LineOut(serializers.ModelSerializer):
    quantity = _decimal(4, read_only=True)
    unit_price = _decimal(4, read_only=True)
    account = serializers.IntegerField(source="account_id", read_only=True, allow_null=True)
    customer_project = serializers.IntegerField(source="customer_project_id", read_only=True, allow_null=True)
    item = serializers.IntegerField(source="item_id", read_only=True, allow_null=True)
    tax_code = serializers.IntegerField(source="tax_code_id", read_only=True, allow_null=True)

    class Meta:
        model = DocumentLine
        fields = [
            "position",
            "description",
            "quantity",
            "unit_price",
            "discount_type",
            "discount_value",
            "tax_rate",
            "account",
            "customer_project",
            "item",
            "tax_code",
            "net_amount",
            "document_discount_share",
            "tax_amount",
        ]
        read_only_fields = fields

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        fields["class"] = serializers.IntegerField(source="line_class_id", read_only=True, allow_null=True)
        return fields


class EventOut(serializers.ModelSerializer):
    actor = serializers.CharField(source="actor.username", read_only=True, allow_null=True, default=None)
    # "" where the event changed no status: the creation (no status before) and edits.
    from_status = serializers.ChoiceField(Status.choices, allow_blank=True, read_only=True)
    to_status = serializers.ChoiceField(Status.choices, allow_blank=True, read_only=True)

    class Meta:
        model = DocumentEvent
        fields = [
            "id",
            "kind",
            "action",
            "from_status",
            "to_status",
            "actor",
            "source",
            "comment",
            "changes",
            "created_at",
        ]
        read_only_fields = fields


class DocumentSummaryOut(serializers.ModelSerializer):
    supplier_name = serializers.CharField(source="supplier.name", read_only=True)
    actions = serializers.SerializerMethodField(help_text="Workflow actions the current status allows.")

    class Meta:
        model = Document
        fields = [
            "id",
            "kind",
            "number",
            "status",
            "supplier",
            "supplier_name",
            "issue_date",
            "due_date",
            "currency",
            "exchange_rate",
            "notes",
            "discount_type",
            "discount_value",
            "supplier_unique_code",
            "purchase_order",
            "credited_invoice",
            "subtotal",
            "discount_total",
            "tax_total",
            "total",
            "revision",
            "actions",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_actions(self, document: Document) -> list[str]:
        return [action.value for action in workflow.available_actions(document.status)]


class DocumentOut(DocumentSummaryOut):
    """One document with its lines, custom field values and history."""

    lines = LineOut(many=True, read_only=True)
    custom_fields = serializers.SerializerMethodField()
    events = EventOut(many=True, read_only=True)

    class Meta(DocumentSummaryOut.Meta):
        fields = [*DocumentSummaryOut.Meta.fields, "lines", "custom_fields", "events"]
        read_only_fields = fields

    def get_custom_fields(self, document: Document) -> dict[str, str]:
        return {str(value.field_id): value.value for value in document.custom_values.all()}
