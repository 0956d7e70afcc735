"""A purchase order's number is its QuickBooks DocNumber, which holds at most 21 characters."""

import pytest

from procurement.services import document_create, numbering_set_prefix
from procuresync.errors import ValidationFailed
from tests.conftest import po_data


def test_given_a_prefix_too_long_for_quickbooks_then_it_is_refused_with_the_limit(admin):
    with pytest.raises(ValidationFailed) as refused:
        numbering_set_prefix(actor=admin, kind="purchase_order", prefix="PURCHASE-ORDER-2026-")
    assert "15" in refused.value.message and "21" in refused.value.message
    assert "prefix" in refused.value.fields


def test_given_the_longest_prefix_allowed_then_a_millionth_number_still_fits_quickbooks(creator, admin, supplier):
    numbering_set_prefix(actor=admin, kind="purchase_order", prefix="ACME-PURCHASES-")
    po = document_create(actor=creator, kind="purchase_order", data=po_data(supplier))
    assert po.number.startswith("ACME-PURCHASES-") and len("ACME-PURCHASES-") + len("999999") <= 21
