"""The self-healing catch-up: per company, a periodic CDC call from a stored cursor.

Webhooks can be lost (our endpoint down, Intuit giving up); CDC returns every BillPayment changed
since the cursor — deleted ones in CDC's ``{"status": "Deleted"}`` form — so whatever a webhook
missed is applied here a few minutes later through the same idempotent ``feed``.
CDC looks back at most 30 days; a company whose cursor is older falls back to a query by
``MetaData.LastUpdatedTime`` (which cannot see deletions, so a date-range import is the remedy for
those). CDC answers at most 1,000 objects: when it is full, the cursor moves to the newest change
seen and the call is repeated.
"""

from __future__ import annotations

import datetime as dt
import logging

import dramatiq
from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from quickbooks.client import MAX_RESULTS, QboClient, quote
from quickbooks.connection import client_for
from quickbooks.errors import QboAuthFailed, QboError
from quickbooks.inbound.feed import ID_CHUNK, FeedResult, feed, refresh_bill_payments
from quickbooks.inbound.models import PaymentsCursor
from quickbooks.models import Connection, ConnectionStatus, DocumentSync

log = logging.getLogger(__name__)

CDC_ENTITIES = ["BillPayment", "VendorCredit", "Bill"]
CDC_WINDOW = dt.timedelta(days=29)  # QBO's 30 days, less a margin for clocks
CDC_CAP = 1000
OVERLAP = dt.timedelta(minutes=1)  # re-read the last minute: changes committing while we asked
MAX_ROUNDS = 50
LATE_LINKS_MAX = 1000  # bills checked per catch-up; the rest wait for the next one


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


@dramatiq.actor(queue_name="quickbooks", max_retries=0, time_limit=15 * 60 * 1000)
def catch_up_company(connection_id: int) -> None:
    connection = Connection.objects.filter(pk=connection_id).first()
    if connection is not None and connection.is_live and connection.import_payments:
        catch_up(connection)


def catch_up_due(now: dt.datetime | None = None) -> int:
    """Queue a catch-up for each connected company whose last one started long enough ago."""
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
            answer = client.cdc(CDC_ENTITIES, _qbo_time(since))
            changed = answer.objects
            _add(total, feed(connection, changed.get("BillPayment", []), via="catch_up"))
            count = sum(len(rows) for rows in changed.values())
            if count < CDC_CAP:
                server_time = _parse(answer.time) or asked_at
                since = min(server_time, asked_at) - OVERLAP
                break
            # Full answer: QBO kept the oldest 1,000 changes; continue from the newest one seen.
            newest = max(
                (
                    t
                    for rows in changed.values()
                    for o in rows
                    if (t := _parse((o.get("MetaData") or {}).get("LastUpdatedTime"))) is not None
                ),
                default=since,
            )
            since = newest if newest > since else since + dt.timedelta(seconds=1)
        _add(total, payments_of_late_links(connection, client))
    except QboError as exc:
        cursor.last_error = str(exc)[:2000]
        cursor.save(update_fields=["last_error"])
        if isinstance(exc, QboAuthFailed):
            return total
        raise
    cursor.changed_since = since
    cursor.last_finished_at = timezone.now()
    cursor.last_error = ""
    cursor.save(update_fields=["changed_since", "last_finished_at", "last_error"])
    return total


def payments_of_late_links(connection: Connection, client: QboClient) -> FeedResult:
    """Bills we linked late (found after a lost create answer) may have been paid in QuickBooks
    before they were ours: those payments were ignored then, and CDC will not bring them again.
    Read the bills (a Bill lists its payments in LinkedTxn, as Intuit's sample shows with
    "BillPaymentCheck"; the card type's name is unconfirmed, so any "BillPayment..." counts) and
    feed their payments."""
    pending = DocumentSync.objects.filter(
        company_id=connection.company_id, realm_id=connection.realm_id, qbo_entity="Bill", payments_unchecked=True
    ).exclude(qbo_id="")
    checked = list(pending.values_list("pk", "qbo_id")[:LATE_LINKS_MAX])
    if not checked:
        return FeedResult()
    bill_ids = sorted({qbo_id for _, qbo_id in checked})
    payment_ids: set[str] = set()
    for start in range(0, len(bill_ids), ID_CHUNK):
        quoted = ", ".join(quote(i) for i in bill_ids[start : start + ID_CHUNK])
        for bill in client.query(f"SELECT * FROM Bill WHERE Id IN ({quoted}) MAXRESULTS {MAX_RESULTS}").get("Bill", []):
            payment_ids |= {
                str(link["TxnId"])
                for link in bill.get("LinkedTxn") or []
                if str(link.get("TxnType", "")).startswith("BillPayment")
            }
    result = refresh_bill_payments(connection, read_ids=payment_ids, deleted_ids=[], via="catch_up", client=client)
    # Only rows still linked to the bill read: one linked meanwhile to another bill (found after a
    # lost answer, marked unchecked again) keeps its mark for the next catch-up.
    # In chunks: SQLite refuses an expression deeper than 1,000 terms.
    for start in range(0, len(checked), ID_CHUNK):
        still_read = Q()
        for pk, qbo_id in checked[start : start + ID_CHUNK]:
            still_read |= Q(pk=pk, qbo_id=qbo_id)
        DocumentSync.objects.filter(still_read).update(payments_unchecked=False)
    return result


def _add(total: FeedResult, part: FeedResult) -> None:
    total.bill_payments += part.bill_payments
    total.unlinked += part.unlinked
    total.outcome.add(part.outcome)
