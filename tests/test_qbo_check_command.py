"""``manage.py qbo_check``: the setup checks on the command line, one line each, exit 1 on a failure."""

from __future__ import annotations

from collections.abc import Iterator
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from accounts.models import User
from qbo_emulator.config import EmulatorConfig, Limits
from qbo_emulator.testing import RunningEmulator, free_port, running_emulator
from quickbooks.services import connection_complete, connection_start
from tests.conftest import use_emulator
from tests.quickbooks.conftest import REDIRECT_URI, consent


@pytest.fixture(scope="module")
def emulator() -> Iterator[RunningEmulator]:
    with running_emulator(EmulatorConfig(limits=Limits(enabled=False))) as emu:
        yield emu


@pytest.fixture
def qbo(settings: Any, emulator: RunningEmulator) -> RunningEmulator:
    use_emulator(settings, emulator)
    settings.QBO_REDIRECT_URI = ""
    return emulator


def run(*args: str) -> tuple[int, list[str]]:
    out = StringIO()
    try:
        call_command("qbo_check", *args, stdout=out)
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    return code, out.getvalue().splitlines()


def test_given_the_emulator_and_a_connected_company_when_checking_then_it_prints_a_line_each_and_exits_0(
    qbo: RunningEmulator, admin: User, live_server: Any
) -> None:
    answer = consent(connection_start(actor=admin, redirect_uri=REDIRECT_URI))
    connection_complete(
        actor=admin, code=answer["code"], state=answer["state"], realm_id=answer["realmId"], redirect_uri=REDIRECT_URI
    )

    code, lines = run("--company", str(admin.tenant_id), "--base-url", live_server.url)

    assert code == 0
    assert len(lines) == 12
    assert not [line for line in lines if line.startswith("FAIL")]
    assert lines[1].startswith("OK   keys present: client id ")
    assert any(line.startswith("OK   token endpoint: ") for line in lines)
    assert any(line.startswith("OK   webhook endpoint: ") for line in lines)
    assert any(line.startswith("WARN webhook HTTPS: ") and " → " in line for line in lines)
    assert lines[-1].startswith("OK   closing date: no closing date set in QuickBooks")
    assert qbo.client_secret not in "\n".join(lines)


def test_given_a_token_url_where_nothing_listens_when_checking_then_it_prints_the_failure_and_exits_1(
    qbo: RunningEmulator, settings: Any, company: Any
) -> None:
    settings.QBO_TOKEN_URL = f"http://127.0.0.1:{free_port()}/oauth2/v1/tokens/bearer"

    code, lines = run("--company", str(company.pk))

    assert code == 1
    token = next(line for line in lines if "token endpoint" in line)
    assert token.startswith("FAIL token endpoint: http://127.0.0.1:") and "→ check QBO_TOKEN_URL" in token
    assert (
        "WARN webhook URL: not known here → run with --base-url https://<your host>, or set QBO_REDIRECT_URI" in lines
    )
    assert (
        "WARN scopes granted: not connected yet; procuresync asks for com.intuit.quickbooks.accounting only"
        " → press Connect on Integrations, then check again"
    ) in lines


def test_given_missing_keys_when_checking_then_the_keys_line_fails_and_it_exits_1(
    qbo: RunningEmulator, settings: Any, db: None
) -> None:
    settings.QBO_WEBHOOK_VERIFIER_TOKEN = ""

    code, lines = run()

    assert code == 1
    assert lines[1].startswith("FAIL keys present: QBO_WEBHOOK_VERIFIER_TOKEN not set → copy them from your app")
    assert "WARN connection: no company named → run with --company ID to check its connection" in lines


def test_given_an_unknown_company_when_checking_then_it_says_so(qbo: RunningEmulator, db: None) -> None:
    with pytest.raises(CommandError, match="No company with id 987654"):
        call_command("qbo_check", "--company", "987654")
