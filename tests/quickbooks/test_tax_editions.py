"""Purchase tax outside the US, end to end against the emulator: a UK company (VAT 20 % / 5 %) and a
Canadian one (GST + PST) send tax per line and QuickBooks' TotalAmt equals ours to the cent; a US
company still folds tax into the lines; a rate with no tax code is refused, saying what to map."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from accounts.audit import Action
from accounts.models import AuditEntry, Company, User
from accounts.services import company_create
from procurement.inputs import SupplierData
from procurement.models import Document, Supplier
from procurement.services import document_create, supplier_create
from quickbooks import selectors, tax_settings
from quickbooks.models import SyncStatus
from tests.conftest import invoice_data, line
from tests.quickbooks.conftest import _EMULATOR, Qbo, connect, settle, sync_of
from tests.quickbooks.test_currencies_and_order_links import refused
from tests.quickbooks.test_export import approve
from tests.quickbooks.test_reconciliation import check

D = Decimal


def money(value: Any) -> Decimal:
    return D(str(value)).quantize(D("0.01"))


def map_suggested(admin: User, *rates: str) -> None:
    """The Admin accepts the suggested QuickBooks tax code for each rate on Integrations → Tax codes."""
    rows = {row.label: row for row in tax_settings.tax_rate_rows(admin)}
    choices = []
    for rate in rates:
        row = rows[rate]
        assert row.selected is not None, f"no QuickBooks code suggested for {rate} %"
        choices.append((str(row.rate), str(row.selected.option_id)))
    tax_settings.tax_mappings_save(actor=admin, choices=choices)


def connect_edition(qbo_settings: Any, admin: User, country: str) -> Qbo:
    realm = qbo_settings.control("POST", "/companies", json={"name": f"{country} Books", "country": country})["realmId"]
    _EMULATOR[:] = [qbo_settings]
    qbo = connect(admin, realm=realm)
    assert qbo.connection.computes_tax
    return qbo


@pytest.fixture
def company(db: None) -> Company:
    return company_create(name="Acme Ltd", home_currency="GBP")


@pytest.fixture
def supplier(creator: User) -> Supplier:
    return supplier_create(actor=creator, data=SupplierData(name="Paper Ltd", currency="GBP"))


@pytest.fixture
def uk(qbo_settings: Any, worker: Any, admin: User) -> Qbo:
    return connect_edition(qbo_settings, admin, "GB")


def send(qbo: Qbo, creator: User, approver: User, data: Any) -> tuple[Document, dict[str, Any]]:
    """Approve a new invoice and return it with the bill QuickBooks holds for it."""
    invoice = approve(creator, approver, document_create(actor=creator, kind="invoice", data=data))
    settle()
    sync = sync_of(invoice)
    assert sync.status == SyncStatus.SENT, sync.error_message
    invoice.refresh_from_db()
    return invoice, qbo.bill(sync.qbo_id)


def test_given_a_uk_company_when_an_invoice_with_20_and_5_percent_lines_and_a_discount_is_approved_then_the_bill_carries_vat_per_line_and_our_total(  # noqa: E501
    uk: Qbo, creator: User, approver: User, admin: User, supplier: Supplier
) -> None:
    data = invoice_data(
        supplier,
        line("Paper", "3", "19.99", tax_rate=D("20")),
        line("Children's books", "7", "4.35", tax_rate=D("5")),
        line("Toner", "1", "83.33", tax_rate=D("20"), discount_type="percent", discount_value=D("7.5")),
        discount_type="amount",
        discount_value=D("10.01"),
        code="VAT-1",
    )
    map_suggested(admin, "20", "5")

    invoice, bill = send(uk, creator, approver, data)

    assert bill["GlobalTaxCalculation"] == "TaxExcluded"
    codes = [ln["AccountBasedExpenseLineDetail"]["TaxCodeRef"]["value"] for ln in bill["Line"]]
    names = {o["Id"]: o["Name"] for o in uk.query("SELECT * FROM TaxCode")["TaxCode"]}
    assert [names[c] for c in codes] == ["20.0% S", "5.0% R", "20.0% S"]
    assert money(bill["TxnTaxDetail"]["TotalTax"]) == invoice.tax_total
    assert money(bill["TotalAmt"]) == invoice.total
    assert sum(money(ln["Amount"]) for ln in bill["Line"]) == invoice.total - invoice.tax_total


def test_given_a_uk_company_when_a_line_has_a_rate_that_is_not_mapped_then_the_invoice_is_not_sent_and_says_which_line_and_rate(  # noqa: E501
    uk: Qbo, creator: User, approver: User, admin: User, supplier: Supplier
) -> None:
    map_suggested(admin, "20")
    data = invoice_data(supplier, line("Paper", tax_rate=D("20")), line("Books", tax_rate=D("5")), code="VAT-2")
    draft = document_create(actor=creator, kind="invoice", data=data)

    before = selectors.document_panel(admin, draft)
    assert before is not None and before.preview is not None
    assert any("Line 2 has tax rate 5 %" in w.message and w.stops for w in before.preview.warnings)

    invoice = approve(creator, approver, draft)
    settle()

    message = refused(uk, invoice, "VAT-2")
    assert "Line 2 has tax rate 5 %, which is not mapped to a QuickBooks tax code" in message
    assert "Integrations → Tax codes" in message


def test_given_a_rate_mapped_later_when_retried_then_the_invoice_is_sent(
    uk: Qbo, creator: User, approver: User, admin: User, supplier: Supplier
) -> None:
    data = invoice_data(supplier, line("Paper", "2", "10", tax_rate=D("20")), code="VAT-3")
    invoice = approve(creator, approver, document_create(actor=creator, kind="invoice", data=data))
    settle()
    assert sync_of(invoice).status == SyncStatus.FAILED

    map_suggested(admin, "20")
    from quickbooks.export.services import document_send

    document_send(actor=admin, document=invoice)
    settle()

    sync = sync_of(invoice)
    assert sync.status == SyncStatus.SENT, sync.error_message
    assert money(uk.bill(sync.qbo_id)["TotalAmt"]) == invoice.total == D("24.00")


def test_given_a_code_whose_rate_differs_when_an_admin_maps_it_then_it_is_refused(
    uk: Qbo, creator: User, admin: User, supplier: Supplier
) -> None:
    document_create(actor=creator, kind="invoice", data=invoice_data(supplier, line(tax_rate=D("5")), code="X"))
    row = next(r for r in tax_settings.tax_rate_rows(admin) if r.rate == D("5"))
    standard = next(
        c for c in tax_settings.company_tax_codes(admin.tenant_id).by_option.values() if c.name == "20.0% S"
    )
    assert standard not in row.choices

    from procuresync.errors import ValidationFailed

    with pytest.raises(ValidationFailed) as refused:
        tax_settings.tax_mappings_save(actor=admin, choices=[(str(row.rate), str(standard.option_id))])
    assert "charges 20 % on purchases" in str(refused.value.fields)


def test_given_a_uk_company_when_its_bills_are_reconciled_then_tax_per_line_shows_no_difference(
    uk: Qbo, creator: User, approver: User, admin: User, supplier: Supplier
) -> None:
    map_suggested(admin, "20", "5")
    send(uk, creator, approver, invoice_data(supplier, line("Paper", tax_rate=D("20")), line("Books", tax_rate=D("5"))))

    report = check(uk)

    assert (report.documents_checked, [d.message for d in report.differences]) == (1, [])


def test_given_the_tax_codes_section_when_an_admin_saves_the_suggestions_then_they_are_mapped_and_audited(
    uk: Qbo, admin: User
) -> None:
    client = Client()
    client.force_login(admin)
    page = client.get(reverse("integrations")).content.decode()
    assert 'id="tax-codes"' in page and "20.0% S" in page and "Suggested: not saved yet" in page
    rows = tax_settings.tax_rate_rows(admin)
    form = {
        "rate": [str(r.rate) for r in rows],
        "code": [str(r.selected.option_id) if r.selected else "" for r in rows],
    }

    answer = client.post(reverse("integrations-tax-codes"), form)

    assert answer.status_code == 302
    mapped = {r.label: r.mapped.name for r in tax_settings.tax_rate_rows(admin) if r.mapped}
    assert mapped == {"0": "0.0% Z", "5": "5.0% R", "20": "20.0% S"}
    assert AuditEntry.objects.filter(action=Action.TAX_CODES_MAPPED, company_id=admin.tenant_id).exists()
    assert "Suggested: not saved yet" not in client.get(reverse("integrations")).content.decode()
