"""The API contract check: schemathesis against a live procuresync, from the schema it publishes.

``LiveProduct`` serves a throw-away procuresync in its own process, as the README's start command
does (the embedded server, a fresh SQLite file, the demo company), and gives an owner's API token.
``run_schemathesis`` runs the schemathesis CLI against it with every check and every phase
(examples, coverage, fuzzing, stateful) and returns what it found: cases generated, operations
and links covered, failures by kind, and the CLI's own report, whose failures each come with the
``curl`` that reproduces them.

Used by tests/api/test_api_contract.py (small and seeded, every CI run) and bench/fuzz.py (longer).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[2]
HOOKS = "tests.api.contract_hooks"
CONFIG = Path(__file__).with_name("schemathesis.toml")


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LiveProduct:
    """procuresync served by ``manage.py serve`` on a free port, with the demo company, on its own
    database: a fresh SQLite file, or a fresh database on the PostgreSQL server that
    ``DATABASE_URL`` names (dropped again by ``stop``), so the contract is checked on both."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="procuresync-contract-"))
        self.port = _free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "PROCURESYNC_VAR_DIR": str(self.dir),
            "DJANGO_SETTINGS_MODULE": "procuresync.settings",
            "API_TOKEN_RATE": "100000/min",  # the fuzzer is one client trying many passwords
            "QBO_CREDENTIALS_FILE": str(self.dir / "no-emulator.json"),
        }
        self.env.pop("DRAMATIQ_BROKER_URL", None)  # the embedded worker, as the start command runs it
        server = os.environ.get("DATABASE_URL", "")
        self.postgres = server.rsplit("/", 1)[0] if server.startswith("postgres") else ""
        self.database = f"procuresync_contract_{os.getpid()}_{self.port}"
        if self.postgres:
            self.env["DATABASE_URL"] = f"{self.postgres}/{self.database}"
        else:
            self.env.pop("DATABASE_URL", None)
        self.process: subprocess.Popen[bytes] | None = None
        self.token = ""

    def _manage(self, *args: str) -> str:
        done = subprocess.run(
            [sys.executable, "manage.py", *args], cwd=ROOT, env=self.env, capture_output=True, text=True, check=True
        )
        return done.stdout

    def _postgres(self, statement: str) -> None:
        import psycopg

        with psycopg.connect(f"{self.postgres}/postgres", autocommit=True) as connection:
            connection.execute(statement)

    def start(self) -> LiveProduct:
        if self.postgres:
            self._postgres(f'CREATE DATABASE "{self.database}"')
        self._manage("migrate", "--verbosity", "0")
        self._manage("demo_data", "--url", self.base_url)
        self.token = re.search(r"Generated token (\w+)", self._manage("drf_create_token", "owner")).group(1)  # type: ignore[union-attr]
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "serve", f"127.0.0.1:{self.port}"],
            cwd=ROOT,
            env=self.env,
            stdout=(self.dir / "serve.log").open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                httpx.get(f"{self.base_url}/api/schema/", timeout=2).raise_for_status()
                return self
            except httpx.HTTPError:
                if self.process.poll() is not None:
                    break
                time.sleep(0.2)
        raise RuntimeError(f"procuresync did not start; see {self.dir / 'serve.log'}")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
        if self.postgres:
            self._postgres(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')
        shutil.rmtree(self.dir, ignore_errors=True)


@dataclass
class ContractRun:
    exit_code: int
    generated: int
    unique_failures: int
    operations_tested: int
    operations_total: int
    links_covered: int
    links_total: int
    failures_by_kind: dict[str, int]
    warnings: dict[str, list[Any]]
    seconds: float
    output: str = field(repr=False)
    report: dict[str, Any] = field(repr=False, default_factory=dict)

    def summary(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k not in ("output", "report")}


def run_schemathesis(
    product: LiveProduct,
    *,
    max_examples: int,
    seed: int,
    max_time: int | None = None,
    phases: str = "examples,coverage,fuzzing,stateful",
    workers: int = 2,
) -> ContractRun:
    report = product.dir / "schemathesis.json"
    command = [
        str(Path(sys.executable).with_name("st")),
        "--config-file",
        str(CONFIG),
        "run",
        f"{product.base_url}/api/schema/",
        "--url",
        product.base_url,
        "-H",
        f"Authorization: Token {product.token}",
        "--checks",
        "all",
        "--phases",
        phases,
        "--max-examples",
        str(max_examples),
        "--seed",
        str(seed),
        "--workers",
        str(workers),
        "--generation-database",
        "none",
        "--no-color",
        "--report",
        "json",
        "--report-json-path",
        str(report),
    ]
    if max_time:
        command += ["--max-time", str(max_time)]
    env = {**product.env, "SCHEMATHESIS_HOOKS": HOOKS, "PYTHONPATH": str(ROOT)}
    env["CONTRACT_BASE_URL"], env["CONTRACT_TOKEN"] = product.base_url, product.token
    started = time.monotonic()
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    output = done.stdout + done.stderr
    data = json.loads(report.read_text()) if report.exists() else {}
    links = re.search(r"API Links:\s+(\d+) covered / \d+ selected / (\d+) total", output)
    return ContractRun(
        exit_code=done.returncode,
        generated=data.get("test_cases", {}).get("generated", 0),
        unique_failures=data.get("test_cases", {}).get("unique_failures", 0),
        operations_tested=data.get("operations", {}).get("tested", 0),
        operations_total=data.get("operations", {}).get("total", 0),
        links_covered=int(links.group(1)) if links else 0,
        links_total=int(links.group(2)) if links else 0,
        failures_by_kind={f"{f['code']} {f['title']}": f["count"] for f in data.get("failures", [])},
        warnings={k: v for k, v in data.get("warnings", {}).items() if v},
        seconds=round(time.monotonic() - started, 1),
        output=output,
        report=data,
    )
