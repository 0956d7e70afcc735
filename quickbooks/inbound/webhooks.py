"""QuickBooks webhooks: verify, store, acknowledge at once; a worker processes the events later.

Intuit wants a 200 within 3 seconds and retries otherwise, so the request does only three things:
check ``intuit-signature`` (base64 HMAC-SHA256 of the raw body with the verifier token), insert the
events (a repeated delivery inserts nothing), and queue one message. Both payload formats are
accepted: the CloudEvents array and the legacy ``eventNotifications`` object (qbo-api.md §5).

Whatever else arrives is refused in the API's error shape and stores nothing: 413 for a body over
the size limit (before any signature work), 401 for a missing or wrong signature, 400 for a signed
body that is not a JSON object or array. The Content-Type is not checked: the signed bytes are what
counts, and Intuit labels them application/json or application/cloudevents+json.
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
from django.core.exceptions import RequestDataTooBig
from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from procuresync.api_errors import error_body
from quickbooks.config import qbo_config
from quickbooks.inbound.feed import refresh_bill_payments
from quickbooks.inbound.models import EventState, WebhookEvent
from quickbooks.models import Connection, ConnectionStatus

log = logging.getLogger(__name__)
CLAIM_MAX = 500
# Intuit's notifications carry only ids: the emulator's batches of 100 events are about 35 KB, so
# 1 MiB is ample for a real delivery and keeps a forged one from making us read and hash megabytes.
# settings.QBO_WEBHOOK_MAX_BYTES overrides it.
MAX_BODY_BYTES = 1024 * 1024

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


def _text(value: Any, limit: int) -> str:
    """A value as its column can hold it on any database: PostgreSQL refuses NUL characters, lone
    surrogates (JSON allows both) and strings over the column's length, and a signed delivery we
    cannot store would be retried by Intuit forever."""
    text = str(value).replace("\x00", "").encode("utf-8", "replace").decode()
    return text[:limit]


def _dicts(value: Any) -> list[dict[str, Any]]:
    """The objects of what should be a list of objects; anything else is skipped (and logged)."""
    if not isinstance(value, list):
        if value is not None:
            log.warning("Webhook: skipped what is not a list of objects: %.200s", value)
        return []
    wanted = [item for item in value if isinstance(item, dict)]
    if len(wanted) < len(value):
        log.warning("Webhook: skipped %d part(s) that are not objects: %.200s", len(value) - len(wanted), value)
    return wanted


def parse(data: Any) -> list[Event]:
    """Events from either format; anything unrecognisable is skipped (and logged)."""
    events: list[Event] = []
    if isinstance(data, list):
        for item in _dicts(data):
            if not item.get("id"):
                log.warning("Webhook: skipped a CloudEvent without an id: %.200s", item)
                continue
            parts = str(item.get("type", "")).split(".")
            entity = parts[1] if len(parts) >= 3 else ""
            verb = parts[2] if len(parts) >= 3 else ""
            events.append(
                Event(
                    dedupe_key=_text(f"ce:{item['id']}", 255),
                    format="cloudevents",
                    realm_id=_text(item.get("intuitaccountid", ""), 40),
                    entity=_text(entity, 40),
                    entity_id=_text(item.get("intuitentityid", ""), 40),
                    operation=_text(VERBS.get(verb, verb.capitalize()), 20),
                    occurred_at=_text(item.get("time", ""), 40),
                    payload=json.dumps(item),  # ASCII: json.dumps escapes NULs and surrogates
                )
            )
    elif isinstance(data, dict):
        for notification in _dicts(data.get("eventNotifications")):
            realm = _text(notification.get("realmId", ""), 40)
            change = notification.get("dataChangeEvent")
            for record in _dicts(change.get("entities") if isinstance(change, dict) else None):
                key = ":".join(str(record.get(k, "")) for k in ("name", "id", "operation", "lastUpdated"))
                events.append(
                    Event(
                        dedupe_key=_text(f"legacy:{realm}:{key}", 255),
                        format="legacy",
                        realm_id=realm,
                        entity=_text(record.get("name", ""), 40),
                        entity_id=_text(record.get("id", ""), 40),
                        operation=_text(record.get("operation", ""), 20),
                        occurred_at=_text(record.get("lastUpdated", ""), 40),
                        payload=json.dumps({"realmId": realm, **record}),
                    )
                )
    return events


def store(events: list[Event]) -> None:
    """Insert the events (those already there are left alone) and queue their processing."""
    if not events:
        return
    rows = [WebhookEvent(**event.__dict__) for event in events]
    with transaction.atomic():
        WebhookEvent.objects.bulk_create(rows, ignore_conflicts=True)
    # The keys only say which events to take first; the worker drains whatever else is pending,
    # so a delivery of thousands of events need not put thousands of keys in one query.
    process_webhook_events.send([event.dedupe_key for event in events[:CLAIM_MAX]])


def refuse(status: int, code: str, message: str) -> JsonResponse:
    return JsonResponse(error_body(code, message), status=status)


def too_large(limit: int) -> JsonResponse:
    return refuse(413, "too_large", f"Webhook bodies are limited to {limit:,} bytes.")


@csrf_exempt
@require_POST
def webhook_endpoint(request: HttpRequest) -> HttpResponse:
    """POST /quickbooks/webhooks — Intuit's notifications (no session, no CSRF: the signature is the auth)."""
    limit = getattr(settings, "QBO_WEBHOOK_MAX_BYTES", MAX_BODY_BYTES)
    # The declared length first, so an oversized body is neither read nor hashed.
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = -1
    if declared < 0:
        return refuse(400, "bad_request", "The Content-Length header is not a number of bytes.")
    if declared > limit:
        return too_large(limit)
    try:
        body = request.body
    except RequestDataTooBig:  # over Django's own limit, should it be set below ours
        return too_large(limit)
    except OSError:  # the sender went away in the middle of the body
        return refuse(400, "bad_request", "The request body could not be read.")
    if len(body) > limit:  # the body read, in case a server let more through than was declared
        return too_large(limit)

    if not signature_valid(body, request.headers.get("intuit-signature", ""), qbo_config().verifier_token):
        log.warning("Webhook refused: missing or wrong intuit-signature")
        return refuse(401, "invalid_signature", "The intuit-signature header is missing or does not match the body.")

    # Signed, yet not a delivery we can read: refused rather than acknowledged, so that it shows as
    # failed in Intuit's delivery log instead of vanishing here (the CDC catch-up still runs).
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):  # RecursionError: nested deeper than the parser goes
        log.warning("Webhook: signed body that is not JSON refused")
        return refuse(400, "invalid_json", "The body is not JSON, or is nested too deeply to read.")
    if not isinstance(data, dict | list):
        log.warning("Webhook: signed JSON that is neither an object nor an array refused: %.200s", data)
        return refuse(400, "invalid_payload", "The body is neither an eventNotifications object nor an array.")
    try:
        events = parse(data)
    except Exception:  # a shape parse() does not foresee: a retry would bring the same, so 400, not 500
        log.exception("Webhook: signed body that could not be parsed refused")
        return refuse(400, "invalid_payload", "The events in the body could not be read.")
    try:
        store(events)
    except Exception:  # the database or the broker is down: 503 so that Intuit retries
        log.exception("Webhook: %d signed event(s) not stored; Intuit will retry", len(events))
        return refuse(503, "unavailable", "The events could not be stored; please retry.")
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
