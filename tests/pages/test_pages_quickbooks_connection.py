"""The QuickBooks pages against a live emulator: connect, disconnect, lists and settings, vendors,
and who may open the integrations page.

The emulator runs on a real socket for the whole session; each test creates its own QuickBooks
company through the consent page (``realm=new``), so tests do not see each other's data. The
shared fixtures are in conftest.py, the helpers in quickbooks_pages.py.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest

from accounts.models import User
from procurement.inputs import SupplierData
from procurement.models import CustomField, DocumentKind, ListKind, ListOption, Supplier
from procurement.services import supplier_create
from qbo_emulator.testing import RunningEmulator
from quickbooks.connection import client_for as qbo_client_for
from quickbooks.models import Connection, ConnectionStatus, ListImportRun, VendorLink
from tests.pages.quickbooks_pages import consent, flashed, import_lists, text

# ------------------------------------------------------------------------- connecting


def test_given_no_connection_when_the_admin_opens_integrations_then_it_explains_and_offers_connect(
    client_for, admin: User
) -> None:
    body = text(client_for(admin).get("/integrations/"))
    assert "Not connected" in body
    assert "send approved invoices to QuickBooks as Bills" in body
    assert "Connect to QuickBooks" in body


def test_given_quickbooks_is_not_configured_when_connect_is_pressed_then_the_admin_is_told_why(
    settings: Any, tmp_path: Any, client_for, admin: User
) -> None:
    settings.QBO_CLIENT_ID = ""
    settings.QBO_CREDENTIALS_FILE = str(tmp_path / "missing.json")
    response = client_for(admin).post("/integrations/connect/", follow=True)
    assert "QuickBooks is not configured on this server" in " ".join(flashed(response))
    assert not Connection.objects.filter(company_id=admin.tenant_id, status=ConnectionStatus.CONNECTED).exists()


def test_given_the_admin_consents_when_intuit_sends_them_back_then_the_company_is_connected_and_named(
    qbo: RunningEmulator, client_for, admin: User
) -> None:
    client = client_for(admin)
    callback = consent(client, company_name="Acme Books")
    realm = parse_qs(urlparse(callback).query)["realmId"][0]

    response = client.get(callback, follow=True)

    assert response.redirect_chain[-1][0] == "/integrations/"
    assert "Connected to the QuickBooks company “Acme Books”." in flashed(response)
    body = text(response)
    assert "Connected" in body and "Acme Books" in body and realm in body
    assert "Import lists from QuickBooks" in body and "Disconnect" in body
    connection = Connection.objects.get(company_id=admin.tenant_id)
    assert connection.realm_id == realm
    assert connection.oauth_state == ""  # the state is single use


def test_given_a_callback_with_another_state_when_it_arrives_then_it_is_refused_and_nothing_connects(
    qbo: RunningEmulator, client_for, admin: User
) -> None:
    client = client_for(admin)
    callback = consent(client)
    forged = callback.replace("state=", "state=forged")

    response = client.get(forged, follow=True)

    assert "The QuickBooks sign-in expired or did not start here; press Connect again." in flashed(response)
    assert Connection.objects.get(company_id=admin.tenant_id).status == ConnectionStatus.NOT_CONNECTED


def test_given_the_admin_cancels_on_intuits_page_when_sent_back_then_they_are_told_so(
    qbo: RunningEmulator, client_for, admin: User
) -> None:
    client = client_for(admin)
    callback = consent(client, decision="deny")
    assert "error=access_denied" in callback

    response = client.get(callback, follow=True)

    assert "You cancelled the connection; QuickBooks was not connected." in flashed(response)
    assert "Connect to QuickBooks" in text(response)


def test_given_a_connection_when_the_admin_disconnects_then_it_is_not_connected_and_the_tokens_are_gone(
    connected: Connection, client_for, admin: User
) -> None:
    response = client_for(admin).post("/integrations/disconnect/", follow=True)

    assert any("QuickBooks disconnected" in m for m in flashed(response))
    assert "Connect to QuickBooks" in text(response)
    connected.refresh_from_db()
    assert connected.status == ConnectionStatus.NOT_CONNECTED
    assert connected.access_token == connected.refresh_token == ""


def test_given_quickbooks_refused_the_refresh_when_the_admin_looks_then_needs_reconnect_is_shown_with_reconnect(
    connected: Connection, client_for, admin: User
) -> None:
    Connection.objects.filter(pk=connected.pk).update(
        status=ConnectionStatus.NEEDS_RECONNECT, last_error="QuickBooks refused the sign-in (invalid_grant)."
    )
    body = text(client_for(admin).get("/integrations/"))
    assert "Needs reconnect" in body
    assert "QuickBooks refused the sign-in (invalid_grant)." in body
    assert ">Reconnect</button>" in body


# ------------------------------------------------------------------------- lists and settings


def test_given_a_connection_when_lists_are_imported_then_the_counts_show_and_the_account_selects_fill(
    connected: Connection, client_for, admin: User
) -> None:
    client = client_for(admin)
    started = import_lists(client)  # in the background; the page polls its progress
    assert "Importing the lists" in text(started)
    run = ListImportRun.objects.get(company_id=admin.tenant_id)

    response = client.get("/integrations/")

    assert "Lists imported" in text(response)
    assert "10 accounts, 2 classes, 2 locations" in text(response)
    assert "10 accounts" in text(client.get(f"/integrations/lists/{run.pk}/"))
    form = response.context["settings_form"]
    assert [o.name for o in form.fields["default_ap_account"].queryset] == ["Accounts Payable (A/P)"]
    expense = {o.name for o in form.fields["default_expense_account"].queryset}
    assert {"Office Supplies", "Travel"} <= expense and "Accounts Payable (A/P)" not in expense
    assert "Accounts Payable (A/P)" in text(response)


def test_given_imported_lists_when_the_admin_saves_settings_then_the_connection_keeps_them(
    connected: Connection, client_for, admin: User
) -> None:
    client = client_for(admin)
    import_lists(client)
    ap = ListOption.objects.get(company_id=admin.tenant_id, kind=ListKind.ACCOUNT, name="Accounts Payable (A/P)")
    expense = ListOption.objects.get(company_id=admin.tenant_id, kind=ListKind.ACCOUNT, name="Office Supplies")
    location = CustomField.objects.create(company_id=admin.tenant_id, name="Site")

    response = client.post("/integrations/settings/", {
        "document_kind": DocumentKind.PURCHASE_ORDER, "import_payments": "on",
        "default_ap_account": ap.pk, "default_expense_account": expense.pk, "location_field": location.pk,
    }, follow=True)

    assert "QuickBooks settings saved." in flashed(response)
    connected.refresh_from_db()
    assert connected.document_kind == DocumentKind.PURCHASE_ORDER
    assert connected.auto_send is False and connected.import_payments is True
    assert (connected.default_ap_account, connected.default_expense_account) == (ap, expense)
    assert connected.location_field == location


@pytest.mark.parametrize(("field", "value"), [("document_kind", "credit_note"), ("default_ap_account", "expense")])
def test_given_bad_settings_when_saved_then_they_are_refused_next_to_the_field_and_nothing_changes(
    connected: Connection, client_for, admin: User, field: str, value: str
) -> None:
    client = client_for(admin)
    import_lists(client)
    expense = ListOption.objects.get(company_id=admin.tenant_id, kind=ListKind.ACCOUNT, name="Office Supplies")
    bad = expense.pk if value == "expense" else value  # an expense account is no A/P account
    body = {"document_kind": DocumentKind.INVOICE, "auto_send": "on", field: bad}
    connected.refresh_from_db()
    ap_account_before = connected.default_ap_account_id  # the single A/P account, chosen on import

    response = client.post("/integrations/settings/", body)

    assert response.status_code == 400
    assert response.context["settings_form"].errors[field]
    assert "The settings were not saved" in text(response)
    connected.refresh_from_db()
    assert connected.default_ap_account_id == ap_account_before
    assert connected.document_kind == DocumentKind.INVOICE


# ------------------------------------------------------------------------- vendors


def hicks_hardware(connection: Connection) -> str:
    """The id of a vendor every seeded sandbox company has."""
    found = qbo_client_for(connection).query("SELECT * FROM Vendor WHERE DisplayName = 'Hicks Hardware'")
    return str(found["Vendor"][0]["Id"])

def test_given_an_unlinked_supplier_when_the_admin_names_a_quickbooks_vendor_then_it_is_linked_by_hand(
    connected: Connection, client_for, admin: User, supplier: Supplier
) -> None:
    client = client_for(admin)
    assert "Not linked yet (created in QuickBooks when first needed)" in text(client.get("/integrations/"))
    vendor_id = hicks_hardware(connected)

    response = client.post("/integrations/vendors/", {"supplier": supplier.pk, "vendor_id": vendor_id}, follow=True)

    assert f"{supplier.name} is now linked to the QuickBooks vendor “Hicks Hardware”." in flashed(response)
    link = VendorLink.objects.get(supplier=supplier)
    assert (link.qbo_id, link.how, link.realm_id) == (vendor_id, "by hand", connected.realm_id)
    assert "by hand" in text(response)


def test_given_a_vendor_linked_to_another_supplier_when_mapped_again_then_it_is_refused(
    connected: Connection, client_for, admin: User, creator: User, supplier: Supplier
) -> None:
    other = supplier_create(actor=creator, data=SupplierData(name="Ink Ltd", currency="USD"))
    vendor_id = hicks_hardware(connected)
    client = client_for(admin)
    client.post("/integrations/vendors/", {"supplier": supplier.pk, "vendor_id": vendor_id})
    assert VendorLink.objects.filter(supplier=supplier, qbo_id=vendor_id).exists()

    response = client.post("/integrations/vendors/", {"supplier": other.pk, "vendor_id": vendor_id}, follow=True)

    assert any(f"is already linked to {supplier.name}" in m for m in flashed(response))
    assert not VendorLink.objects.filter(supplier=other).exists()


def test_given_a_vendor_id_quickbooks_does_not_have_when_mapped_then_the_admin_is_told_and_nothing_links(
    connected: Connection, client_for, admin: User, supplier: Supplier
) -> None:
    response = client_for(admin).post("/integrations/vendors/", {"supplier": supplier.pk, "vendor_id": "99999"},
                                      follow=True)
    assert "QuickBooks has no vendor with id 99999; check the id in QuickBooks." in flashed(response)
    assert not VendorLink.objects.filter(supplier=supplier).exists()



# ------------------------------------------------------------------------- who may open integrations

PERSONAS = ["creator", "approver", "payer", "admin", "nobody"]
ADMIN_ONLY_POSTS = ["/integrations/connect/", "/integrations/disconnect/", "/integrations/settings/",
                    "/integrations/lists/", "/integrations/vendors/"]


@pytest.mark.parametrize("persona", PERSONAS)
def test_given_a_persona_when_they_open_integrations_or_press_its_buttons_then_only_an_admin_may(
    request: pytest.FixtureRequest, client_for, persona: str
) -> None:
    client = client_for(request.getfixturevalue(persona))
    expected = 200 if persona == "admin" else 403
    assert client.get("/integrations/").status_code == expected
    assert client.get("/integrations/callback/?error=access_denied").status_code == (302 if expected == 200 else 403)
    if persona != "admin":
        for url in ADMIN_ONLY_POSTS:
            response = client.post(url)
            assert response.status_code == 403, url
            assert "You can't open this page" in text(response)
