from decimal import Decimal

from procurement.models import Status


def test_given_an_approved_invoice_then_its_total_is_derived_from_its_lines(approved_invoice):
    assert approved_invoice.status == Status.APPROVED
    assert approved_invoice.total == Decimal("50.00")
    assert approved_invoice.number == "INV-00001"
