"""Suppliers through /api/v1/suppliers/ and the caller's own profile at /api/v1/me."""

from __future__ import annotations

from typing import Any

from accounts.models import User
from procurement.models import Supplier


def test_given_a_creator_when_she_creates_a_supplier_then_it_is_listed_and_retrievable(
    as_user: Any, creator: User
) -> None:
    client = as_user(creator)

    created = client.post(
        "/api/v1/suppliers/", {"name": "Ink Ltd", "currency": "eur", "email": "a@ink.example"}, format="json"
    )
    listed = client.get("/api/v1/suppliers/", {"search": "ink"}).json()
    shown = client.get(f"/api/v1/suppliers/{created.json()['id']}/").json()

    assert created.status_code == 201, created.content
    assert shown["currency"] == "EUR" and shown["is_active"] is True
    assert [row["name"] for row in listed["results"]] == ["Ink Ltd"]


def test_given_a_supplier_when_patched_inactive_then_only_that_changes(
    as_user: Any, creator: User, supplier: Supplier
) -> None:
    response = as_user(creator).patch(f"/api/v1/suppliers/{supplier.pk}/", {"is_active": False}, format="json")

    assert response.status_code == 200, response.content
    supplier.refresh_from_db()
    assert supplier.is_active is False and supplier.email == "ap@paper.example"
    assert as_user(creator).get("/api/v1/suppliers/", {"active": "true"}).json()["count"] == 0


def test_given_a_supplier_when_put_with_a_full_body_then_it_is_replaced(
    as_user: Any, admin: User, supplier: Supplier
) -> None:
    body = {"name": "Paper & Co", "currency": "USD", "tax_id": "DE123"}

    response = as_user(admin).put(f"/api/v1/suppliers/{supplier.pk}/", body, format="json")

    assert response.status_code == 200, response.content
    assert response.json()["name"] == "Paper & Co" and response.json()["email"] == ""


def test_given_a_payer_when_asking_who_am_i_then_user_company_and_roles_come_back(as_user: Any, payer: User) -> None:
    response = as_user(payer).get("/api/v1/me")

    assert response.status_code == 200
    assert response.json()["user"]["username"] == "payer"
    assert response.json()["company"]["name"] == "Acme"
    assert response.json()["roles"] == ["Payment"]
