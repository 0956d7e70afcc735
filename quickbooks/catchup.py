"""The self-healing catch-up: per company, a periodic CDC call from a stored cursor.

Webhooks can be lost (our endpoint down, Intuit giving up); CDC returns every BillPayment changed
since the cursor — deleted ones in CDC's ``{"status": "Deleted"}`` form — so whatever a webhook
missed is applied here a few minutes later through the same idempotent ``payments_in.feed``.
CDC looks back at most 30 days; a company whose cursor is older falls back to a query by
``MetaData.LastUpdatedTime`` (which cannot see deletions, so a date-range import is the remedy for
those). CDC answers at most 1,000 objects: when it is full, the cursor moves to the newest change
seen and the call is repeated.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.utils import timezone

from quickbooks.client import MAX_RESULTS, QboClient
from quickbooks.connection import client_for
from quickbooks.errors import Kind, QboError
from quickbooks.models import Connection, ConnectionStatus
from quickbooks.models_payments import PaymentsCursor
from quickbooks.payments_in import FeedResult, deleted, feed

log = logging.getLogger(__name__)

CDC_ENTITIES = ["BillPayment", "VendorCredit", "Bill"]
CDC_WINDOW = dt.timedelta(days=29)  # QBO's 30 days, less a margin for clocks
CDC_CAP = 1000
OVERLAP = dt.timedelta(minutes=1)  # re-read the last minute: changes committing while we asked
MAX_ROUNDS = 50
ID_CHUNK = 200


def every() -> dt.timedelta:
    return dt.timedelta(minutes=float(settings.QBO_PAYMENTS_CATCHUP_MINUTES))


def _qbo_time(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")


def _parse(value: object) -> dt.datetime | None:
    try:
        parsed = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def refresh_bill_payments(
    connection: Connection,
    *,
    read_ids: Iterable[str],
    deleted_ids: Iterable[str],
    via: str,
    client: QboClient | None = None,
) -> FeedResult:
    """Read bill payments as they are now (one query per 200 ids) and feed them; ids QuickBooks no
    longer returns were deleted (a read would answer 610 Object Not Found)."""
    client = client or client_for(connection)
    ids = sorted(set(read_ids))
    found: list[dict[str, Any]] = []
    for start in range(0, len(ids), ID_CHUNK):
        chunk = ids[start : start + ID_CHUNK]
        quoted = ", ".join("'" + i.replace("'", "\\'") + "'" for i in chunk)
        found += client.query(f"SELECT * FROM BillPayment WHERE Id IN ({quoted}) MAXRESULTS {MAX_RESULTS}").get(
            "BillPayment", []
        )
    seen = {str(bp.get("Id")) for bp in found}
    gone = [deleted(i) for i in {*deleted_ids, *(i for i in ids if i not in seen)}]
    return feed(connection, [*found, *gone], via=via)


def catch_up_due(now: dt.datetime | None = None) -> int:
    """Queue a catch-up for each connected company whose last one started long enough ago."""
    from quickbooks.tasks import catch_up_company

    now = now or timezone.now()
    queued = 0
    for connection in Connection.objects.filter(status=ConnectionStatus.CONNECTED, import_payments=True):
        cursor, _ = PaymentsCursor.objects.get_or_create(
            connection=connection, defaults={"changed_since": connection.connected_at or now}
        )
        if cursor.last_started_at and now - cursor.last_started_at < every():
            continue
        # Compare-and-set, so several schedulers queue one catch-up.
        won = PaymentsCursor.objects.filter(pk=cursor.pk, last_started_at=cursor.last_started_at).update(
            last_started_at=now
        )
        if won:
            catch_up_company.send(connection.pk)
            queued += 1
    return queued


def catch_up(connection: Connection, *, client: QboClient | None = None) -> FeedResult:
    """Apply every bill payment changed since the cursor, then move the cursor."""
    client = client or client_for(connection)
    cursor, _ = PaymentsCursor.objects.get_or_create(
        connection=connection, defaults={"changed_since": connection.connected_at or timezone.now()}
    )
    since = cursor.changed_since or connection.connected_at or timezone.now()
    total = FeedResult()
    try:
        for _ in range(MAX_ROUNDS):
            asked_at = timezone.now()
            if asked_at - since > CDC_WINDOW:
                rows = client.query_all("BillPayment", f"MetaData.LastUpdatedTime >= '{_qbo_time(since)}'")
                _add(total, feed(connection, rows, via="catch_up"))
                since = asked_at - OVERLAP
                break
            answer = client.request(
                "GET", "cdc", params={"entities": ",".join(CDC_ENTITIES), "changedSince": _qbo_time(since)}
            )
            changed = _objects(answer)
            _add(total, feed(connection, changed.get("BillPayment", []), via="catch_up"))
            count = sum(len(rows) for rows in changed.values())
            if count < CDC_CAP:
                server_time = _parse(answer.get("time")) or asked_at
                since = min(server_time, asked_at) - OVERLAP
                break
            # Full answer: QBO kept the oldest 1,000 changes; continue from the newest one seen.
            newest = max(
                (t for rows in changed.values() for o in rows if (t := _parse((o.get("MetaData") or {}).get(
                    "LastUpdatedTime"))) is not None),
                default=since,
            )
            since = newest if newest > since else since + dt.timedelta(seconds=1)
    except QboError as exc:
        cursor.last_error = str(exc)[:2000]
        cursor.save(update_fields=["last_error"])
        if exc.kind is Kind.AUTH:
            return total
        raise
    cursor.changed_since = since
    cursor.last_finished_at = timezone.now()
    cursor.last_error = ""
    cursor.save(update_fields=["changed_since", "last_finished_at", "last_error"])
    return total


def _objects(answer: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for block in answer.get("CDCResponse", []):
        for response in block.get("QueryResponse", []):
            for key, value in response.items():
                if isinstance(value, list):
                    out.setdefault(key, []).extend(value)
    return out


def _add(total: FeedResult, part: FeedResult) -> None:
    total.bill_payments += part.bill_payments
    total.unlinked += part.unlinked
    total.outcome.add(part.outcome)
