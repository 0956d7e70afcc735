"""Scaled-out mode: run the QuickBooks periodic work (outbox sweeper, payments catch-up, nightly
reconciliations) in its own process."""

from __future__ import annotations

import signal
import threading
from typing import Any

from django.core.management.base import BaseCommand

from quickbooks.scheduler import SWEEP_EVERY_SECONDS, run_forever


class Command(BaseCommand):
    help = "Run the QuickBooks outbox sweeper, payments catch-up and nightly reconciliations until stopped."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--every", type=float, default=SWEEP_EVERY_SECONDS, help="Seconds between sweeps.")

    def handle(self, *args: Any, every: float, **options: Any) -> None:
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        signal.signal(signal.SIGINT, lambda *_: stop.set())
        self.stdout.write(f"QuickBooks scheduler: sweeping every {every:g} s")
        run_forever(stop, every)
