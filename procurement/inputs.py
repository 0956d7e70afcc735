"""Plain input records for the document services, shared by forms, the API and the demo command."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal


@dataclass
class LineData:
    description: str
    quantity: Decimal
    unit_price: Decimal
    discount_type: str = ""
    discount_value: Decimal = Decimal("0")
    tax_rate: Decimal = Decimal("0")
    account_id: int | None = None
    class_id: int | None = None
    customer_project_id: int | None = None
    item_id: int | None = None
    tax_code_id: int | None = None


@dataclass
class DocumentData:
    supplier_id: int
    issue_date: dt.date
    lines: list[LineData]
    due_date: dt.date | None = None
    currency: str = ""  # empty: the supplier's currency
    exchange_rate: Decimal | None = None  # None: 1 for the home currency
    notes: str = ""
    discount_type: str = ""
    discount_value: Decimal = Decimal("0")
    supplier_unique_code: str = ""  # invoices and credit notes
    purchase_order_id: int | None = None  # invoices only
    credited_invoice_id: int | None = None  # credit notes only
    # Custom field id -> value; fields left out keep no value.
    custom_values: dict[int, str] = field(default_factory=dict)


@dataclass
class SupplierData:
    name: str
    currency: str
    email: str = ""
    address: str = ""
    tax_id: str = ""
    is_active: bool = True
