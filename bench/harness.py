"""Shared set-up for the product benchmarks: a throw-away procuresync and a QBO emulator process.

The emulator runs in its own process (uvicorn, QBO's limits on by default) and the product talks
to it over HTTP only, as to Intuit. The product runs in this process in its embedded mode: its own
SQLite file (or DATABASE_URL), the Stub broker and Dramatiq worker threads.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class EmulatorProcess:
    def __init__(self, *, limits: bool = True, extra: list[str] | None = None) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="qbo-bench-"))
        self.port = free_port()
        args = [sys.executable, "-m", "qbo_emulator", "--port", str(self.port),
                "--credentials-file", str(self.dir / "creds.json"), *(extra or [])]
        if not limits:
            args.append("--no-limits")
        self.process = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.base_url = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 20
        while True:
            try:
                if httpx.get(f"{self.base_url}/_emulator/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise RuntimeError("the emulator did not start")
            time.sleep(0.1)
        self.credentials: dict[str, str] = json.loads((self.dir / "creds.json").read_text())

    def control(self, method: str, path: str, **kwargs: Any) -> Any:
        response = httpx.request(method, f"{self.base_url}/_emulator{path}", timeout=120, **kwargs)
        response.raise_for_status()
        return response.json()

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


def setup_product(emulator: EmulatorProcess, *, worker_threads: int = 8) -> Any:
    """Configure and start Django against a fresh database, pointed at ``emulator``."""
    os.environ.setdefault("PROCURESYNC_VAR_DIR", tempfile.mkdtemp(prefix="procuresync-bench-"))
    os.environ["DJANGO_SETTINGS_MODULE"] = "procuresync.settings"
    os.environ["DEBUG"] = "0"
    os.environ["QBO_CREDENTIALS_FILE"] = str(emulator.dir / "creds.json")
    import django

    django.setup()
    import dramatiq
    from django.conf import settings
    from django.core.management import call_command

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    call_command("migrate", verbosity=0)
    worker = dramatiq.Worker(dramatiq.get_broker(), worker_threads=worker_threads, worker_timeout=50)
    worker.start()
    return worker


def connect(admin: Any, emulator: EmulatorProcess) -> str:
    """The real OAuth flow, lists import and default accounts; returns the realm id."""
    from procurement.models import ListKind, ListOption
    from quickbooks.services import connection_complete, connection_start, connection_update_settings, lists_import

    redirect = "http://localhost/integrations/callback/"
    url = connection_start(actor=admin, redirect_uri=redirect)
    parsed = urlparse(url)
    params = {k: v[0] for k, v in parse_qs(parsed.query).items()}
    answer = httpx.post(f"{emulator.base_url}{parsed.path}", data={**params, "decision": "connect", "realm": "new"})
    query = {k: v[0] for k, v in parse_qs(urlparse(answer.headers["location"]).query).items()}
    connection_complete(actor=admin, code=query["code"], state=query["state"], realm_id=query["realmId"],
                        redirect_uri=redirect)
    lists_import(actor=admin)
    options = ListOption.objects.filter(company_id=admin.tenant_id, kind=ListKind.ACCOUNT)
    connection_update_settings(
        actor=admin, document_kind="invoice", auto_send=True, import_payments=True,
        default_expense_account_id=options.filter(detail="Expense").values_list("pk", flat=True)[0],
        default_ap_account_id=options.filter(detail="Accounts Payable").values_list("pk", flat=True)[0],
    )
    return query["realmId"]


def percentile(values: list[float], p: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[index]


def run_against_emulator(run: Any, args: Any, *, limits: bool) -> None:
    """Start an emulator and the product, print ``run(emulator, args)`` as JSON, stop both."""
    emulator = EmulatorProcess(limits=limits)
    worker = setup_product(emulator)
    try:
        print(json.dumps(run(emulator, args), indent=2))
    finally:
        worker.stop()
        emulator.stop()


def bench_company(emulator: EmulatorProcess, *, suppliers: int = 20) -> tuple[Any, str, list[Any]]:
    """A company connected to a new QuickBooks company: (its owner with every role, realm, suppliers)."""
    from accounts.roles import Role
    from accounts.services import company_create, user_create
    from procurement.inputs import SupplierData
    from procurement.services import supplier_create

    company = company_create(name="Bench Co")
    owner = user_create(company=company, username="bench-owner", password="quartz-ledger-walk", roles=set(Role))
    realm = connect(owner, emulator)
    made = [
        supplier_create(actor=owner, data=SupplierData(name=f"Bench Supplier {i}", currency="USD"))
        for i in range(suppliers)
    ]
    return owner, realm, made
