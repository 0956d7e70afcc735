"""Getting in (token, session, nothing) and the published OpenAPI description of the API."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from django.core.management import call_command
from rest_framework.test import APIClient

from accounts.models import User
from procurement.models import Supplier
from tests.api.conftest import assert_error
from tests.conftest import PASSWORD


def test_given_a_username_and_password_when_a_token_is_requested_then_it_authenticates_later_calls(
    creator: User,
) -> None:
    client = APIClient()

    issued = client.post("/api/v1/auth/token", {"username": "creator", "password": PASSWORD}, format="json")
    client.credentials(HTTP_AUTHORIZATION=f"Token {issued.json()['token']}")
    me = client.get("/api/v1/me")
    created = client.post("/api/v1/suppliers/", {"name": "Ink Ltd", "currency": "USD"}, format="json")

    assert issued.status_code == 200
    assert me.status_code == 200 and me.json()["user"]["username"] == "creator"
    assert created.status_code == 201


def test_given_a_wrong_password_when_a_token_is_requested_then_401_in_the_error_shape(creator: User) -> None:
    response = APIClient().post("/api/v1/auth/token", {"username": "creator", "password": "nope"}, format="json")

    assert_error(response, 401, code="invalid_credentials")
    assert "token" not in response.json()


def test_given_no_credentials_when_calling_the_api_then_refused_in_the_error_shape(supplier: Supplier) -> None:
    client = APIClient()

    for response in (client.get("/api/v1/suppliers/"), client.post("/api/v1/suppliers/", {}, format="json")):
        assert_error(response, 401, code="not_authenticated")
        assert response["WWW-Authenticate"] == "Token"
    assert Supplier.objects.count() == 1


def test_given_a_bad_token_when_calling_the_api_then_refused_in_the_error_shape(creator: User) -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")

    response = client.get("/api/v1/me")

    assert response.status_code == 401
    assert_error(response, response.status_code, code="authentication_failed")


def test_given_a_logged_in_browser_session_when_calling_the_api_then_it_works_but_writes_need_csrf(
    creator: User,
) -> None:
    client = APIClient(enforce_csrf_checks=True)
    client.get("/login/")
    client.post(
        "/login/",
        {"username": "creator", "password": PASSWORD, "csrfmiddlewaretoken": client.cookies["csrftoken"].value},
    )

    me = client.get("/api/v1/me")
    without_csrf = client.post("/api/v1/suppliers/", {"name": "Ink Ltd", "currency": "USD"}, format="json")

    assert me.status_code == 200
    assert_error(without_csrf, 403)
    assert not Supplier.objects.filter(name="Ink Ltd").exists()


def test_given_the_api_when_its_schema_is_generated_then_it_validates_without_warnings(tmp_path: Path) -> None:
    target = tmp_path / "schema.yml"

    # --fail-on-warn makes any warning or error raise here.
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target))

    schema = yaml.safe_load(target.read_text())
    assert "/api/v1/invoices/{id}/approve" in schema["paths"]
    assert "/api/v1/payments/{id}/cancel" in schema["paths"]
    assert schema["components"]["schemas"]["ErrorOut"]


def test_given_a_user_when_fetching_the_schema_and_docs_then_both_are_served(as_user: Any, creator: User) -> None:
    schema = as_user(creator).get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    docs = as_user(creator).get("/api/docs/")

    assert schema.status_code == 200
    assert schema.json()["openapi"].startswith("3.")
    assert docs.status_code == 200 and b"swagger" in docs.content.lower()


def test_given_an_unknown_or_malformed_api_url_when_called_then_404_in_the_error_shape(
    as_user: Any, creator: User
) -> None:
    for url in ("/api/v1/invoices/abc/", "/api/v1/nothing-here", "/api/v1/invoices/1/approve/"):
        assert_error(as_user(creator).post(url, {}, format="json"), 404, code="not_found")


def test_given_many_password_guesses_then_the_token_endpoint_slows_them_down(creator: User, settings: Any) -> None:
    settings.AXES_FAILURE_LIMIT = 100  # the throttle on its own, before any lockout
    client = APIClient()
    answers = [
        client.post("/api/v1/auth/token", {"username": creator.username, "password": "guess"}, format="json")
        for _ in range(11)
    ]

    assert [r.status_code for r in answers[:10]] == [401] * 10
    assert_error(answers[10], 429, code="throttled")
