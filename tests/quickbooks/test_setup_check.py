"""Integrations → Setup guide and its checks, against the running emulator.

The emulator stands in for Intuit (plain HTTP on 127.0.0.1), so the lines about a real company's
environment warn where a production installation would pass; none fails. Our own webhook endpoint
is served on a real socket (``live_server``) so that the check can call it as Intuit would.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from accounts.models import User
from qbo_emulator.testing import RunningEmulator, free_port
from quickbooks.config import QboConfig
from quickbooks.services import connection_complete, connection_start
from quickbooks.setup_check import (
    check_clock,
    check_discovery,
    check_redirect_uri,
    check_webhook_address,
    check_webhook_endpoint,
    check_webhook_https,
    checks_run,
)
from quickbooks.setup_facts import INTUIT_PRODUCTION, Answer, Environment, Status, public_urls
from tests.quickbooks.conftest import REDIRECT_URI, consent


def connect(admin: User) -> str:
    """Connect ``admin``'s company to a new emulator company through the real OAuth flow."""
    answer = consent(connection_start(actor=admin, redirect_uri=REDIRECT_URI))
    connection_complete(
        actor=admin, code=answer["code"], state=answer["state"], realm_id=answer["realmId"], redirect_uri=REDIRECT_URI
    )
    return answer["realmId"]


def statuses(checks: list[Any]) -> dict[str, str]:
    return {check.name: str(check.status) for check in checks}


def by_name(checks: list[Any], name: str) -> Any:
    return next(check for check in checks if check.name == name)


EXPECTED_WITH_EMULATOR = {
    "environment": "warning",  # not Intuit
    "keys present": "ok",
    "redirect URI": "warning",  # plain HTTP
    "token endpoint": "ok",
    "keys accepted": "ok",
    "discovery document": "ok",
    "clock": "ok",
    "webhook HTTPS": "warning",  # plain HTTP
    "webhook address": "warning",  # localhost
    "webhook endpoint": "ok",
    "scopes granted": "ok",
    "closing date": "ok",
}


def test_given_the_emulator_and_a_connected_company_when_checking_then_nothing_fails_and_the_closing_date_is_read(
    qbo_settings: RunningEmulator, admin: User, live_server: Any
) -> None:
    realm = connect(admin)
    qbo_settings.control("PUT", f"/companies/{realm}/closing-date", json={"date": "2026-10-31"})

    checks = checks_run(base_url=live_server.url, company_id=admin.tenant_id)

    assert statuses(checks) == EXPECTED_WITH_EMULATOR
    assert "2026-10-31" in by_name(checks, "closing date").found
    assert "401 invalid_signature" in by_name(checks, "webhook endpoint").found
    assert "cannot be proven from inside" in by_name(checks, "webhook endpoint").found
    assert "invalid_client" in by_name(checks, "token endpoint").found


def test_given_a_token_url_where_nothing_listens_when_checking_then_the_token_check_fails_with_its_advice(
    qbo_settings: RunningEmulator, settings: Any, admin: User
) -> None:
    settings.QBO_TOKEN_URL = f"http://127.0.0.1:{free_port()}/oauth2/v1/tokens/bearer"

    checks = checks_run(base_url="", company_id=admin.tenant_id)

    token = by_name(checks, "token endpoint")
    assert token.status == Status.FAILED
    assert "could not be reached" in token.found and "ConnectError" in token.found
    assert "check QBO_TOKEN_URL" in token.todo and "outgoing HTTPS" in token.todo
    assert token.line.startswith("FAIL token endpoint: http://127.0.0.1:")
    assert by_name(checks, "keys accepted").status == Status.WARNING  # not tried
    assert by_name(checks, "clock").status == Status.WARNING  # no Date header to compare with
    discovery = by_name(checks, "discovery document")  # Intuit's (here the emulator's) document disagrees
    assert (
        discovery.status == Status.FAILED and f"QBO_TOKEN_URL={qbo_settings.credentials['token_url']}" in discovery.todo
    )


def test_given_a_missing_secret_when_checking_then_the_keys_check_fails_and_names_the_variable(
    qbo_settings: RunningEmulator, settings: Any, admin: User
) -> None:
    settings.QBO_CLIENT_SECRET = ""

    checks = checks_run(base_url="", company_id=admin.tenant_id)

    keys = by_name(checks, "keys present")
    assert keys.status == Status.FAILED and keys.found == "QBO_CLIENT_SECRET not set"
    assert "developer portal" in keys.todo
    assert by_name(checks, "keys accepted").found == "not tried: the keys are missing"
    assert by_name(checks, "token endpoint").status == Status.OK


def test_given_a_wrong_secret_when_checking_then_the_token_endpoint_refuses_the_keys(
    qbo_settings: RunningEmulator, settings: Any, admin: User
) -> None:
    settings.QBO_CLIENT_SECRET = "not-the-secret"

    accepted = by_name(checks_run(base_url="", company_id=admin.tenant_id), "keys accepted")

    assert accepted.status == Status.FAILED and "invalid_client" in accepted.found
    assert "Production keys" in accepted.todo


def test_given_no_connection_when_checking_then_scopes_and_closing_date_say_connect_first(
    qbo_settings: RunningEmulator, admin: User
) -> None:
    checks = checks_run(base_url="", company_id=admin.tenant_id)

    for name in ("scopes granted", "closing date"):
        assert by_name(checks, name).status == Status.WARNING
        assert "press Connect" in by_name(checks, name).todo
    assert by_name(checks, "webhook URL").status == Status.WARNING  # no base URL given


# ------------------------------------------------------------------ the rules, without the network

SAMPLES = Path(__file__).resolve().parents[1] / "samples" / "qbo"


def test_given_intuits_published_discovery_document_then_intuits_urls_match_it_and_a_wrong_one_is_named() -> None:
    document = json.loads((SAMPLES / "oauth-openid-sandbox-configuration.json").read_text())
    intuit = QboConfig(
        client_id="id",
        client_secret="secret",
        verifier_token="token",
        api_base_url=INTUIT_PRODUCTION["QBO_API_BASE_URL"],
        auth_url=INTUIT_PRODUCTION["QBO_AUTH_URL"],
        token_url=INTUIT_PRODUCTION["QBO_TOKEN_URL"],
        revoke_url=INTUIT_PRODUCTION["QBO_REVOKE_URL"],
    )
    answer = Answer(status=200, body=document)

    matching = check_discovery(intuit, "https://discovery.example", answer)
    wrong_token = check_discovery(dataclasses.replace(intuit, token_url="https://example.com/token"), "d", answer)
    wrong_revoke = check_discovery(dataclasses.replace(intuit, revoke_url="https://example.com/revoke"), "d", answer)

    assert matching.status == Status.OK
    assert wrong_token.status == Status.FAILED
    assert f"set QBO_TOKEN_URL={INTUIT_PRODUCTION['QBO_TOKEN_URL']}" in wrong_token.todo
    assert wrong_revoke.status == Status.WARNING  # a stale grant at Intuit, connecting still works


def test_given_the_clock_more_than_a_minute_off_then_it_warns_and_within_a_minute_it_passes() -> None:
    now = dt.datetime(2026, 11, 30, 18, 2, tzinfo=dt.UTC)

    assert check_clock("Mon, 30 Nov 2026 18:01:30 GMT", now).status == Status.OK
    late = check_clock("Mon, 30 Nov 2026 18:00:00 GMT", now)
    assert late.status == Status.WARNING and late.found.startswith("120 s ahead of")
    assert "NTP" in late.todo
    assert check_clock("", now).status == Status.WARNING


@pytest.mark.parametrize(
    ("environment", "url", "expected"),
    [
        (Environment.PRODUCTION, "http://procure.example.com/quickbooks/webhooks", Status.FAILED),
        (Environment.SANDBOX, "http://procure.example.com/quickbooks/webhooks", Status.FAILED),
        (Environment.OTHER, "http://localhost:8000/quickbooks/webhooks", Status.WARNING),
        (Environment.PRODUCTION, "https://procure.example.com/quickbooks/webhooks", Status.OK),
    ],
)
def test_given_a_webhook_url_then_intuit_needs_https(environment: Environment, url: str, expected: Status) -> None:
    assert check_webhook_https(url, environment).status == expected


@pytest.mark.parametrize(
    ("addresses", "environment", "expected"),
    [
        (["93.184.215.14"], Environment.PRODUCTION, Status.OK),
        (["127.0.0.1"], Environment.PRODUCTION, Status.FAILED),
        (["127.0.0.1"], Environment.OTHER, Status.WARNING),
        (["10.0.0.7"], Environment.PRODUCTION, Status.WARNING),  # split-horizon DNS is possible
        ("it does not resolve (Name or service not known)", Environment.PRODUCTION, Status.WARNING),
    ],
)
def test_given_the_webhook_hosts_addresses_then_only_public_ones_pass(
    addresses: list[str] | str, environment: Environment, expected: Status
) -> None:
    check = check_webhook_address("https://procure.example.com/quickbooks/webhooks", environment, addresses)
    assert check.status == expected


def test_given_a_webhook_url_behind_a_redirect_or_with_a_bad_certificate_then_the_endpoint_check_fails() -> None:
    url = "https://procure.example.com/quickbooks/webhooks"

    redirected = check_webhook_endpoint(url, Answer(status=301, location="https://www.example.com/"))
    untrusted = check_webhook_endpoint(url, Answer(error="ConnectError: [SSL: CERTIFICATE_VERIFY_FAILED] self-signed"))
    unreachable = check_webhook_endpoint(url, Answer(error="ConnectError: timed out"))

    assert redirected.status == Status.FAILED and "https://www.example.com/" in redirected.found
    assert untrusted.status == Status.FAILED and "self-signed" in untrusted.todo
    assert unreachable.status == Status.WARNING and unreachable.found.startswith(
        "the path /quickbooks/webhooks is ours"
    )


def test_given_an_ip_address_or_plain_http_redirect_uri_then_intuit_production_refuses_it(
    settings: Any,
) -> None:
    settings.QBO_REDIRECT_URI = ""

    by_ip = check_redirect_uri(public_urls("https://203.0.113.9"), Environment.PRODUCTION)
    plain = check_redirect_uri(public_urls("http://procure.example.com"), Environment.PRODUCTION)
    sandbox_localhost = check_redirect_uri(public_urls("http://localhost:8000"), Environment.SANDBOX)

    assert by_ip.status == Status.FAILED and "IP address" in by_ip.found
    assert plain.status == Status.FAILED and "https://" in plain.found
    assert sandbox_localhost.status == Status.OK


# ------------------------------------------------------------------ the page


def test_given_an_admin_when_opening_the_setup_page_then_it_shows_the_urls_from_the_request_and_never_the_secret(
    qbo_settings: RunningEmulator, settings: Any, admin: User
) -> None:
    settings.QBO_REDIRECT_URI = ""
    settings.ALLOWED_HOSTS = ["procure.example.com"]
    client = Client()
    client.force_login(admin)

    response = client.get("/integrations/setup/", HTTP_HOST="procure.example.com")

    html = response.content.decode()
    assert response.status_code == 200
    assert 'value="http://procure.example.com/integrations/callback/"' in html
    assert 'value="http://procure.example.com/quickbooks/webhooks"' in html
    assert "com.intuit.quickbooks.accounting" in html and "QBO_WEBHOOK_VERIFIER_TOKEN" in html
    assert qbo_settings.client_secret not in html and qbo_settings.verifier_token not in html
    assert qbo_settings.client_id not in html and qbo_settings.client_id[:4] in html  # first/last characters only
    assert 'id="check-results"' not in html  # nothing checked before the button is pressed


def test_given_qbo_redirect_uri_when_opening_the_setup_page_then_both_urls_use_its_host(
    qbo_settings: RunningEmulator, settings: Any, admin: User
) -> None:
    settings.QBO_REDIRECT_URI = "https://procure.example.com/integrations/callback/"
    client = Client()
    client.force_login(admin)

    html = client.get("/integrations/setup/").content.decode()

    assert 'value="https://procure.example.com/integrations/callback/"' in html
    assert 'value="https://procure.example.com/quickbooks/webhooks"' in html


def test_given_an_admin_when_pressing_check_setup_then_the_page_shows_one_line_per_check(
    qbo_settings: RunningEmulator, settings: Any, admin: User, live_server: Any
) -> None:
    settings.QBO_REDIRECT_URI = f"{live_server.url}/integrations/callback/"  # so that our endpoint is reachable
    connect(admin)
    client = Client()
    client.force_login(admin)

    response = client.post("/integrations/setup/check/")

    html = response.content.decode()
    assert response.status_code == 200
    assert html.count('class="check-ok"') == list(EXPECTED_WITH_EMULATOR.values()).count("ok")
    assert html.count('class="check-warning"') == list(EXPECTED_WITH_EMULATOR.values()).count("warning")
    assert 'class="check-failed"' not in html and "No check failed." in html
    assert "401 invalid_signature" in html and "no closing date set in QuickBooks" in html


def test_given_a_user_without_the_admin_role_when_opening_or_checking_setup_then_403(
    qbo_settings: RunningEmulator, creator: User
) -> None:
    client = Client()
    client.force_login(creator)

    assert client.get("/integrations/setup/").status_code == 403
    assert client.post("/integrations/setup/check/").status_code == 403
