"""A live QBO emulator on a real socket, the product pointed at it, and the embedded worker running.

The product reaches the emulator only over HTTP, as it would reach Intuit. Deliveries run on real
Dramatiq worker threads (Stub broker), so tests use ``transactional_db`` and wait with ``settle``.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import dramatiq
import httpx
import pytest
from django.db.models import F, Q
from django.utils import timezone
from dramatiq.brokers.rabbitmq import RabbitmqBroker
from dramatiq.brokers.stub import StubBroker

from accounts.models import User
from procurement.models import Document, ListKind, ListOption
from qbo_emulator.config import EmulatorConfig, Limits
from qbo_emulator.testing import RunningEmulator, running_emulator
from quickbooks import limits
from quickbooks.models import Connection
from quickbooks.services import connection_complete, connection_start, connection_update_settings, lists_import
from tests.conftest import use_emulator

REDIRECT_URI = "http://localhost/integrations/callback/"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def emulator() -> Iterator[RunningEmulator]:
    with running_emulator(EmulatorConfig(limits=Limits(enabled=False), webhook_retry_scale=0.001)) as emu:
        yield emu


@pytest.fixture
def qbo_settings(settings: Any, emulator: RunningEmulator) -> RunningEmulator:
    use_emulator(settings, emulator)
    limits._limiters.clear()
    emulator.control("DELETE", "/faults")
    return emulator


WORKER_PROCESSES = int(os.environ.get("PROCURESYNC_TEST_WORKER_PROCESSES", "0"))


def _worker_env() -> dict[str, str]:
    """The environment a separate worker process needs to act on this test's database and emulator."""
    from django.conf import settings as django_settings
    from django.db import connection

    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        url = f"sqlite:///{db['NAME']}"
    else:
        url = f"postgres://{db['USER'] or 'postgres'}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    names = (
        "QBO_CLIENT_ID",
        "QBO_CLIENT_SECRET",
        "QBO_WEBHOOK_VERIFIER_TOKEN",
        "QBO_API_BASE_URL",
        "QBO_AUTH_URL",
        "QBO_TOKEN_URL",
        "QBO_REVOKE_URL",
        "QBO_RETRY_SCALE",
        "QBO_HTTP_TIMEOUT",
        "QBO_PAYMENTS_CATCHUP_MINUTES",
        "MEDIA_ROOT",
    )
    env = {**os.environ, "DATABASE_URL": url, "DEBUG": "0"}
    env.update({name: str(getattr(django_settings, name)) for name in names})
    return env


def _flush_all(broker: dramatiq.Broker) -> None:
    """Drop every queued message. RabbitMQ closes a connection left idle past its heartbeat (this
    process's, between tests); Dramatiq's flush does not reconnect as its sends do, so do it here."""
    try:
        broker.flush_all()
    except Exception:
        if not isinstance(broker, RabbitmqBroker):
            raise
        del broker.connection  # the next use opens a new one
        broker.flush_all()


def _forget_unfinished(broker: StubBroker) -> dict[str, int]:
    """The stub broker's queues count a message as unfinished from the moment a worker takes it
    until it is acknowledged, and a stopped worker neither acknowledges nor puts back the messages
    it had taken (Dramatiq's stub consumer does not requeue). With no worker running, reset the
    counts so that ``join()`` in later tests waits only for their own messages; say what was left."""
    left = {}
    for name, queue in broker.queues.items():
        with queue.all_tasks_done:
            if queue.unfinished_tasks:
                left[name] = queue.unfinished_tasks
                queue.unfinished_tasks = 0
                queue.all_tasks_done.notify_all()
    return left


@pytest.fixture
def worker(request: pytest.FixtureRequest, transactional_db: None) -> Iterator[Any]:
    """Dramatiq workers for the test: threads in this process (embedded mode), or, with
    PROCURESYNC_TEST_WORKER_PROCESSES=N and a Redis or RabbitMQ broker, N separate `rundramatiq`
    processes (the scaled-out mode). Tests that reach into the worker (pause it, patch code) stay
    in-process. With RabbitMQ, messages a stopped worker held go back to the queue when its
    connection closes, before the flush after the test."""
    broker = dramatiq.get_broker()
    _flush_all(broker)
    separate = WORKER_PROCESSES and not isinstance(broker, StubBroker)
    if separate and request.node.get_closest_marker("in_process_worker") is None:
        env = _worker_env()
        processes = [
            subprocess.Popen(
                [sys.executable, "manage.py", "rundramatiq", "--processes", "1", "--threads", "4"],
                cwd=ROOT,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
            for _ in range(WORKER_PROCESSES)
        ]
        yield processes
        for process in processes:
            os.killpg(process.pid, signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
    else:
        thread_worker = dramatiq.Worker(broker, worker_timeout=20, worker_threads=4)
        thread_worker.start()
        yield thread_worker
        thread_worker.stop()
    _flush_all(broker)
    if isinstance(broker, StubBroker):
        left = _forget_unfinished(broker)
        assert not left, (
            f"the test ended with messages a worker had taken but not finished ({left}): settle() before it "
            "ends, or every later settle() in this process would wait for them"
        )


def _busy() -> bool:
    """Is any background work still due: deliveries, webhook events, date-range imports, reconciliations?"""
    from quickbooks.models import (
        EventState,
        ImportState,
        ListImportRun,
        OutboxItem,
        OutboxState,
        PaymentImportRun,
        PaymentsCursor,
        ReconciliationRun,
        ReconciliationState,
        RunState,
        WebhookEvent,
    )

    deliveries = OutboxItem.objects.filter(
        state__in=[OutboxState.IN_FLIGHT, OutboxState.PENDING],
        not_before__lte=timezone.now() + dt.timedelta(seconds=5),
    ).exclude(last_error__startswith="Waiting for QuickBooks to be reconnected")
    events = WebhookEvent.objects.filter(state__in=[EventState.PENDING, EventState.PROCESSING])
    imports = PaymentImportRun.objects.filter(state__in=[ImportState.QUEUED, ImportState.RUNNING])
    # A catch-up queued by scheduler.tick() that has not finished (nor failed) yet.
    catch_ups = PaymentsCursor.objects.filter(last_started_at__isnull=False, last_error="").filter(
        Q(last_finished_at__isnull=True) | Q(last_finished_at__lt=F("last_started_at"))
    )
    reconciliations = ReconciliationRun.objects.filter(
        state__in=[ReconciliationState.QUEUED, ReconciliationState.RUNNING]
    )
    list_imports = ListImportRun.objects.filter(state__in=[RunState.QUEUED, RunState.RUNNING])
    return (
        deliveries.exists()
        or events.exists()
        or imports.exists()
        or catch_ups.exists()
        or reconciliations.exists()
        or list_imports.exists()
    )


def settle(timeout: float = 60.0) -> None:
    """Wait until all queued background work (including delayed retries) has run, whether the
    workers are threads here (Stub broker) or separate processes (Redis or RabbitMQ)."""
    broker = dramatiq.get_broker()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if isinstance(broker, StubBroker):
            broker.join("quickbooks", timeout=int(timeout * 1000))
        if not _busy():
            if isinstance(broker, StubBroker):
                return
            time.sleep(0.2)  # let a worker's just-received message finish its bookkeeping
            if not _busy():
                return
        time.sleep(0.05)
    raise AssertionError("background work did not settle in time")


@dataclass
class Qbo:
    """The connected QuickBooks company of a test, seen through the emulator."""

    emulator: RunningEmulator
    realm_id: str
    connection: Connection

    def api(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        token = self.emulator.tokens(self.realm_id)["access_token"]
        response = httpx.request(
            method,
            f"{self.emulator.api_url(self.realm_id)}/{path}",
            headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
            timeout=30,
            **kwargs,
        )
        response.raise_for_status()
        body: dict[str, Any] = response.json()
        return body

    def query(self, sql: str) -> dict[str, Any]:
        answer: dict[str, Any] = self.api("GET", "query", params={"query": sql})["QueryResponse"]
        return answer

    def bill(self, qbo_id: str) -> dict[str, Any]:
        bill: dict[str, Any] = self.api("GET", f"bill/{qbo_id}")["Bill"]
        return bill

    def control(self, method: str, path: str, **kwargs: Any) -> Any:
        return self.emulator.control(method, f"/companies/{self.realm_id}{path}", **kwargs)

    def close_books(self, date: dt.date | None) -> None:
        self.control("PUT", "/closing-date", json={"date": date.isoformat() if date else None})
        Connection.objects.filter(pk=self.connection.pk).update(book_close_checked_at=None)

    def fault(self, **body: Any) -> None:
        self.emulator.control("POST", "/faults", json=body)


def consent(auth_url: str, realm: str = "new") -> dict[str, str]:
    """What a person does on Intuit's consent page: pick a (new) company and press Connect."""
    parsed = urlparse(auth_url)
    params = {k: v[0] for k, v in parse_qs(parsed.query).items()}
    response = httpx.post(
        f"{parsed.scheme}://{parsed.netloc}{parsed.path}",
        data={**params, "decision": "connect", "realm": realm, "company_name": "Test Books Inc"},
        timeout=30,
    )
    assert response.status_code == 302, response.text
    return {k: v[0] for k, v in parse_qs(urlparse(response.headers["location"]).query).items()}


def connect(admin: User, *, document_kind: str = "invoice", auto_send: bool = True, realm: str = "new") -> Qbo:
    """Connect ``admin``'s company through the real OAuth flow (to QuickBooks company ``realm``, or
    a new one), import lists, pick defaults."""
    from qbo_emulator.testing import RunningEmulator  # noqa: F401  (type only)

    url = connection_start(actor=admin, redirect_uri=REDIRECT_URI)
    answer = consent(url, realm=realm)
    connection = connection_complete(
        actor=admin, code=answer["code"], state=answer["state"], realm_id=answer["realmId"], redirect_uri=REDIRECT_URI
    )
    lists_import(actor=admin)
    expense = ListOption.objects.filter(company_id=admin.tenant_id, kind=ListKind.ACCOUNT, detail="Expense").first()
    payable = ListOption.objects.filter(
        company_id=admin.tenant_id, kind=ListKind.ACCOUNT, detail="Accounts Payable"
    ).first()
    assert expense is not None and payable is not None, "the emulator's seeded chart of accounts"
    connection = connection_update_settings(
        actor=admin,
        document_kind=document_kind,
        auto_send=auto_send,
        import_payments=True,
        default_expense_account_id=expense.pk,
        default_ap_account_id=payable.pk,
    )
    return Qbo(emulator=_EMULATOR[0], realm_id=answer["realmId"], connection=connection)


_EMULATOR: list[RunningEmulator] = []


@pytest.fixture
def qbo(qbo_settings: RunningEmulator, worker: dramatiq.Worker, admin: User) -> Qbo:
    _EMULATOR[:] = [qbo_settings]
    return connect(admin)


def sync_of(document: Document) -> Any:
    from quickbooks.models import DocumentSync

    return DocumentSync.objects.get(document=document)
