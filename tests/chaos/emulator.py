"""The QuickBooks the chaos driver acts on: one company of the emulator, as a QuickBooks user sees
it (the control API: record and void payments, edit bills, set the closing date) and as Intuit
serves it (the real query API, which the oracle reads). Shared by the test and the bench."""

from __future__ import annotations

import time
from typing import Any

import httpx


class EmulatorQuickBooks:
    def __init__(self, base_url: str, realm: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.realm = realm

    def _control(self, method: str, path: str, **kwargs: Any) -> Any:
        response = httpx.request(method, f"{self.base_url}/_emulator{path}", timeout=120, **kwargs)
        response.raise_for_status()
        return response.json()

    def control(self, method: str, path: str, **kwargs: Any) -> Any:
        return self._control(method, f"/companies/{self.realm}{path}", **kwargs)

    def fault(self, **body: Any) -> None:
        self._control("POST", "/faults", json=body)

    def clear_faults(self) -> None:
        self._control("DELETE", "/faults")

    def query_all(self, entity: str) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        start = 1
        while True:
            page = self._query(f"SELECT * FROM {entity} STARTPOSITION {start} MAXRESULTS 1000").get(entity, [])
            rows += page
            if len(page) < 1000:
                return rows
            start += 1000

    def _query(self, sql: str) -> dict[str, Any]:
        """A QuickBooks user reading: injected faults hit them too, so they look again."""
        token = self.control("POST", "/tokens")["access_token"]
        for _ in range(30):
            try:
                response = httpx.get(
                    f"{self.base_url}/v3/company/{self.realm}/query",
                    params={"query": sql},
                    headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
                    timeout=60,
                )
            except httpx.HTTPError:
                continue
            if response.status_code == 200:
                answer: dict[str, Any] = response.json()["QueryResponse"]
                return answer
            time.sleep(0.05)
        raise RuntimeError(f"QuickBooks kept failing a QuickBooks user's query: {sql}")


class EmulatorSignIn:
    """Intuit's sign-in as the chaos driver uses it: revoke the company's grant (as disconnecting
    the app at Intuit does), then have an Admin connect the same QuickBooks company again through
    the consent page, as a person would."""

    REDIRECT_URI = "http://localhost/integrations/callback/"

    def __init__(self, base_url: str, realm: str, admin: Any) -> None:
        self.base_url = base_url.rstrip("/")
        self.realm = realm
        self.admin = admin

    def revoke(self) -> None:
        from quickbooks import crypto
        from quickbooks.config import qbo_config
        from quickbooks.models import Connection

        connection = Connection.objects.get(company_id=self.admin.company_id)
        token = crypto.decrypt(connection.refresh_token)
        if not token:
            return
        config = qbo_config()
        for _ in range(30):  # the injected faults hit this request too; the person tries again
            try:
                answer = httpx.post(
                    config.revoke_url, json={"token": token}, auth=(config.client_id, config.client_secret), timeout=30
                )
            except httpx.HTTPError:
                continue
            if answer.status_code < 500:
                return
        raise RuntimeError("Intuit kept failing the revocation")

    def reconnect(self) -> None:
        from urllib.parse import parse_qs, urlparse

        from quickbooks.services import connection_complete, connection_start

        url = connection_start(actor=self.admin, redirect_uri=self.REDIRECT_URI)
        parsed = urlparse(url)
        params = {k: v[0] for k, v in parse_qs(parsed.query).items()}
        answer = httpx.post(
            f"{self.base_url}{parsed.path}", timeout=30, data={**params, "decision": "connect", "realm": self.realm}
        )
        query = {k: v[0] for k, v in parse_qs(urlparse(answer.headers["location"]).query).items()}
        connection_complete(
            actor=self.admin,
            code=query["code"],
            state=query["state"],
            realm_id=query["realmId"],
            redirect_uri=self.REDIRECT_URI,
        )
