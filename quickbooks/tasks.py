"""Thin Dramatiq actors: each calls one service. Retries are the outbox's business, not Dramatiq's."""

from __future__ import annotations

import dramatiq

from quickbooks import outbox, sync


@dramatiq.actor(queue_name="quickbooks", max_retries=0, time_limit=15 * 60 * 1000)
def deliver_outbox_item(item_id: str) -> None:
    sync.deliver(item_id)


@dramatiq.actor(queue_name="quickbooks", max_retries=0)
def sweep_outbox() -> None:
    outbox.sweep()
