"""Helpers and fixtures for the emulator's own tests: an in-process app (httpx.ASGITransport), a
controllable clock, and `qbo`, a connected sandbox company with a valid bearer token."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from qbo_emulator.app import create_app
from qbo_emulator.config import EmulatorConfig, Limits

BASE = "http://qbo.test"


class FakeClock:
    """A clock tests move by hand (token expiry, closing dates, the CDC window)."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 3, 16, 18, 0, tzinfo=UTC))  # 10:00 in the company's Pacific time


@pytest.fixture
def config(clock: FakeClock) -> EmulatorConfig:
    return EmulatorConfig(base_url=BASE, clock=clock, limits=Limits(enabled=False), webhook_retry_scale=0.001)


@pytest.fixture
def app(config: EmulatorConfig) -> Starlette:
    return create_app(config)


@pytest.fixture
async def client(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as c:
        yield c


@dataclass
class Qbo:
    """A connected company: v3 calls with the bearer, plus the control API."""

    client: httpx.AsyncClient
    realm: str
    token: str
    ids: dict[str, dict[str, str]]
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}", "Accept": "application/json"}

    def url(self, path: str) -> str:
        return f"/v3/company/{self.realm}/{path.lstrip('/')}"

    async def get(self, path: str, **params: Any) -> httpx.Response:
        return await self.client.get(self.url(path), params={"minorversion": 75, **params}, headers=self.headers)

    async def post(self, path: str, body: Any, **params: Any) -> httpx.Response:
        return await self.client.post(self.url(path), params={"minorversion": 75, **params}, json=body,
                                      headers=self.headers)

    async def create(self, entity: str, body: dict[str, Any], **params: Any) -> dict[str, Any]:
        response = await self.post(entity.lower(), body, **params)
        assert response.status_code == 200, response.text
        obj: dict[str, Any] = response.json()[entity]
        return obj

    async def read(self, entity: str, obj_id: str) -> dict[str, Any]:
        response = await self.get(f"{entity.lower()}/{obj_id}")
        assert response.status_code == 200, response.text
        obj: dict[str, Any] = response.json()[entity]
        return obj

    async def query(self, text: str) -> dict[str, Any]:
        response = await self.get("query", query=text)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()["QueryResponse"]
        return body

    async def control(self, method: str, path: str, **kwargs: Any) -> Any:
        response = await self.client.request(method, f"/_emulator{path}", **kwargs)
        assert response.status_code < 300, response.text
        return response.json()

    # ready-made documents

    def vendor(self, name: str = "Bob's Burger Joint") -> str:
        return self.ids["Vendor"][name]

    def account(self, name: str) -> str:
        return self.ids["Account"][name]

    def bill_body(self, amount: float | str = 200.0, vendor: str | None = None, **fields: Any) -> dict[str, Any]:
        return {"VendorRef": {"value": vendor or self.vendor()},
                "Line": [{"DetailType": "AccountBasedExpenseLineDetail", "Amount": amount,
                          "AccountBasedExpenseLineDetail": {"AccountRef": {"value": self.account("Advertising")}}}],
                **fields}

    def line(self, amount: float | str, tax_code: str | None = None, **detail: Any) -> dict[str, Any]:
        """An account-based expense line; `tax_code` is a TaxCode *name* of the company's edition."""
        body: dict[str, Any] = {"AccountRef": {"value": self.account("Advertising")}, **detail}
        if tax_code is not None:
            body["TaxCodeRef"] = {"value": self.ids["TaxCode"][tax_code]}
        return {"DetailType": "AccountBasedExpenseLineDetail", "Amount": amount, "AccountBasedExpenseLineDetail": body}

    def payment_body(self, bill: dict[str, Any], amount: float | str, **fields: Any) -> dict[str, Any]:
        return {"VendorRef": bill["VendorRef"], "PayType": "Check", "TotalAmt": amount,
                "CheckPayment": {"BankAccountRef": {"value": self.account("Checking")}},
                "Line": [{"Amount": amount, "LinkedTxn": [{"TxnId": bill["Id"], "TxnType": "Bill"}]}], **fields}


async def connect(client: httpx.AsyncClient, name: str = "Sandbox Company", **company: Any) -> Qbo:
    """A new company with tokens; `company` adds control API options (`country`, `multicurrency`, ...)."""
    response = await client.post("/_emulator/companies", json={"name": name, "tokens": True, **company})
    assert response.status_code == 200, response.text
    data = response.json()
    return Qbo(client=client, realm=data["realmId"], token=data["tokens"]["access_token"], ids=data["ids"],
               extra={"refresh_token": data["tokens"]["refresh_token"]})


@pytest.fixture
async def qbo(client: httpx.AsyncClient) -> Qbo:
    return await connect(client)


def fault_of(response: httpx.Response) -> dict[str, Any]:
    error: dict[str, Any] = response.json()["Fault"]["Error"][0]
    return error
