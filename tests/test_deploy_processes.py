"""The production layout runs: deploy/Procfile's web, worker and scheduler as separate processes on
PostgreSQL and Redis, each started the way a Procfile runner starts it.

Given a company connected to QuickBooks (the emulator), when an invoice is created, submitted and
approved through the web process's REST API, then the worker process sends it and QuickBooks holds
the bill; the scheduler's first sweep queues a payments catch-up that the worker runs; and SIGTERM
stops every process within a timeout, without a traceback and with no delivery left in flight.

PostgreSQL and Redis come from DEPLOY_TEST_POSTGRES_URL and DEPLOY_TEST_REDIS_URL (default: the
local ones, as on CI); the test is skipped when either does not answer. It runs twice: with Redis as
the broker, and with RabbitMQ (DEPLOY_TEST_RABBITMQ_URL, default the local one with RabbitMQ's
default guest user; skipped when it does not answer or `rabbitmqctl` cannot make a virtual host)
with Redis counting the QuickBooks limits. Everything it makes is its own (a database, a Dramatiq
namespace or virtual host named for the run, free ports, its own emulator), so parallel runs (-n 2)
and other suites on the same servers never meet.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx
import psycopg
import pytest
import redis
from psycopg import sql

from qbo_emulator.config import EmulatorConfig, Limits
from qbo_emulator.testing import RunningEmulator, free_port, running_emulator

ROOT = Path(__file__).resolve().parents[1]
PROCFILE = ROOT / "deploy" / "Procfile"
POSTGRES_URL = os.environ.get("DEPLOY_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("DEPLOY_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
RABBITMQ_URL = os.environ.get("DEPLOY_TEST_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672")  # no vhost
STOP_TIMEOUT = 30.0  # seconds for all processes to stop after SIGTERM (nothing is in hand by then)
# The scheduler's first sweep comes 15 s after it starts; generous on a busy CI machine.
WAIT_TIMEOUT = 45.0
# What the test's environment might carry from another mode; the processes get only ours.
FOREIGN_PREFIXES = (
    "DATABASE_",
    "DRAMATIQ_",
    "QBO_",
    "RATE_LIMIT_",
    "HSTS_",
    "HTTPS",
    "DEBUG",
    "SECRET_KEY",
    "ALLOWED_HOSTS",
    "CSRF_TRUSTED_ORIGINS",
    "MEDIA_ROOT",
    "PROCURESYNC_",
    "PORT",
    "WEB_",
    "WORKER_",
)

pytestmark = pytest.mark.socket

# Run by `manage.py shell -c` on the test's database: a company with a user per role, connected to
# the emulator as an Admin connects it (Intuit's consent page: a new company, Connect), its lists
# imported and invoices sent automatically. Prints the QuickBooks company's realm id.
SETUP = """
import json, os
from urllib.parse import parse_qs, urlparse
import httpx
from accounts.roles import Role
from accounts.services import company_create, user_create
from procurement.models import ListKind, ListOption
from quickbooks.services import connection_complete, connection_start, connection_update_settings, lists_import

password = os.environ["DEPLOY_TEST_PASSWORD"]
company = company_create(name="Acme", home_currency="USD")
roles = {"creator": Role.CREATE, "approver": Role.APPROVE, "admin": Role.ADMIN}
for name, role in roles.items():
    user_create(company=company, username=name, password=password, roles={role})
admin = company.users.get(username="admin")
redirect_uri = "http://localhost/integrations/callback/"
auth = urlparse(connection_start(actor=admin, redirect_uri=redirect_uri))
form = {key: values[0] for key, values in parse_qs(auth.query).items()}
form.update(decision="connect", realm="new", company_name="Deploy Books")
consent = httpx.post(f"{auth.scheme}://{auth.netloc}{auth.path}", data=form, timeout=30)
back = {key: values[0] for key, values in parse_qs(urlparse(consent.headers["location"]).query).items()}
connection_complete(
    actor=admin, code=back["code"], state=back["state"], realm_id=back["realmId"], redirect_uri=redirect_uri
)
lists_import(actor=admin)
accounts = ListOption.objects.filter(company=company, kind=ListKind.ACCOUNT)
connection_update_settings(
    actor=admin,
    document_kind="invoice",
    auto_send=True,
    import_payments=True,
    default_expense_account_id=accounts.filter(detail="Expense").first().pk,
    default_ap_account_id=accounts.filter(detail="Accounts Payable").first().pk,
)
print(json.dumps({"realm_id": back["realmId"]}))
"""


def procfile(path: Path) -> dict[str, str]:
    """``name: command`` lines, as honcho and foreman read them."""
    entries: dict[str, str] = {}
    for line in path.read_text().splitlines():
        name, colon, command = line.partition(":")
        if line.startswith("#") or not colon or not name.strip().isidentifier():
            continue
        entries[name.strip()] = command.strip()
    return entries


@dataclass
class Supervisor:
    """What a Procfile runner does, reduced to what the test needs: each command run by /bin/sh in
    a session (process group) of its own, its output in a file. Stopping sends SIGTERM to each main
    process only, as the units in deploy/systemd/ do (KillMode=mixed): Dramatiq passes it on to its
    worker processes itself, and takes a second SIGTERM as "quit now"."""

    logs: Path
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def start(self, name: str, command: str, env: dict[str, str]) -> None:
        with (self.logs / f"{name}.log").open("wb") as log:
            self.processes[name] = subprocess.Popen(
                ["/bin/sh", "-c", command],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def output(self, name: str) -> str:
        return (self.logs / f"{name}.log").read_text(errors="replace")

    def report(self) -> str:
        """The end of every process's output, for a failure message."""
        return "\n".join(
            f"--- {name} (exit {p.poll()}):\n{self.output(name)[-3000:]}" for name, p in self.processes.items()
        )

    def dead(self) -> list[str]:
        return [name for name, process in self.processes.items() if process.poll() is not None]

    def stop(self, timeout: float) -> dict[str, int | None]:
        """SIGTERM to each main process at once, then the exit code of each (None: still running)."""
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        codes: dict[str, int | None] = {}
        for name, process in self.processes.items():
            try:
                codes[name] = process.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                codes[name] = None
        return codes

    def kill(self) -> None:
        """SIGKILL to whatever is left of every process group (always called at the end)."""
        for process in self.processes.values():
            with contextlib.suppress(ProcessLookupError, PermissionError):  # the whole group has exited
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def wait_for(what: str, probe: Callable[[], Any], supervisor: Supervisor, timeout: float = WAIT_TIMEOUT) -> Any:
    """Poll ``probe`` until it returns something true; fail early when a process has died."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        assert not supervisor.dead(), f"{supervisor.dead()} exited while waiting for {what}\n{supervisor.report()}"
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout:g} s waiting for {what}\n{supervisor.report()}")


def rabbitmqctl(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["rabbitmqctl", "-q", *args], capture_output=True, text=True, timeout=60)


@pytest.fixture(params=["redis", "rabbitmq"])
def broker_env(request: pytest.FixtureRequest) -> Iterator[dict[str, str]]:
    """The broker variables of this run's own: a namespace on Redis, or a virtual host on RabbitMQ
    (with Redis still counting the QuickBooks limits, as settings.py requires)."""
    server = urlparse(REDIS_URL)
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3, socket_timeout=3)
    try:
        client.ping()
    except redis.RedisError as exc:
        pytest.skip(f"Redis is not reachable at {server.hostname}:{server.port or 6379}: {exc}")
    name = f"procuresync-deploy-test-{secrets.token_hex(6)}"
    if request.param == "redis":
        try:
            yield {"DRAMATIQ_BROKER_URL": REDIS_URL, "DRAMATIQ_NAMESPACE": name}
        finally:
            keys = list(client.scan_iter(match=f"{name}*"))
            if keys:
                client.delete(*keys)
            client.close()
        return
    client.close()
    rabbit = urlparse(RABBITMQ_URL)
    try:
        socket.create_connection((rabbit.hostname or "127.0.0.1", rabbit.port or 5672), timeout=3).close()
    except OSError as exc:
        pytest.skip(f"RabbitMQ is not reachable at {rabbit.hostname}:{rabbit.port or 5672}: {exc}")
    if shutil.which("rabbitmqctl") is None:
        pytest.skip("a virtual host of the test's own needs rabbitmqctl")
    made = rabbitmqctl("add_vhost", name)
    if made.returncode != 0:
        pytest.skip(f"rabbitmqctl could not add a virtual host: {made.stderr.strip()}")
    try:
        allowed = rabbitmqctl("set_permissions", "-p", name, rabbit.username or "guest", ".*", ".*", ".*")
        assert allowed.returncode == 0, allowed.stderr
        yield {"DRAMATIQ_BROKER_URL": f"{RABBITMQ_URL.rstrip('/')}/{name}", "RATE_LIMIT_REDIS_URL": REDIS_URL}
    finally:
        rabbitmqctl("delete_vhost", name)


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh, empty database of this run's own, dropped at the end (with whatever still holds it)."""
    server = urlparse(POSTGRES_URL)
    try:
        admin = psycopg.connect(POSTGRES_URL, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        pytest.skip(f"PostgreSQL is not reachable at {server.hostname}:{server.port or 5432}: {exc}")
    name = f"procuresync_deploy_test_{secrets.token_hex(6)}"
    with admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield server._replace(path=f"/{name}").geturl()
    finally:
        with psycopg.connect(POSTGRES_URL, autocommit=True, connect_timeout=10) as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture
def emulator() -> Iterator[RunningEmulator]:
    with running_emulator(EmulatorConfig(limits=Limits(enabled=False))) as emu:
        yield emu


@pytest.fixture
def supervisor(tmp_path: Path) -> Iterator[Supervisor]:
    running = Supervisor(logs=tmp_path)
    try:
        yield running
    finally:
        running.kill()


def production_env(
    *, database_url: str, broker: dict[str, str], emulator: RunningEmulator, tmp_path: Path
) -> dict[str, str]:
    """deploy/env.example filled in for this run, with QuickBooks pointed at the emulator."""
    creds = emulator.credentials
    runtime_dir = tmp_path / "run"
    runtime_dir.mkdir()
    env = {key: value for key, value in os.environ.items() if not key.startswith(FOREIGN_PREFIXES)}
    env.update(
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",  # gunicorn, python
        PYTHONUNBUFFERED="1",
        # gunicorn's control socket: this run's own, not the user's ~/.gunicorn/gunicorn.ctl.
        XDG_RUNTIME_DIR=str(runtime_dir),
        DATABASE_URL=database_url,
        **broker,
        SECRET_KEY=secrets.token_urlsafe(50),
        DEBUG="0",
        ALLOWED_HOSTS="127.0.0.1,localhost",
        PROCURESYNC_VAR_DIR=str(tmp_path / "var"),
        MEDIA_ROOT=str(tmp_path / "media"),
        QBO_CLIENT_ID=creds["client_id"],
        QBO_CLIENT_SECRET=creds["client_secret"],
        QBO_WEBHOOK_VERIFIER_TOKEN=creds["verifier_token"],
        QBO_API_BASE_URL=creds["base_url"],
        QBO_AUTH_URL=creds["auth_url"],
        QBO_TOKEN_URL=creds["token_url"],
        QBO_REVOKE_URL=creds["revoke_url"],
        QBO_RETRY_SCALE="0.001",  # should anything be retried, milliseconds rather than seconds
        WEB_HOST="127.0.0.1",
        PORT=str(free_port()),
        WEB_CONCURRENCY="2",
        WEB_THREADS="2",
        WORKER_PROCESSES="2",
        WORKER_THREADS="2",
    )
    return env


def manage(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, f"manage.py {args[0]} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def test_given_the_procfile_processes_when_an_invoice_is_approved_then_the_worker_sends_it_and_sigterm_stops_all(
    broker_env: dict[str, str], postgres_url: str, emulator: RunningEmulator, supervisor: Supervisor, tmp_path: Path
) -> None:
    env = production_env(database_url=postgres_url, broker=broker_env, emulator=emulator, tmp_path=tmp_path)
    password = secrets.token_urlsafe(16)
    manage(env, "migrate", "--noinput", "--verbosity", "0")
    printed = manage({**env, "DEPLOY_TEST_PASSWORD": password}, "shell", "-c", SETUP)
    realm_id = json.loads(printed.splitlines()[-1])["realm_id"]
    commands = procfile(PROCFILE)
    assert set(commands) == {"web", "worker", "scheduler"}
    for name, command in commands.items():
        supervisor.start(name, command, env)
    with (
        psycopg.connect(postgres_url, autocommit=True) as database,
        httpx.Client(base_url=f"http://127.0.0.1:{env['PORT']}/api/v1", timeout=30) as api,
    ):

        def row(query: str, *params: Any) -> tuple[Any, ...] | None:
            return database.execute(query, params).fetchone()

        def web_answers() -> bool:
            try:
                return api.get("/me").status_code == 401
            except httpx.TransportError:
                return False

        def sync_settled(invoice_id: int) -> tuple[Any, ...] | None:
            found = row(
                "SELECT status, qbo_id, error_message FROM quickbooks_documentsync WHERE document_id = %s", invoice_id
            )
            return found if found and found[0] in ("sent", "failed") else None

        def login(username: str) -> dict[str, str]:
            answer = api.post("/auth/token", json={"username": username, "password": password})
            assert answer.status_code == 200, answer.text
            return {"Authorization": f"Token {answer.json()['token']}"}

        try:
            wait_for("the web process to answer", web_answers, supervisor)
            creator, approver = login("creator"), login("approver")

            # When: a supplier's invoice is created, submitted and approved, all through the web process.
            supplier = api.post("/suppliers/", json={"name": "Paper Co", "currency": "USD"}, headers=creator)
            assert supplier.status_code == 201, supplier.text
            invoice = api.post(
                "/invoices/",
                headers=creator,
                json={
                    "supplier": supplier.json()["id"],
                    "issue_date": dt.date.today().isoformat(),
                    "due_date": (dt.date.today() + dt.timedelta(days=30)).isoformat(),
                    "supplier_unique_code": "PAPER-1001",
                    "lines": [{"description": "A4 paper", "quantity": "10", "unit_price": "5.00"}],
                },
            )
            assert invoice.status_code == 201, invoice.text
            invoice_id = invoice.json()["id"]
            submitted = api.post(f"/invoices/{invoice_id}/submit", json={}, headers=creator)
            assert submitted.status_code == 200, submitted.text
            approved = api.post(f"/invoices/{invoice_id}/approve", json={}, headers=approver)
            assert approved.status_code == 200 and approved.json()["status"] == "approved", approved.text

            # Then: the worker process sends it, and QuickBooks holds the bill.
            status, qbo_id, error = wait_for(
                "the invoice to be sent to QuickBooks", lambda: sync_settled(invoice_id), supervisor
            )
            assert (status, error) == ("sent", ""), supervisor.report()
            token = emulator.tokens(realm_id)["access_token"]
            bill = httpx.get(
                f"{emulator.api_url(realm_id)}/bill/{qbo_id}",
                headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
                timeout=30,
            ).json()["Bill"]
            assert (bill["DocNumber"], bill["TotalAmt"], bill["VendorRef"]["name"]) == ("PAPER-1001", 50.0, "Paper Co")

            # And the scheduler's first sweep queues the payments catch-up, which the worker runs.
            finished = wait_for(
                "the scheduler's payments catch-up to run",
                lambda: row("SELECT last_error FROM quickbooks_paymentscursor WHERE last_finished_at IS NOT NULL"),
                supervisor,
            )
            assert finished == ("",), finished
        finally:
            codes = supervisor.stop(STOP_TIMEOUT)

        # And: each process stopped by itself on SIGTERM, cleanly, and no delivery was left behind.
        assert codes == {"web": 0, "worker": 0, "scheduler": 0}, supervisor.report()
        for name in commands:
            assert "Traceback" not in supervisor.output(name), supervisor.report()
        outbox: dict[str, int] = dict(
            database.execute("SELECT state, count(*) FROM quickbooks_outboxitem GROUP BY state").fetchall()
        )
        assert outbox == {"done": 1}, outbox
