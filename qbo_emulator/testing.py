"""Helpers for tests (the emulator's own and the product's).

    from qbo_emulator.testing import running_emulator

    with running_emulator(EmulatorConfig(limits=Limits(enabled=False))) as emu:
        realm = emu.create_company()["realmId"]
        tokens = emu.tokens(realm)
        httpx.get(f"{emu.base_url}/v3/company/{realm}/vendor/1",
                  headers={"Authorization": f"Bearer {tokens['access_token']}"})

`running_emulator` serves `create_app(config)` with uvicorn in a background thread on a free
127.0.0.1 port and stops it on exit.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import uvicorn
from starlette.applications import Starlette

from .app import create_app
from .config import EmulatorConfig
from .runtime import Emulator
from .server import uvicorn_config


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class RunningEmulator:
    """A live emulator: its URLs, OAuth client, and shortcuts into the control API."""

    config: EmulatorConfig
    app: Starlette

    @property
    def emulator(self) -> Emulator:
        emulator: Emulator = self.app.state.emulator
        return emulator

    @property
    def base_url(self) -> str:
        return self.config.public_base_url

    @property
    def client_id(self) -> str:
        return self.config.client_id

    @property
    def client_secret(self) -> str:
        return self.config.client_secret

    @property
    def verifier_token(self) -> str:
        return self.config.verifier_token

    @property
    def credentials(self) -> dict[str, str]:
        return self.config.credentials()

    def api_url(self, realm_id: str) -> str:
        return f"{self.base_url}/v3/company/{realm_id}"

    def control(self, method: str, path: str, **kwargs: Any) -> Any:
        """Call `/_emulator{path}` and return its JSON (raises on HTTP errors)."""
        response = httpx.request(method, f"{self.base_url}/_emulator{path}", timeout=60, **kwargs)
        response.raise_for_status()
        return response.json()

    def create_company(self, name: str = "Sandbox Company", *, seed: bool = True, home_currency: str | None = None,
                       country: str = "US", multicurrency: bool = False) -> dict[str, Any]:
        """A company of edition `country` (US, GB, CA); `home_currency` defaults to the country's
        (USD, GBP, CAD)."""
        body: dict[str, Any] = {"name": name, "seed": seed, "country": country, "multicurrency": multicurrency}
        if home_currency:
            body["home_currency"] = home_currency
        result: dict[str, Any] = self.control("POST", "/companies", json=body)
        return result

    def tokens(self, realm_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self.control("POST", f"/companies/{realm_id}/tokens")
        return result

    def reset(self) -> None:
        self.control("POST", "/reset")


@contextlib.contextmanager
def running_emulator(config: EmulatorConfig | None = None, *, startup_timeout: float = 10.0
                     ) -> Iterator[RunningEmulator]:
    """Run the emulator on a real socket in a background thread for the `with` block.

    `config.port` 0 or the default 8010 is replaced by a free port; `config.base_url` is set to
    the actual address.
    """
    config = config or EmulatorConfig()
    if config.port in (0, 8010):
        config.port = free_port(config.host)
    config.base_url = f"http://{config.host}:{config.port}"
    app = create_app(config)
    server = uvicorn.Server(uvicorn_config(app, config.host, config.port))
    thread = threading.Thread(target=server.run, name="qbo-emulator", daemon=True)
    thread.start()
    deadline = time.monotonic() + startup_timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("QBO emulator did not start")
        time.sleep(0.01)
    try:
        yield RunningEmulator(config=config, app=app)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
