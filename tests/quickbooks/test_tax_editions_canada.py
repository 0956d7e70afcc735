"""A Canadian company: a GST + PST code is rounded rate by rate on each line, as QuickBooks does,
and our total follows that rule so QuickBooks' TotalAmt equals ours."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from accounts.models import Company, User
from accounts.services import company_create
from procurement.inputs import SupplierData
from procurement.models import Supplier
from procurement.services import supplier_create
from tests.conftest import invoice_data, line
from tests.quickbooks.conftest import Qbo
from tests.quickbooks.test_tax_editions import connect_edition, map_suggested, money, send

D = Decimal


@pytest.fixture
def company(db: None) -> Company:
    return company_create(name="Acme Canada", home_currency="CAD")


@pytest.fixture
def supplier(creator: User) -> Supplier:
    return supplier_create(actor=creator, data=SupplierData(name="Lumber BC", currency="CAD"))


@pytest.fixture
def canada(qbo_settings: Any, worker: Any, admin: User) -> Qbo:
    return connect_edition(qbo_settings, admin, "CA")


def test_given_a_canadian_company_when_a_line_carries_gst_and_pst_then_each_rate_is_rounded_per_line_and_totals_agree(
    canada: Qbo, creator: User, approver: User, admin: User, supplier: Supplier
) -> None:
    # 10.10 at 12 % would be 1.21 rounded once; GST 5 % (0.505 → 0.51) + PST 7 % (0.707 → 0.71) is 1.22.
    map_suggested(admin, "12", "13")
    data = invoice_data(
        supplier,
        line("Studs", "1", "10.10", tax_rate=D("12")),
        line("Drywall", "3", "33.33", tax_rate=D("13")),
        code="CA-1",
    )

    invoice, bill = send(canada, creator, approver, data)

    assert invoice.lines.get(description="Studs").tax_amount == D("1.22")
    assert money(bill["TotalAmt"]) == invoice.total == D("10.10") + D("1.22") + D("99.99") + D("13.00")
    rates = {ln["TaxLineDetail"]["TaxPercent"] for ln in bill["TxnTaxDetail"]["TaxLine"]}
    assert {D(str(r)) for r in rates} >= {D("5"), D("7"), D("13")}
