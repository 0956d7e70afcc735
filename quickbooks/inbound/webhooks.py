"""QuickBooks webhooks: verify, store, acknowledge at once; a worker processes the events later.

Intuit wants a 200 within 3 seconds and retries otherwise, so the request does only three things:
check ``intuit-signature`` (base64 HMAC-SHA256 of the raw body with the verifier token), insert the
events (a repeated delivery inserts nothing), and queue one message. Both payload formats are
accepted: the CloudEvents array and the legacy ``eventNotifications`` object (qbo-api.md §5).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import logging
import threading
import uuid
from dataclasses import dataclass
from typing import Any

import dramatiq
from django.conf import settings
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from quickbooks.config import qbo_config
from quickbooks.inbound.feed import refresh_bill_payments
from quickbooks.inbound.models import EventState, WebhookEvent
from quickbooks.models import Connection, ConnectionStatus

log = logging.getLogger(__name__)
CLAIM_MAX = 500

# CloudEvents ``type`` verbs (qbo.<entity>.<verb>.v1) → the legacy operation names.
VERBS = {
    "created": "Create",
    "updated": "Update",
    "deleted": "Delete",
    "voided": "Void",
    "merged": "Merge",
    "emailed": "Emailed",
}


def signature_valid(body: bytes, signature: str, verifier_token: str) -> bool:
    if not signature or not verifier_token:
        return False
    expected = base64.b64encode(hmac.new(verifier_token.encode(), body, hashlib.sha256).digest()).decode()
    return hmac.compare_digest(expected.encode(), signature.strip().encode())


@dataclass(frozen=True)
class Event:
    dedupe_key: str
    format: str
    realm_id: str
    entity: str
    entity_id: str
    operation: str
    occurred_at: str
    payload: str


def parse(data: Any) -> list[Event]:
    """Events from either format; anything unrecognisable is skipped (and logged)."""
    events: list[Event] = []
    if isinstance(data, list):
        for item in data:
            if not isinstance(item, dict) or not item.get("id"):
                log.warning("Webhook: skipped a CloudEvent without an id: %.200s", item)
                continue
            parts = str(item.get("type", "")).split(".")
            entity = parts[1] if len(parts) >= 3 else ""
            verb = parts[2] if len(parts) >= 3 else ""
            events.append(
                Event(
                    dedupe_key=f"ce:{item['id']}"[:255],
                    format="cloudevents",
                    realm_id=str(item.get("intuitaccountid", "")),
                    entity=entity,
                    entity_id=str(item.get("intuitentityid", "")),
                    operation=VERBS.get(verb, verb.capitalize()),
                    occurred_at=str(item.get("time", ""))[:40],
                    payload=json.dumps(item),
                )
            )
    elif isinstance(data, dict):
        for notification in data.get("eventNotifications") or []:
            realm = str(notification.get("realmId", ""))
            for entity in (notification.get("dataChangeEvent") or {}).get("entities") or []:
                key = ":".join(str(entity.get(k, "")) for k in ("name", "id", "operation", "lastUpdated"))
                events.append(
                    Event(
                        dedupe_key=f"legacy:{realm}:{key}"[:255],
                        format="legacy",
                        realm_id=realm,
                        entity=str(entity.get("name", "")),
                        entity_id=str(entity.get("id", "")),
                        operation=str(entity.get("operation", "")),
                        occurred_at=str(entity.get("lastUpdated", ""))[:40],
                        payload=json.dumps({"realmId": realm, **entity}),
                    )
                )
    return events


def receive(body: bytes, signature: str) -> int | None:
    """Verify and store; returns how many events were stored, or None when the signature is wrong."""
    if not signature_valid(body, signature, qbo_config().verifier_token):
        return None
    try:
        data = json.loads(body)
    except ValueError:
        log.warning("Webhook: signed body that is not JSON ignored")
        return 0
    events = parse(data)
    if not events:
        return 0
    rows = [WebhookEvent(**event.__dict__) for event in events]
    with transaction.atomic():
        WebhookEvent.objects.bulk_create(rows, ignore_conflicts=True)
    process_webhook_events.send([event.dedupe_key for event in events])
    return len(events)


@csrf_exempt
@require_POST
def webhook_endpoint(request: HttpRequest) -> HttpResponse:
    """POST /quickbooks/webhooks — Intuit's notifications (no session, no CSRF: the signature is the auth)."""
    stored = receive(request.body, request.headers.get("intuit-signature", ""))
    if stored is None:
        log.warning("Webhook refused: missing or wrong intuit-signature")
        return HttpResponse("invalid signature", status=401, content_type="text/plain")
    return HttpResponse(status=200)


# ---------------------------------------------------------------- processing (in a worker)


_draining = threading.Lock()


@dramatiq.actor(queue_name="quickbooks", max_retries=0)
def process_webhook_events(dedupe_keys: list[str]) -> None:
    process(dedupe_keys)


def process(dedupe_keys: list[str]) -> None:
    """Apply the pending events, this message's first, draining whatever else is pending.

    One thread per process drains at a time; a message arriving meanwhile returns at once, and the
    drainer looks again after letting go, so no event is left behind. Under a burst this turns
    hundreds of messages into a few passes (one read per company each) and keeps the web threads of
    the embedded mode, which share the interpreter, answering Intuit quickly.
    """
    while _draining.acquire(blocking=False):
        try:
            while _process_batch(dedupe_keys):
                dedupe_keys = []
        finally:
            _draining.release()
        if not WebhookEvent.objects.filter(state=EventState.PENDING).exists():
            return


def recover_abandoned() -> int:
    """Events a worker claimed and never finished (it was killed): pending again, and processed.
    The scheduler calls this; the lease is the outbox's, so a live worker is never overtaken."""
    lease = dt.timedelta(seconds=settings.QBO_CLAIM_LEASE_SECONDS)
    abandoned = WebhookEvent.objects.filter(state=EventState.PROCESSING, claimed_at__lt=timezone.now() - lease)
    keys = list(abandoned.values_list("dedupe_key", flat=True)[:CLAIM_MAX])
    if not keys:
        return 0
    WebhookEvent.objects.filter(dedupe_key__in=keys, state=EventState.PROCESSING).update(
        state=EventState.PENDING, outcome="", claimed_at=None
    )
    process_webhook_events.send(keys)
    return len(keys)


def _process_batch(dedupe_keys: list[str]) -> bool:
    """Claim up to CLAIM_MAX pending events and apply them; False when there was nothing to claim."""
    # One compare-and-set for the lot: the rows this worker won carry its token (another process
    # may be draining too).
    token = f"claimed:{uuid.uuid4()}"
    pending = WebhookEvent.objects.filter(state=EventState.PENDING)
    ids = {*pending.filter(dedupe_key__in=dedupe_keys).values_list("pk", flat=True)}
    ids |= {*pending.order_by("id").values_list("pk", flat=True)[:CLAIM_MAX]}
    won = WebhookEvent.objects.filter(pk__in=ids, state=EventState.PENDING).update(
        state=EventState.PROCESSING, outcome=token, claimed_at=timezone.now()
    )
    if not won:
        return False
    claimed = list(WebhookEvent.objects.filter(pk__in=ids, outcome=token).order_by("id"))
    by_realm: dict[str, list[WebhookEvent]] = {}
    for event in claimed:
        by_realm.setdefault(event.realm_id, []).append(event)
    for realm, events in by_realm.items():
        connection, why = _connection_for_realm(realm)
        if connection is None or not connection.import_payments:
            why = why or "payments import is switched off"
            log.info("Webhook: %d event(s) for realm %s ignored: %s", len(events), realm, why)
            _finish(events, EventState.IGNORED, why)
            continue
        wanted = [e for e in events if e.entity.lower() == "billpayment"]
        others = [e for e in events if e.entity.lower() != "billpayment"]
        if others:
            # Bills, vendor credits, vendors...: a payment that touches them sends its own BillPayment event.
            _finish(others, EventState.IGNORED, "not a bill payment")
        if not wanted:
            continue
        try:
            # The last event per bill payment decides: a Delete needs no read; otherwise read it now.
            last = {e.entity_id: e for e in wanted}
            result = refresh_bill_payments(
                connection,
                read_ids=[i for i, e in last.items() if e.operation != "Delete"],
                deleted_ids=[i for i, e in last.items() if e.operation == "Delete"],
                via="webhook",
            )
        except Exception as exc:
            log.exception("Webhook: processing realm %s failed", realm)
            _finish(wanted, EventState.FAILED, f"{type(exc).__name__}: {exc}"[:2000])
            continue
        o = result.outcome
        _finish(
            wanted,
            EventState.DONE,
            f"new {o.new}, updated {o.updated}, cancelled {o.cancelled}, "
            f"unchanged {o.unchanged}, not linked {result.unlinked}",
        )
    return True


def _connection_for_realm(realm: str) -> tuple[Connection | None, str]:
    """The one procuresync company connected to QuickBooks company ``realm``, or why there is none.

    ``connection_complete`` lets one company at a time hold a realm (connected or needing a
    reconnect). Should older data hold two, no company is guessed: the events are ignored and the
    error logged; an Admin must disconnect one of them. A connection that needs reconnecting cannot
    read the payments; its catch-up brings them in after the reconnect (the cursor stays put).
    """
    live = list(Connection.objects.filter(realm_id=realm).exclude(status=ConnectionStatus.NOT_CONNECTED)[:2])
    if not live:
        return None, "unknown QuickBooks company"
    if len(live) > 1:
        log.error(
            "Webhook: realm %s is held by more than one company (%s); events not applied",
            realm,
            ", ".join(str(c.company_id) for c in live),
        )
        return None, "QuickBooks company connected to more than one procuresync company; disconnect all but one"
    connection = live[0]
    if connection.status != ConnectionStatus.CONNECTED:
        return None, "QuickBooks needs reconnecting; the catch-up after reconnecting brings these payments in"
    return connection, ""


def _finish(events: list[WebhookEvent], state: str, outcome: str) -> None:
    WebhookEvent.objects.filter(pk__in=[e.pk for e in events]).update(
        state=state, outcome=outcome, processed_at=timezone.now()
    )
