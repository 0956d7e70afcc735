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


# ---------------------------------------------------------------- payments from QuickBooks


@dramatiq.actor(queue_name="quickbooks", max_retries=0)
def process_webhook_events(dedupe_keys: list[str]) -> None:
    from quickbooks import webhooks

    webhooks.process(dedupe_keys)


@dramatiq.actor(queue_name="quickbooks", max_retries=0, time_limit=15 * 60 * 1000)
def catch_up_company(connection_id: int) -> None:
    from quickbooks import catchup
    from quickbooks.models import Connection

    connection = Connection.objects.filter(pk=connection_id).first()
    if connection is not None and connection.is_live and connection.import_payments:
        catchup.catch_up(connection)


@dramatiq.actor(queue_name="quickbooks", max_retries=0, time_limit=30 * 60 * 1000)
def import_payments(run_id: int) -> None:
    from quickbooks import payments_import

    payments_import.import_run(run_id)
