"""User Management, Suppliers and Integrations pages."""

from __future__ import annotations

from accounts.models import User
from procurement.models import Supplier


def test_given_an_admin_when_they_tick_a_role_then_it_is_saved_and_the_row_comes_back(
    client_for, admin: User, approver: User
) -> None:
    response = client_for(admin).post(
        f"/users/{approver.pk}/roles/", {"roles": ["Approve", "Payment"]}, HTTP_HX_REQUEST="true"
    )
    approver.refresh_from_db()
    assert approver.role_payment and approver.role_approve
    text = response.content.decode()
    assert text.strip().startswith(f'<tr id="user-{approver.pk}"') and "Saved" in text


def test_given_an_admin_when_they_untick_their_own_admin_role_then_the_row_says_no(
    client_for, admin: User
) -> None:
    response = client_for(admin).post(f"/users/{admin.pk}/roles/", {"roles": ["Create"]}, HTTP_HX_REQUEST="true")
    admin.refresh_from_db()
    assert admin.role_admin and not admin.role_create
    assert "You cannot remove your own Admin role" in response.content.decode()


def test_given_an_admin_when_they_add_and_deactivate_a_user_then_the_list_shows_it(
    client_for, admin: User
) -> None:
    client = client_for(admin)
    response = client.post(
        "/users/new/",
        {"username": "dana", "first_name": "Dana", "email": "dana@acme.example", "password": "a-long-password",
         "roles": ["Create", "Approve"]},
        follow=True,
    )
    dana = User.objects.get(username="dana")
    assert dana.company_id == admin.company_id and dana.role_create and dana.role_approve
    assert "User dana added." in response.content.decode()
    response = client.post(f"/users/{dana.pk}/active/", {"active": "0"}, follow=True)
    dana.refresh_from_db()
    assert not dana.is_active
    assert "Deactivated" in response.content.decode()


def test_given_a_taken_username_when_adding_a_user_then_the_field_says_so(client_for, admin, creator) -> None:
    response = client_for(admin).post("/users/new/", {"username": "creator", "password": "a-long-password"})
    assert "is taken" in response.context["form"].errors["username"][0]


def test_given_the_users_page_then_it_lists_only_our_company(client_for, admin: User, outsider: User) -> None:
    page = client_for(admin).get("/users/").content.decode()
    assert "admin" in page and "outsider" not in page


def test_given_a_creator_when_they_add_a_supplier_twice_then_the_name_field_says_it_exists(
    client_for, creator: User
) -> None:
    client = client_for(creator)
    body = {"name": "Ink Ltd", "currency": "usd", "email": "", "tax_id": "", "address": "", "is_active": "on"}
    response = client.post("/suppliers/new/", body, follow=True)
    assert Supplier.objects.get(name="Ink Ltd").currency == "USD"
    assert "Supplier Ink Ltd added." in response.content.decode()
    response = client.post("/suppliers/new/", body)
    assert response.context["form"].errors["name"] == ["A supplier named 'Ink Ltd' already exists."]


def test_given_a_supplier_when_deactivated_then_the_inactive_tab_shows_it(client_for, admin, supplier) -> None:
    client = client_for(admin)
    body = {"name": supplier.name, "currency": "USD", "email": "", "tax_id": "", "address": ""}
    client.post(f"/suppliers/{supplier.pk}/edit/", body)
    supplier.refresh_from_db()
    assert not supplier.is_active
    assert supplier.name in client.get("/suppliers/?show=inactive").content.decode()
    assert supplier.name not in client.get("/suppliers/?show=active").content.decode()


def test_given_an_admin_then_integrations_says_quickbooks_is_not_connected(client_for, admin: User) -> None:
    assert "QuickBooks is not connected yet" in client_for(admin).get("/integrations/").content.decode()
