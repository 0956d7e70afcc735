"""Serve the product in one process: web server plus the embedded background worker.

This is the embedded mode of the README's start command. In the scaled-out mode run gunicorn for
the web and ``manage.py rundramatiq`` for workers instead.
"""

from __future__ import annotations

import os
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand

from procuresync.worker import start_embedded_worker, stop_embedded_worker
from quickbooks.scheduler import start_in_background


class Command(BaseCommand):
    help = "Run the web server with the embedded background worker (embedded mode)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("addrport", nargs="?", default="127.0.0.1:8000")
        parser.add_argument("--worker-threads", type=int, default=4)

    def handle(self, *args: Any, addrport: str, worker_threads: int, **options: Any) -> None:
        # The embedded mode is meant for a laptop or a small team; the README sends larger
        # installations to gunicorn + rundramatiq, so Django's own warning only confuses here.
        os.environ.setdefault("DJANGO_RUNSERVER_HIDE_WARNING", "true")
        worker = start_embedded_worker(worker_threads)
        stop_scheduler = start_in_background() if worker is not None else None
        try:
            # runserver without the autoreloader keeps everything in this one process, so the
            # in-memory broker and the worker threads share the same queue.
            call_command("runserver", addrport, use_reloader=False, insecure_serving=True)
        finally:
            if stop_scheduler is not None:
                stop_scheduler.set()
            stop_embedded_worker()
