"""Periodic work: the outbox sweeper (documents out), the CDC catch-up (payments in), and the nightly
reconciliation of the companies that asked for it.

Embedded mode runs ``run_forever`` in a daemon thread of the web process (``manage.py serve``);
scaled out, one ``manage.py qbo_scheduler`` process does it. Several schedulers are harmless: the
sweeper only re-sends messages, and claims decide who works.
"""

from __future__ import annotations

import logging
import threading

from django.db import close_old_connections

from quickbooks import reconciliation_runs
from quickbooks.export import delivery
from quickbooks.inbound import catchup, webhooks

log = logging.getLogger(__name__)
SWEEP_EVERY_SECONDS = 15.0


def tick() -> None:
    close_old_connections()
    try:
        sent = delivery.sweep()
        if sent:
            log.info("Outbox sweeper re-sent %d row(s)", sent)
        recovered = webhooks.recover_abandoned()
        if recovered:
            log.info("Re-queued %d webhook event(s) a dead worker had claimed", recovered)
        catchup.catch_up_due()
        queued = reconciliation_runs.nightly_due()
        if queued:
            log.info("Queued %d nightly reconciliation(s)", queued)
    finally:
        close_old_connections()


def run_forever(stop: threading.Event, every: float = SWEEP_EVERY_SECONDS) -> None:
    while not stop.wait(every):
        try:
            tick()
        except Exception:  # keep sweeping; the next tick may well succeed
            log.exception("Scheduler tick failed")


_stop: threading.Event | None = None


def start_in_background(every: float = SWEEP_EVERY_SECONDS) -> threading.Event:
    global _stop
    if _stop is None:
        _stop = threading.Event()
        threading.Thread(target=run_forever, args=(_stop, every), name="qbo-scheduler", daemon=True).start()
    return _stop
