"""Fixtures for the emulator's tests live in emulator_helpers.py (a unique module name, so
they never clash with the product's tests/conftest.py)."""

from emulator_helpers import anyio_backend, app, client, clock, config, qbo
from emulator_webhook_receiver import receiver

__all__ = ["anyio_backend", "app", "client", "clock", "config", "qbo", "receiver"]
