"""Helpers for the QuickBooks page tests (test_pages_quickbooks_*.py): answering Intuit's consent
page (the emulator's) and reading a response's text and flashed messages. The fixtures that start
the emulator and connect a company are in conftest.py.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
from django.test import Client

REDIRECT_URI = "http://localhost/integrations/callback/"  # the emulator accepts localhost redirects only


def consent(client: Client, *, decision: str = "connect", company_name: str = "Acme Books") -> str:
    """Press Connect, answer Intuit's (the emulator's) consent page; return the callback path Intuit sends back."""
    response = client.post("/integrations/connect/")
    assert response.status_code == 302
    authorize = urlparse(response["Location"])
    fields = {name: values[0] for name, values in parse_qs(authorize.query).items()}
    answer = httpx.post(
        authorize._replace(query="").geturl(),
        data={**fields, "decision": decision, "realm": "new", "company_name": company_name},
    )
    assert answer.status_code == 302
    back = urlparse(answer.headers["location"])
    assert back.path == "/integrations/callback/"
    return f"{back.path}?{back.query}"


def text(response: Any) -> str:
    return str(response.content.decode())


def flashed(response: Any) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []


def import_lists(client: Client) -> Any:
    """Press "Import lists from QuickBooks" and do what the worker then does (the page tests run no
    worker); returns the answer to the press."""
    from quickbooks.list_imports import list_import_run
    from quickbooks.models import ListImportRun

    response = client.post("/integrations/lists/", follow=True)
    run = ListImportRun.objects.order_by("-pk").first()
    assert run is not None, "the press started no import"
    list_import_run(run.pk)
    return response
