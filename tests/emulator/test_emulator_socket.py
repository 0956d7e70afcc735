"""Over a real socket: `running_emulator`, the OAuth redirect dance, dropped connections,
timeouts, the state file, and `python -m qbo_emulator`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from qbo_emulator.config import EmulatorConfig, Limits
from qbo_emulator.testing import RunningEmulator, free_port, running_emulator

pytestmark = pytest.mark.socket
ROOT = Path(__file__).resolve().parents[2]


def _connect(emu: RunningEmulator) -> tuple[str, dict[str, str]]:
    company = emu.create_company("Socket Co")
    tokens = emu.tokens(company["realmId"])
    return company["realmId"], {"Authorization": f"Bearer {tokens['access_token']}", "Accept": "application/json"}


def _bill(emu: RunningEmulator, realm: str, doc: str) -> dict:
    ids = emu.control("GET", f"/companies/{realm}")["ids"]
    return {"VendorRef": {"value": ids["Vendor"]["Hicks Hardware"]}, "DocNumber": doc,
            "Line": [{"DetailType": "AccountBasedExpenseLineDetail", "Amount": 10.0,
                      "AccountBasedExpenseLineDetail": {"AccountRef": {"value": ids["Account"]["Travel"]}}}]}


def _count(emu: RunningEmulator, realm: str, headers: dict[str, str], doc: str) -> int:
    response = httpx.get(f"{emu.api_url(realm)}/query", headers=headers,
                         params={"query": f"select count(*) from Bill where DocNumber = '{doc}'"})
    return int(response.json()["QueryResponse"]["totalCount"])


def test_given_a_running_emulator_when_a_client_does_the_oauth_dance_then_api_answers() -> None:
    with running_emulator(EmulatorConfig(limits=Limits(enabled=False))) as emu:
        redirect = "http://127.0.0.1:8000/callback"
        form = {"client_id": emu.client_id, "redirect_uri": redirect, "response_type": "code", "state": "s1",
                "scope": "com.intuit.quickbooks.accounting", "realm": "new", "decision": "connect"}
        consent = httpx.post(emu.credentials["auth_url"], data=form)
        assert consent.status_code == 302
        query = parse_qs(urlsplit(consent.headers["location"]).query)
        tokens = httpx.post(emu.credentials["token_url"], auth=(emu.client_id, emu.client_secret),
                            data={"grant_type": "authorization_code", "code": query["code"][0],
                                  "redirect_uri": redirect}).json()
        realm = query["realmId"][0]
        prefs = httpx.get(f"{emu.api_url(realm)}/preferences?minorversion=75",
                          headers={"Authorization": f"Bearer {tokens['access_token']}"})
        assert prefs.status_code == 200 and prefs.json()["Preferences"]["Id"] == "1"


def test_given_commit_then_drop_over_a_socket_then_client_sees_a_transport_error_and_bill_exists() -> None:
    with running_emulator(EmulatorConfig(limits=Limits(enabled=False))) as emu:
        realm, headers = _connect(emu)
        emu.control("POST", "/faults", json={"kind": "drop", "match": "/bill"})
        with pytest.raises(httpx.TransportError):
            httpx.post(f"{emu.api_url(realm)}/bill", params={"requestid": "r-1"}, headers=headers,
                       json=_bill(emu, realm, "SOCK-1"))
        assert _count(emu, realm, headers, "SOCK-1") == 1
        replay = httpx.post(f"{emu.api_url(realm)}/bill", params={"requestid": "r-1"}, headers=headers,
                            json=_bill(emu, realm, "SOCK-1"))
        assert replay.status_code == 200 and _count(emu, realm, headers, "SOCK-1") == 1


def test_given_a_timeout_after_commit_then_client_times_out_but_change_is_applied() -> None:
    with running_emulator(EmulatorConfig(limits=Limits(enabled=False))) as emu:
        realm, headers = _connect(emu)
        emu.control("POST", "/faults", json={"kind": "timeout", "after_commit": True, "seconds": 1.0})
        with pytest.raises(httpx.TimeoutException):
            httpx.post(f"{emu.api_url(realm)}/bill", headers=headers, json=_bill(emu, realm, "SLOW-1"), timeout=0.3)
        assert _count(emu, realm, headers, "SLOW-1") == 1


def test_given_a_timeout_before_commit_then_nothing_is_applied() -> None:
    with running_emulator(EmulatorConfig(limits=Limits(enabled=False))) as emu:
        realm, headers = _connect(emu)
        emu.control("POST", "/faults", json={"kind": "timeout", "seconds": 1.0})
        with pytest.raises(httpx.TimeoutException):
            httpx.post(f"{emu.api_url(realm)}/bill", headers=headers, json=_bill(emu, realm, "SLOW-2"), timeout=0.3)
        assert _count(emu, realm, headers, "SLOW-2") == 0


def test_given_a_state_file_when_restarted_then_companies_tokens_and_client_survive(tmp_path: Path) -> None:
    state = str(tmp_path / "qbo.sqlite3")
    with running_emulator(EmulatorConfig(state_file=state)) as emu:
        realm, headers = _connect(emu)
        httpx.post(f"{emu.api_url(realm)}/bill", headers=headers, json=_bill(emu, realm, "KEEP-1")).raise_for_status()
        client_id = emu.client_id
    with running_emulator(EmulatorConfig(state_file=state)) as emu:
        assert emu.client_id == client_id
        assert _count(emu, realm, headers, "KEEP-1") == 1


def test_given_the_command_line_when_started_then_credentials_file_is_written(tmp_path: Path) -> None:
    port = free_port()
    creds_file = tmp_path / "creds.json"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "QBO_EMULATOR_VERIFIER_TOKEN": "from-env-token"}
    proc = subprocess.Popen([sys.executable, "-m", "qbo_emulator", "--port", str(port), "--credentials-file",
                             str(creds_file), "--no-limits"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    try:
        for _ in range(200):  # bounded wait for start-up
            try:
                if httpx.get(f"http://127.0.0.1:{port}/_emulator/health").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.05)
        creds = json.loads(creds_file.read_text())
        assert set(creds) == {"client_id", "client_secret", "verifier_token", "base_url", "auth_url", "token_url",
                              "revoke_url", "discovery_url"}
        assert creds["verifier_token"] == "from-env-token"
        assert creds["base_url"] == f"http://127.0.0.1:{port}"
        assert httpx.get(creds["discovery_url"]).json()["token_endpoint"] == creds["token_url"]
    finally:
        proc.terminate()
        proc.wait(timeout=10)
