"""The broker settings: Redis or RabbitMQ by DRAMATIQ_BROKER_URL's scheme, and a configuration that
would leave processes sharing nothing (a typo'd URL, RabbitMQ without a Redis for the QuickBooks
limits, a Redis namespace that RabbitMQ would ignore) refused at start with a message that says why.

Each case loads the settings in a fresh process with only its own broker variables; nothing connects.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PLACEHOLDER_PASSWORD = "not-a-real-password"
RABBITMQ = f"amqp://someone:{PLACEHOLDER_PASSWORD}@rabbitmq.invalid:5672/procuresync-a"
SHOW = """
import json, django
django.setup()
import dramatiq
from django.conf import settings
broker = dramatiq.get_broker()
print(json.dumps({
    "broker": type(broker).__name__,
    "vhost": getattr(getattr(broker, "parameters", None), "virtual_host", None),
    "namespace": getattr(broker, "namespace", None),
    "rate_limits": settings.RATE_LIMIT_REDIS_URL,
}))
"""


def load(**env: str) -> subprocess.CompletedProcess[str]:
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DRAMATIQ_", "RATE_LIMIT_", "DJANGO_SETTINGS_MODULE"))
    }
    environment.update(env, DJANGO_SETTINGS_MODULE="procuresync.settings")
    return subprocess.run(
        [sys.executable, "-c", SHOW], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=60
    )


def loaded(**env: str) -> dict[str, str | None]:
    done = load(**env)
    assert done.returncode == 0, done.stderr
    result: dict[str, str | None] = json.loads(done.stdout.splitlines()[-1])
    return result


def refusal(**env: str) -> str:
    done = load(**env)
    assert done.returncode != 0
    assert "ImproperlyConfigured" in done.stderr
    assert PLACEHOLDER_PASSWORD not in done.stderr
    return done.stderr.strip().splitlines()[-1]


def test_given_a_redis_url_then_the_redis_broker_in_its_namespace_counts_the_limits_too() -> None:
    assert loaded(DRAMATIQ_BROKER_URL="redis://127.0.0.1:6379/0", DRAMATIQ_NAMESPACE="acme") == {
        "broker": "RedisBroker",
        "vhost": None,
        "namespace": "acme",
        "rate_limits": "redis://127.0.0.1:6379/0",
    }


def test_given_an_amqp_url_and_a_redis_for_the_limits_then_rabbitmq_in_the_urls_virtual_host() -> None:
    shown = loaded(DRAMATIQ_BROKER_URL=RABBITMQ, RATE_LIMIT_REDIS_URL="redis://127.0.0.1:6379/1")

    assert shown["broker"] == "RabbitmqBroker"
    assert shown["vhost"] == "procuresync-a"
    assert shown["rate_limits"] == "redis://127.0.0.1:6379/1"


def test_given_rabbitmq_without_a_redis_for_the_limits_then_refused() -> None:
    assert "set RATE_LIMIT_REDIS_URL" in refusal(DRAMATIQ_BROKER_URL=RABBITMQ)


def test_given_rabbitmq_and_a_redis_namespace_then_refused_pointing_at_the_virtual_host() -> None:
    message = refusal(
        DRAMATIQ_BROKER_URL=RABBITMQ, RATE_LIMIT_REDIS_URL="redis://127.0.0.1:6379/1", DRAMATIQ_NAMESPACE="acme"
    )

    assert "DRAMATIQ_NAMESPACE applies to a Redis broker only" in message
    assert "virtual host" in message


def test_given_a_broker_url_of_no_known_scheme_then_refused_without_echoing_it() -> None:
    message = refusal(DRAMATIQ_BROKER_URL=f"rabbitmq://someone:{PLACEHOLDER_PASSWORD}@rabbitmq.invalid/")

    assert "must start with redis://, rediss://, amqp:// or amqps://" in message
    assert "not rabbitmq://" in message


def test_given_no_broker_url_then_the_in_memory_broker() -> None:
    assert loaded()["broker"] == "StubBroker"
