"""Who may open which page: one table of persona × page → status, and other companies' ids → 404."""

from __future__ import annotations

import pytest
from django.test import Client

from accounts.models import User
from procurement import workflow
from procurement.models import Document, DocumentKind, Supplier
from procurement.services import document_create, document_transition
from tests.conftest import invoice_data

PERSONAS = ["creator", "approver", "payer", "admin", "nobody"]
OK, DENIED = 200, 403

# page -> the status each persona gets (in PERSONAS order). "{invoice}" etc. are filled in below.
GET_MATRIX: dict[str, tuple[int, int, int, int, int]] = {
    #                                   creator approver payer  admin  nobody
    "/invoices/":                      (OK,     OK,      OK,    OK,    OK),
    "/invoices/new/":                  (OK,     DENIED,  DENIED, DENIED, DENIED),
    "/invoices/{invoice}/":            (OK,     OK,      OK,    OK,    OK),
    "/invoices/{invoice}/edit/":       (OK,     DENIED,  DENIED, DENIED, DENIED),
    "/purchase-orders/":               (OK,     OK,      OK,    OK,    OK),
    "/purchase-orders/new/":           (OK,     DENIED,  DENIED, DENIED, DENIED),
    "/purchase-orders/{po}/":          (OK,     OK,      OK,    OK,    OK),
    "/suppliers/":                     (OK,     OK,      OK,    OK,    OK),
    "/suppliers/new/":                 (OK,     DENIED,  DENIED, OK,    DENIED),
    "/suppliers/{supplier}/edit/":     (OK,     DENIED,  DENIED, OK,    DENIED),
    "/payments/":                      (DENIED, DENIED,  OK,    DENIED, DENIED),
    "/users/":                         (DENIED, DENIED,  DENIED, OK,    DENIED),
    "/users/new/":                     (DENIED, DENIED,  DENIED, OK,    DENIED),
    "/integrations/":                  (DENIED, DENIED,  DENIED, OK,    DENIED),
    "/integrations/reconciliation/":   (DENIED, DENIED,  DENIED, OK,    DENIED),
}

FOUND = 302  # an allowed action redirects back to the document
POST_MATRIX: dict[str, tuple[int, int, int, int, int]] = {
    #                                   creator approver payer  admin  nobody
    "/invoices/{pending}/approve/":    (DENIED, FOUND,   DENIED, DENIED, DENIED),
    "/invoices/{pending}/reject/":     (DENIED, FOUND,   DENIED, DENIED, DENIED),
    "/invoices/{pending}/cancel/":     (FOUND,  DENIED,  DENIED, FOUND, DENIED),
    "/invoices/{invoice}/submit/":     (FOUND,  DENIED,  DENIED, DENIED, DENIED),
    "/payments/record/{pending}/":     (DENIED, DENIED,  400,   DENIED, DENIED),
}


@pytest.fixture
def ids(draft_invoice: Document, draft_po: Document, supplier: Supplier, pending_other: Document) -> dict[str, int]:
    return {"invoice": draft_invoice.pk, "po": draft_po.pk, "supplier": supplier.pk, "pending": pending_other.pk}


@pytest.fixture
def pending_other(creator: User, supplier: Supplier) -> Document:
    document = document_create(actor=creator, kind=DocumentKind.INVOICE, data=invoice_data(supplier, code="SUP-2"))
    return document_transition(actor=creator, document=document, action=workflow.DocumentAction.SUBMIT)


def _cases(matrix: dict[str, tuple[int, ...]]) -> list[tuple[str, str, int]]:
    return [
        (url, persona, status)
        for url, row in matrix.items()
        for persona, status in zip(PERSONAS, row, strict=True)
    ]


@pytest.mark.parametrize(("url", "persona", "expected"), _cases(GET_MATRIX))
def test_given_a_persona_when_they_open_a_page_then_their_roles_decide(
    request: pytest.FixtureRequest, client_for, ids: dict[str, int], url: str, persona: str, expected: int
) -> None:
    user = request.getfixturevalue(persona)
    response = client_for(user).get(url.format(**ids))
    assert response.status_code == expected
    if expected == DENIED:
        assert "You can't open this page" in response.content.decode()


@pytest.mark.parametrize(("url", "persona", "expected"), _cases(POST_MATRIX))
def test_given_a_persona_when_they_press_a_button_then_their_roles_decide(
    request: pytest.FixtureRequest, client_for, ids: dict[str, int], url: str, persona: str, expected: int
) -> None:
    user = request.getfixturevalue(persona)
    response = client_for(user).post(url.format(**ids), {"comment": "Wrong amount", "amount": "1.00",
                                                          "paid_on": "2026-11-20", "method": "cheque"})
    assert response.status_code == expected


@pytest.mark.parametrize(
    "url",
    ["/invoices/{invoice}/", "/invoices/{invoice}/edit/", "/purchase-orders/{po}/", "/suppliers/{supplier}/edit/"],
)
def test_given_an_outsider_when_they_open_our_ids_then_not_found(client_for, outsider: User, ids, url: str) -> None:
    assert client_for(outsider).get(url.format(**ids)).status_code == 404


@pytest.mark.parametrize(
    "url", ["/invoices/{pending}/approve/", "/payments/record/{pending}/", "/users/{user}/roles/"]
)
def test_given_an_outsider_when_they_post_to_our_ids_then_not_found_and_nothing_changes(
    client_for, outsider: User, ids, creator: User, url: str
) -> None:
    response = client_for(outsider).post(url.format(user=creator.pk, **ids), {"amount": "1.00", "paid_on": "2026-11-20",
                                                                              "method": "cheque", "roles": ["Admin"]})
    assert response.status_code == 404
    creator.refresh_from_db()
    assert not creator.role_admin
    assert Document.objects.get(pk=ids["pending"]).status == "pending"


def test_given_an_anonymous_visitor_when_they_open_a_page_then_they_are_sent_to_log_in(client: Client, db) -> None:
    response = client.get("/invoices/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_given_the_home_page_when_a_member_opens_it_then_it_goes_to_invoices(client_for, approver: User) -> None:
    response = client_for(approver).get("/")
    assert response.status_code == 302
    assert response["Location"] == "/invoices/"


def test_given_a_nav_bar_then_it_shows_only_what_the_roles_allow(client_for, payer: User, admin: User) -> None:
    payer_page = client_for(payer).get("/invoices/").content.decode()
    assert 'href="/payments/"' in payer_page
    assert 'href="/users/"' not in payer_page
    assert "Acme" in payer_page and "Payer" in payer_page
    admin_page = client_for(admin).get("/invoices/").content.decode()
    assert 'href="/users/"' in admin_page and 'href="/integrations/"' in admin_page
    assert 'href="/payments/"' not in admin_page
