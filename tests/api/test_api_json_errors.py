"""Every error under /api/ is JSON in the one error shape, whatever produced it (issue 10)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from rest_framework.test import APIClient

from accounts.models import User
from procurement.models import Supplier
from tests.api.conftest import assert_error


def test_given_a_session_without_a_csrf_token_when_posting_to_an_unknown_api_url_then_404_json(
    creator: User,
) -> None:
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(creator)

    response = browser.patch("/api/v1/invoices/null,null/", "{}", content_type="application/json")

    assert response["Content-Type"].startswith("application/json")
    assert_error(response, 404, code="not_found")


def test_given_a_session_without_a_csrf_token_when_changing_a_supplier_then_403_json(
    creator: User, supplier: Supplier
) -> None:
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(creator)

    response = browser.patch(f"/api/v1/suppliers/{supplier.pk}/", {"name": "X"}, content_type="application/json")

    assert_error(response, 403)
    assert "CSRF" in response.json()["error"]["message"]


def test_given_a_body_over_the_size_limit_when_posted_then_413_json_and_nothing_read(
    as_user: Any, creator: User, settings: Any
) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000

    response = as_user(creator).post("/api/v1/suppliers/", {"name": "x" * 2000, "currency": "USD"}, format="json")

    assert_error(response, 413, code="too_large")
    assert not Supplier.objects.filter(name="x" * 2000).exists()


def test_given_a_body_that_is_not_json_when_posted_then_415_json(as_user: Any, creator: User) -> None:
    response = as_user(creator).post("/api/v1/suppliers/", "name=Ink&currency=USD", content_type="text/plain")

    assert_error(response, 415)


def test_given_a_method_the_schema_view_does_not_have_when_called_then_405_json(creator: User) -> None:
    client = APIClient()
    client.force_authenticate(creator)

    response = client.delete("/api/v1/suppliers/")

    assert_error(response, 405)
    assert "GET" in response["Allow"]


@pytest.mark.parametrize("path", ["/api/schema/", "/api/v1/me"])
def test_given_an_unexpected_error_in_a_view_when_called_then_500_json_without_details(
    path: str, creator: User, monkeypatch: Any
) -> None:
    from drf_spectacular.views import SpectacularAPIView

    from accounts.api import MeView

    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(SpectacularAPIView, "get", broken)
    monkeypatch.setattr(MeView, "get", broken)
    client = APIClient(raise_request_exception=False)
    client.force_authenticate(creator)

    response = client.get(path)

    assert_error(response, 500, code="server_error")
    assert "secret" not in response.content.decode()


def test_given_a_bad_content_length_when_posted_then_400_json(creator: User) -> None:
    client = APIClient()
    client.force_authenticate(creator)

    response = client.generic("POST", "/api/v1/suppliers/", "{}", content_type="application/json", CONTENT_LENGTH="x")

    assert_error(response, 400)
