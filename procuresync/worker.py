"""The in-process worker of the embedded mode.

With the Stub broker (no DRAMATIQ_BROKER_URL) messages live in this process's memory, so the web
process itself must consume them: ``start_embedded_worker`` starts Dramatiq worker threads beside
the web server. With Redis, run ``manage.py rundramatiq`` processes instead and this does nothing.
"""

from __future__ import annotations

import logging

import dramatiq
from dramatiq.brokers.stub import StubBroker

log = logging.getLogger(__name__)
_worker: dramatiq.Worker | None = None


def start_embedded_worker(threads: int = 4) -> dramatiq.Worker | None:
    global _worker
    broker = dramatiq.get_broker()
    if not isinstance(broker, StubBroker):
        log.info("Broker is %s; run `manage.py rundramatiq` for background work", type(broker).__name__)
        return None
    if _worker is None:
        broker.emit_after("process_boot")
        _worker = dramatiq.Worker(broker, worker_threads=threads, worker_timeout=100)
        _worker.start()
        log.info("Embedded worker started with %d threads", threads)
    return _worker


def stop_embedded_worker() -> None:
    global _worker
    if _worker is not None:
        _worker.stop()
        _worker = None
