"""Linking a supplier by choosing a QuickBooks vendor: the vendors kept at each list import, the
search under each supplier's row (htmx, and the same form without JavaScript), and the Link button.

Most tests keep vendors in the database as a list import would and never reach QuickBooks (the
client is replaced by one that fails the test); the last ones import from the emulator.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from accounts.models import Company, User
from procurement.inputs import SupplierData
from procurement.models import Supplier
from procurement.services import supplier_create
from quickbooks import services
from quickbooks.export.vendors import vendors_remember_all
from quickbooks.models import Connection, ConnectionStatus, ImportedVendor, VendorLink
from quickbooks.services import lists_import
from tests.conftest import invoice_data
from tests.quickbooks.conftest import Qbo, settle, sync_of

REALM = "9341452700000"
CHOICES = "/integrations/vendors/choices/"
HTMX = {"HX-Request": "true"}


def _no_quickbooks(*_args: Any, **_kwargs: Any) -> Any:
    raise AssertionError("QuickBooks was called; the imported vendor should have been enough")


@pytest.fixture
def connection(company: Company, monkeypatch: pytest.MonkeyPatch) -> Connection:
    monkeypatch.setattr(services, "client_for", _no_quickbooks)
    return Connection.objects.create(
        company=company, status=ConnectionStatus.CONNECTED, realm_id=REALM, home_currency="USD"
    )


def vendor(connection: Connection, qbo_id: str, name: str, email: str = "", currency: str = "USD", **kw: Any) -> Any:
    return ImportedVendor.objects.create(
        company_id=connection.company_id,
        realm_id=connection.realm_id,
        qbo_id=qbo_id,
        name=name,
        email=email,
        currency=currency,
        **kw,
    )


@pytest.fixture
def vendors(connection: Connection) -> dict[str, ImportedVendor]:
    """The vendors the last list import kept."""
    return {
        "bob": vendor(connection, "56", "Bob's Burger Joint", "ap@bobs.example", "USD"),
        "hicks": vendor(connection, "41", "Hicks Hardware", "billing@hicks.example", "USD"),
        "bessie": vendor(connection, "30", "Books by Bessie", "bessie@books.example", "EUR"),
        "old": vendor(connection, "12", "Bobbin Mills", "old@bobbin.example", "USD", active=False),
    }


def logged_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def search(client: Client, supplier: Supplier, q: str, *, htmx: bool = True) -> str:
    response = client.get(CHOICES, {"supplier": str(supplier.pk), "q": q}, headers=HTMX if htmx else {})
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def test_given_imported_vendors_when_an_admin_searches_bob_then_bobs_vendor_appears_with_email_and_currency(
    admin: User, supplier: Supplier, vendors: dict[str, ImportedVendor]
) -> None:
    html = search(logged_in(admin), supplier, "bob")

    assert "Bob&#x27;s Burger Joint" in html
    assert "ap@bobs.example" in html and "USD" in html
    assert 'name="vendor_id" value="56"' in html
    assert "Hicks Hardware" not in html and "Books by Bessie" not in html
    assert "Bobbin Mills" not in html  # inactive in QuickBooks: not offered
    assert "<html" not in html  # htmx gets the rows only


def test_given_imported_vendors_when_searching_an_email_in_another_case_then_the_vendor_is_found(
    admin: User, supplier: Supplier, vendors: dict[str, ImportedVendor]
) -> None:
    html = search(logged_in(admin), supplier, "BILLING@HICKS")

    assert "Hicks Hardware" in html and "Bob&#x27;s Burger Joint" not in html


def test_given_a_vendor_in_another_currency_when_offered_then_it_is_flagged(
    admin: User, supplier: Supplier, vendors: dict[str, ImportedVendor]
) -> None:
    html = search(logged_in(admin), supplier, "bessie")

    assert "Books by Bessie" in html and "EUR" in html
    assert "Not USD" in html  # the supplier's documents are in USD
    assert "Not USD" not in search(logged_in(admin), supplier, "bob")


def test_given_a_choice_when_the_admin_presses_link_then_the_supplier_is_linked_without_asking_quickbooks(
    admin: User, supplier: Supplier, vendors: dict[str, ImportedVendor], connection: Connection
) -> None:
    client = logged_in(admin)
    assert 'value="56"' in search(client, supplier, "bob")

    response = client.post("/integrations/vendors/", {"supplier": supplier.pk, "vendor_id": "56"}, follow=True)

    assert response.redirect_chain[-1][0] == "/integrations/#vendors"
    messages = [str(m) for m in response.context["messages"]]
    assert f"{supplier.name} is now linked to the QuickBooks vendor “Bob's Burger Joint”." in messages
    link = VendorLink.objects.get(supplier=supplier)
    assert (link.qbo_id, link.qbo_name, link.how, link.currency, link.realm_id) == (
        "56",
        "Bob's Burger Joint",
        "by hand",
        "USD",
        REALM,
    )
    assert "Linked" in search(client, supplier, "bob")  # shown as this supplier's, no Link button


def test_given_a_vendor_linked_to_another_supplier_when_searching_then_it_is_not_offered_and_cannot_be_linked(
    admin: User, creator: User, supplier: Supplier, vendors: dict[str, ImportedVendor]
) -> None:
    other = supplier_create(actor=creator, data=SupplierData(name="Ink Ltd", currency="USD"))
    services.vendor_map(actor=admin, supplier_id=other.pk, vendor_id="56")
    client = logged_in(admin)

    html = search(client, supplier, "bob")
    response = client.post("/integrations/vendors/", {"supplier": supplier.pk, "vendor_id": "56"}, follow=True)

    assert "Bob&#x27;s Burger Joint" not in html
    assert "No QuickBooks vendor matches “bob”" in html
    assert any("is already linked to Ink Ltd" in str(m) for m in response.context["messages"])
    assert not VendorLink.objects.filter(supplier=supplier).exists()
    assert "Bob&#x27;s Burger Joint" in search(client, other, "bob")  # still offered to its own supplier


def test_given_an_inactive_vendor_when_its_id_is_posted_then_it_is_refused(
    admin: User, supplier: Supplier, vendors: dict[str, ImportedVendor]
) -> None:
    response = logged_in(admin).post(
        "/integrations/vendors/", {"supplier": supplier.pk, "vendor_id": "12"}, follow=True
    )

    assert any("“Bobbin Mills” is inactive in QuickBooks" in str(m) for m in response.context["messages"])
    assert not VendorLink.objects.filter(supplier=supplier).exists()


@pytest.mark.parametrize("persona", ["creator", "approver", "payer", "nobody"])
def test_given_a_user_who_is_not_an_admin_when_searching_vendors_then_403(
    persona: str, request: pytest.FixtureRequest, supplier: Supplier, vendors: dict[str, ImportedVendor]
) -> None:
    user = request.getfixturevalue(persona)

    response = logged_in(user).get(CHOICES, {"supplier": str(supplier.pk), "q": "bob"}, headers=HTMX)

    assert response.status_code == 403
    assert "Bob" not in response.content.decode()


def test_given_another_companys_supplier_when_searching_for_it_then_404(
    outsider: User, supplier: Supplier, vendors: dict[str, ImportedVendor]
) -> None:
    response = logged_in(outsider).get(CHOICES, {"supplier": str(supplier.pk), "q": "bob"})

    assert response.status_code == 404


def test_given_no_javascript_when_the_search_form_is_sent_then_a_page_shows_the_choices_and_its_own_search_box(
    admin: User, supplier: Supplier, vendors: dict[str, ImportedVendor]
) -> None:
    client = logged_in(admin)
    integrations = client.get("/integrations/").content.decode()
    assert f'action="{CHOICES}"' in integrations and f'name="supplier" value="{supplier.pk}"' in integrations

    html = search(client, supplier, "bob", htmx=False)

    assert "<html" in html and f"QuickBooks vendor for {supplier.name}" in html
    assert 'name="q" value="bob"' in html  # the box keeps what was typed
    assert "Bob&#x27;s Burger Joint" in html and "ap@bobs.example" in html
    assert 'action="/integrations/vendors/"' in html and 'name="vendor_id" value="56"' in html


def test_given_no_supplier_when_the_choices_are_opened_then_the_admin_is_sent_to_the_vendor_rows(
    admin: User, vendors: dict[str, ImportedVendor]
) -> None:
    response = logged_in(admin).get(CHOICES, {"supplier": "x1", "q": "bob"})

    assert response.status_code == 302 and response["Location"] == "/integrations/#vendors"


def test_given_many_vendors_when_nothing_is_typed_then_twenty_are_offered_and_the_admin_is_told_to_type_more(
    admin: User, supplier: Supplier, connection: Connection
) -> None:
    for number in range(25):
        vendor(connection, str(100 + number), f"Vendor {number:02d}")

    html = search(logged_in(admin), supplier, "")

    assert html.count('name="vendor_id"') == 20
    assert "Vendor 00" in html and "Vendor 19" in html and "Vendor 20" not in html
    assert "More vendors match" in html


def test_given_lists_never_imported_when_searching_then_the_admin_is_told_to_import_them(
    admin: User, supplier: Supplier, connection: Connection
) -> None:
    html = search(logged_in(admin), supplier, "bob")

    assert "import the lists from QuickBooks first" in html


def test_given_a_vendor_quickbooks_no_longer_has_when_vendors_are_read_again_then_it_is_forgotten(
    connection: Connection, vendors: dict[str, ImportedVendor]
) -> None:
    # Hicks merged into Bob's in QuickBooks; Bessie made inactive; a new vendor added.
    vendors_remember_all(
        connection=connection,
        vendors=[
            {"Id": "56", "DisplayName": "Bob's Burger Joint", "PrimaryEmailAddr": {"Address": "new@bobs.example"}},
            {"Id": "30", "DisplayName": "Books by Bessie", "Active": False, "CurrencyRef": {"value": "EUR"}},
            {"Id": "12", "DisplayName": "Bobbin Mills", "Active": False},
            {"Id": "77", "DisplayName": "Cool Cars Parts", "CurrencyRef": {"value": "usd"}},
        ],
    )

    kept = {v.qbo_id: (v.name, v.email, v.currency, v.active) for v in ImportedVendor.objects.all()}
    assert kept == {
        "56": ("Bob's Burger Joint", "new@bobs.example", "", True),
        "30": ("Books by Bessie", "", "EUR", False),
        "12": ("Bobbin Mills", "", "", False),
        "77": ("Cool Cars Parts", "", "USD", True),
    }


# ------------------------------------------------------------------------- from the emulator


def test_given_vendors_in_quickbooks_when_lists_are_imported_then_they_are_kept_with_email_currency_and_state(
    qbo: Qbo, admin: User
) -> None:
    made = qbo.api(
        "POST", "vendor", json={"DisplayName": "Bobcat Rentals", "PrimaryEmailAddr": {"Address": "a@bobcat.example"}}
    )
    gone = qbo.api("POST", "vendor", json={"DisplayName": "Closed Shop"})["Vendor"]
    lists_import(actor=admin)
    assert ImportedVendor.objects.get(qbo_id=gone["Id"]).active
    qbo.api("POST", "vendor", json={"Id": gone["Id"], "SyncToken": gone["SyncToken"], "sparse": True, "Active": False})

    lists_import(actor=admin)

    kept = {v.name: v for v in ImportedVendor.objects.filter(company_id=admin.tenant_id, realm_id=qbo.realm_id)}
    assert {"Bob's Burger Joint", "Hicks Hardware", "Bobcat Rentals", "Closed Shop"} <= set(kept)
    bobcat = kept["Bobcat Rentals"]
    assert (bobcat.qbo_id, bobcat.email, bobcat.currency, bobcat.active) == (
        made["Vendor"]["Id"],
        "a@bobcat.example",
        "USD",
        True,
    )
    assert not kept["Closed Shop"].active


def test_given_a_supplier_quickbooks_does_not_know_when_its_invoice_is_sent_then_the_vendor_created_is_kept(
    qbo: Qbo, creator: User, approver: User
) -> None:
    from procurement import workflow
    from procurement.services import document_create, document_transition

    newcomer = supplier_create(actor=creator, data=SupplierData(name="Zed Paper Mills", currency="USD"))
    assert not ImportedVendor.objects.filter(name="Zed Paper Mills").exists()
    invoice = document_create(actor=creator, kind="invoice", data=invoice_data(newcomer, code="ZED-1"))
    document_transition(actor=creator, document=invoice, action=workflow.DocumentAction.SUBMIT)
    document_transition(actor=approver, document=invoice, action=workflow.DocumentAction.APPROVE)
    settle()

    assert sync_of(invoice).qbo_id, sync_of(invoice).error_message
    link = VendorLink.objects.get(supplier=newcomer)
    kept = ImportedVendor.objects.get(company_id=creator.tenant_id, realm_id=qbo.realm_id, qbo_id=link.qbo_id)
    assert (kept.name, kept.active) == ("Zed Paper Mills", True)
