"""API test helpers: an authenticated client per persona, the error-shape check, a DB snapshot."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from rest_framework.test import APIClient

from accounts.models import User
from payments.models import Payment
from procurement.models import CustomFieldValue, Document, DocumentEvent, DocumentLine, Supplier


def client_for(user: User | None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


@pytest.fixture
def as_user() -> Any:
    """``as_user(creator).post(...)``: an API client acting as that persona."""
    return client_for


def assert_error(response: Any, status: int, field: str | None = None, code: str | None = None) -> dict[str, Any]:
    """The response is the API's one error shape, with ``status`` and (if given) ``field`` named."""
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error"}, body
    error = body["error"]
    assert set(error) == {"code", "message", "fields"}, error
    assert error["message"]
    if field is not None:
        assert field in error["fields"], error
        assert all(isinstance(message, str) and message for message in error["fields"][field])
    if code is not None:
        assert error["code"] == code, error
    return error


def db_snapshot() -> dict[str, list[tuple[Any, ...]]]:
    """Everything a refused request must leave as it was."""
    return {
        "suppliers": list(Supplier.objects.order_by("pk").values_list("pk", "name", "currency", "is_active")),
        "documents": list(
            Document.objects.order_by("pk").values_list(
                "pk", "status", "total", "notes", "supplier_unique_code", "revision"
            )
        ),
        "lines": list(
            DocumentLine.objects.order_by("pk").values_list("pk", "quantity", "unit_price", "discount_value")
        ),
        "custom_values": list(CustomFieldValue.objects.order_by("pk").values_list("pk", "value")),
        "events": list(DocumentEvent.objects.order_by("pk").values_list("pk")),
        "payments": list(Payment.objects.order_by("pk").values_list("pk", "status", "amount")),
    }


@pytest.fixture
def unchanged() -> Any:
    """``with unchanged(): ...`` fails if the block changed any domain row."""

    @contextmanager
    def check() -> Iterator[None]:
        before = db_snapshot()
        yield
        assert db_snapshot() == before

    return check


def invoice_body(supplier: Supplier, /, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "supplier": supplier.pk,
        "issue_date": "2026-11-02",
        "due_date": "2026-12-02",
        "supplier_unique_code": "SUP-2001",
        "lines": [{"description": "A4 paper", "quantity": "10", "unit_price": "5.00"}],
    }
    body.update(overrides)
    return body
