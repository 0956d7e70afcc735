"""Intuit OAuth 2.0 as the emulator plays it: discovery, consent, code, tokens, rotation, revoke."""

from __future__ import annotations

import base64
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from emulator_helpers import Qbo, connect, fault_of

from qbo_emulator.config import EmulatorConfig

pytestmark = pytest.mark.anyio
REDIRECT = "http://localhost:8000/quickbooks/callback"


def basic(config: EmulatorConfig, secret: str | None = None) -> dict[str, str]:
    raw = f"{config.client_id}:{secret or config.client_secret}".encode()
    return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


async def _authorize(client: httpx.AsyncClient, config: EmulatorConfig, realm: str = "new") -> dict[str, str]:
    params = {"client_id": config.client_id, "redirect_uri": REDIRECT, "response_type": "code",
              "scope": "com.intuit.quickbooks.accounting", "state": "xyz"}
    page = await client.get("/connect/oauth2", params=params)
    assert page.status_code == 200 and "Connect" in page.text
    response = await client.post("/connect/oauth2", data={**params, "realm": realm, "decision": "connect",
                                                          "company_name": "Consent Co"})
    assert response.status_code == 302
    location = response.headers["location"]
    assert location.startswith(REDIRECT)
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


async def _exchange(client: httpx.AsyncClient, config: EmulatorConfig, code: str) -> httpx.Response:
    return await client.post("/oauth2/v1/tokens/bearer", headers=basic(config),
                             data={"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT})


async def test_given_discovery_when_fetched_then_endpoints_point_at_the_emulator(client, config) -> None:
    doc = (await client.get("/.well-known/openid_sandbox_configuration")).json()
    assert doc["token_endpoint"] == "http://qbo.test/oauth2/v1/tokens/bearer"
    assert doc["authorization_endpoint"] == "http://qbo.test/connect/oauth2"
    assert doc["revocation_endpoint"] == "http://qbo.test/v2/oauth2/tokens/revoke"
    assert "client_secret_basic" in doc["token_endpoint_auth_methods_supported"]


async def test_given_consent_when_code_exchanged_then_tokens_call_the_api(client, config) -> None:
    redirect = await _authorize(client, config)
    assert redirect["state"] == "xyz" and redirect["realmId"] and redirect["code"]
    tokens = (await _exchange(client, config, redirect["code"])).json()
    assert tokens["token_type"] == "bearer" and tokens["expires_in"] == 3600
    assert set(tokens) >= {"access_token", "refresh_token", "x_refresh_token_expires_in"}
    info = await client.get(f"/v3/company/{redirect['realmId']}/companyinfo/{redirect['realmId']}",
                            headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert info.json()["CompanyInfo"]["CompanyName"] == "Consent Co"
    again = await _exchange(client, config, redirect["code"])  # codes are single use
    assert again.status_code == 400 and again.json() == {"error": "invalid_grant"}


async def test_given_an_existing_company_when_user_picks_it_then_realm_is_returned(client, config) -> None:
    qbo = await connect(client, "Existing Co")
    assert (await _authorize(client, config, realm=qbo.realm))["realmId"] == qbo.realm


async def test_given_wrong_client_secret_when_exchanging_then_invalid_client(client, config) -> None:
    redirect = await _authorize(client, config)
    response = await client.post("/oauth2/v1/tokens/bearer", headers=basic(config, "wrong"),
                                 data={"grant_type": "authorization_code", "code": redirect["code"],
                                       "redirect_uri": REDIRECT})
    assert response.status_code == 401 and response.json()["error"] == "invalid_client"


async def test_given_a_foreign_redirect_uri_when_authorizing_then_refused(client, config) -> None:
    response = await client.get("/connect/oauth2", params={"client_id": config.client_id, "state": "s",
                                                           "redirect_uri": "https://evil.example/cb"})
    assert response.status_code == 400


async def test_given_an_hour_passes_when_calling_then_401_and_refresh_restores(client, config, clock) -> None:
    qbo = await connect(client)
    clock.advance(minutes=61)
    response = await qbo.get("vendor/" + qbo.vendor())
    assert response.status_code == 401
    error = fault_of(response)
    assert error["code"] == "3200" and response.json()["Fault"]["type"] == "AuthenticationFault"
    refreshed = (await client.post("/oauth2/v1/tokens/bearer", headers=basic(config),
                                   data={"grant_type": "refresh_token",
                                         "refresh_token": qbo.extra["refresh_token"]})).json()
    assert refreshed["refresh_token"] != qbo.extra["refresh_token"]  # rotated
    qbo.token = refreshed["access_token"]
    assert (await qbo.get("vendor/" + qbo.vendor())).status_code == 200


async def test_given_a_rotated_refresh_token_when_reused_later_then_invalid_grant(client, config, clock) -> None:
    qbo = await connect(client)
    old = qbo.extra["refresh_token"]
    data = {"grant_type": "refresh_token", "refresh_token": old}
    first = (await client.post("/oauth2/v1/tokens/bearer", headers=basic(config), data=data)).json()
    retry = (await client.post("/oauth2/v1/tokens/bearer", headers=basic(config), data=data)).json()
    assert retry["refresh_token"] == first["refresh_token"]  # a lost response can be retried briefly
    clock.advance(seconds=config.refresh_token_grace_s + 1)
    late = await client.post("/oauth2/v1/tokens/bearer", headers=basic(config), data=data)
    assert late.status_code == 400 and late.json() == {"error": "invalid_grant"}
    newest = {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}
    assert (await client.post("/oauth2/v1/tokens/bearer", headers=basic(config), data=newest)).status_code == 200


async def test_given_revoked_tokens_when_calling_or_refreshing_then_refused(client, config, qbo: Qbo) -> None:
    response = await client.post("/v2/oauth2/tokens/revoke", headers=basic(config),
                                 json={"token": qbo.extra["refresh_token"]})
    assert response.status_code == 200
    assert (await qbo.get("vendor/" + qbo.vendor())).status_code == 401
    refresh = await client.post("/oauth2/v1/tokens/bearer", headers=basic(config),
                                data={"grant_type": "refresh_token", "refresh_token": qbo.extra["refresh_token"]})
    assert refresh.json() == {"error": "invalid_grant"}


async def test_given_a_token_for_one_company_when_calling_another_then_401(client) -> None:
    first, second = await connect(client, "One"), await connect(client, "Two")
    first.realm = second.realm
    assert (await first.get("preferences")).status_code == 401


async def test_given_no_bearer_or_garbage_when_calling_then_401(client, qbo: Qbo) -> None:
    assert (await client.get(qbo.url("preferences"))).status_code == 401
    qbo.token = "garbage"
    assert (await qbo.get("preferences")).status_code == 401
