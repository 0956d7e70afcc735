"""Integrations → Setup guide (Admin): what to register at Intuit, what to set here, and "Check setup".

The URLs to paste into Intuit's developer portal are computed from the request (QBO_REDIRECT_URI
wins when set, as in ``views._redirect_uri``). The checks themselves are ``quickbooks.setup_check``,
shared with ``manage.py qbo_check``; nothing is stored, so the POST simply renders their lines.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_POST

from accounts.roles import Permission
from procuresync.http import AuthenticatedHttpRequest
from procuresync.web import page
from quickbooks import setup_check, setup_facts
from quickbooks.config import qbo_config
from quickbooks.oauth import SCOPE


def _configuration() -> list[tuple[str, str, str]]:
    """(variable, what this server uses now, what a real company needs). Never the secrets."""
    config = qbo_config()
    production = setup_facts.INTUIT_PRODUCTION
    keys = "Production → Keys & credentials in Intuit's developer portal"

    def is_set(value: str) -> str:
        return "set" if value else "not set"

    return [
        (
            "QBO_CLIENT_ID",
            setup_facts.masked(config.client_id) if config.client_id else "not set",
            f"Client ID ({keys})",
        ),
        ("QBO_CLIENT_SECRET", is_set(config.client_secret), f"Client Secret ({keys}); never shown here"),
        ("QBO_WEBHOOK_VERIFIER_TOKEN", is_set(config.verifier_token), "Verifier Token (Production → Webhooks)"),
        ("QBO_API_BASE_URL", config.api_base_url, production["QBO_API_BASE_URL"]),
        ("QBO_AUTH_URL", config.auth_url, production["QBO_AUTH_URL"]),
        ("QBO_TOKEN_URL", config.token_url, production["QBO_TOKEN_URL"]),
        ("QBO_REVOKE_URL", config.revoke_url, production["QBO_REVOKE_URL"]),
        ("QBO_DISCOVERY_URL", setup_facts.discovery_url(config), f"{production['QBO_DISCOVERY_URL']} (or empty)"),
        (
            "QBO_REDIRECT_URI",
            settings.QBO_REDIRECT_URI or "empty: built from the request",
            "the redirect URI below, when a proxy hides the public host from procuresync",
        ),
    ]


def _render(request: AuthenticatedHttpRequest, checks: list[setup_facts.Check] | None) -> HttpResponse:
    config = qbo_config()
    base = setup_facts.public_base_url(request.build_absolute_uri("/"))
    context: dict[str, Any] = {
        "base_url": base,
        "urls": setup_facts.public_urls(base),
        "scope": SCOPE,
        "environment": setup_facts.environment_of(config.api_base_url).value,
        "from_emulator_file": not settings.QBO_CLIENT_ID,
        "configuration": _configuration(),
        "checks": checks,
        "failed": checks is not None and setup_check.any_failed(checks),
    }
    return render(request, "quickbooks/setup.html", context)


@page(Permission.INTEGRATION_MANAGE)
def setup(request: AuthenticatedHttpRequest) -> HttpResponse:
    return _render(request, None)


@require_POST
@page(Permission.INTEGRATION_MANAGE)
def setup_check_run(request: AuthenticatedHttpRequest) -> HttpResponse:
    base = setup_facts.public_base_url(request.build_absolute_uri("/"))
    return _render(request, setup_check.checks_run(base_url=base, company_id=request.user.tenant_id))
