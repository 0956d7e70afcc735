"""Production settings checked: Django's own deployment checklist finds nothing to warn about."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def check_deploy(**env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k not in ("DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "HTTPS")}
    environment.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
    )


def test_given_the_documented_production_environment_when_checked_for_deployment_then_no_issue() -> None:
    done = check_deploy(
        DEBUG="0", SECRET_KEY=secrets.token_urlsafe(50), ALLOWED_HOSTS="procure.example.com", HTTPS="1"
    )

    assert done.returncode == 0, done.stdout + done.stderr
    assert "no issues" in done.stdout


def test_given_the_embedded_defaults_when_checked_for_deployment_then_debug_and_http_are_flagged() -> None:
    done = check_deploy()  # the check can fail: the laptop defaults are not a production setup

    assert done.returncode != 0
    assert "security.W018" in done.stderr and "security.W008" in done.stderr  # DEBUG on; no HTTPS redirect


def test_given_the_web_process_when_its_application_is_loaded_then_the_start_up_heap_is_not_scanned_again() -> None:
    # procuresync/wsgi.py: full garbage collections skip what was loaded at start.
    probe = "import gc, procuresync.wsgi; print(gc.get_freeze_count(), len(gc.get_objects()))"
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True)

    frozen, scanned = map(int, done.stdout.split())
    assert frozen > 10 * scanned, done.stdout
