"""Webhook delivery as Intuit does it (qbo-api.md §5).

Changes to Bill, BillPayment, VendorCredit, PurchaseOrder and Vendor queue an event. One worker
task per app POSTs the queue in order, several events per POST, signed with `intuit-signature`
= base64(HMAC-SHA256(verifier token, raw body)). A failed POST (non-2xx, error, or no answer in
3 s) is retried on Intuit's schedule (10s, 20s, 30s, 5m, 20m, 2h, 4h, 6h...), which tests
compress with `webhook_retry_scale`; later events wait, as Intuit documents ("You may not
receive subsequent events ... until you correctly acknowledge the first event").

`chaos` (a `WebhookChaos`, set through `PUT /_emulator/webhooks`) can lose events, send an
acknowledged POST twice, or deliver the queue shuffled; by default it does nothing.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import uuid
from collections import deque
from datetime import UTC, datetime
from typing import Any

import httpx

from .chaos import WebhookChaos
from .config import WEBHOOK_RETRY_SCHEDULE_S, EmulatorConfig
from .models import ENTITIES
from .requestlog import RequestLog

# CloudEvents action tokens: Intuit shows created/updated/merged; deleted/voided appear only in
# third-party code (qbo-api.md §5.5, UNCONFIRMED).
ACTIONS = {"Create": "created", "Update": "updated", "Delete": "deleted", "Void": "voided", "Merge": "merged"}
# Intuit's own migration guide says CloudEvents may arrive as application/cloudevents+json
# (qbo-api.md §5.5); we send that so receivers that only accept application/json find out here.
CLOUDEVENTS_CONTENT_TYPE = "application/cloudevents+json"


def sign(body: bytes, verifier_token: str) -> str:
    return base64.b64encode(hmac.new(verifier_token.encode(), body, hashlib.sha256).digest()).decode()


def utc_z(when: str | None = None) -> str:
    dt = datetime.fromisoformat(when) if when else datetime.now(UTC)
    return dt.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def cloudevents_body(events: list[dict[str, str]], source: str) -> list[dict[str, Any]]:
    return [{
        "specversion": "1.0",
        "id": str(uuid.uuid4()),
        "source": source,
        "type": f"qbo.{e['entity'].lower()}.{ACTIONS.get(e['operation'], e['operation'].lower())}.v1",
        "datacontenttype": "application/json",
        "time": utc_z(e["when"]),
        "intuitentityid": e["id"],
        "intuitaccountid": e["realm"],
        "data": {},
    } for e in events]


def legacy_body(events: list[dict[str, str]]) -> dict[str, Any]:
    by_realm: dict[str, list[dict[str, str]]] = {}
    for e in events:
        by_realm.setdefault(e["realm"], []).append(
            {"name": e["entity"], "id": e["id"], "operation": e["operation"], "lastUpdated": utc_z(e["when"])})
    return {"eventNotifications": [{"realmId": realm, "dataChangeEvent": {"entities": entities}}
                                   for realm, entities in by_realm.items()]}


class WebhookDispatcher:
    def __init__(self, config: EmulatorConfig, log: RequestLog) -> None:
        self.config = config
        self.log = log
        self.url: str | None = config.webhook_url
        self.format = config.webhook_format
        self.pending: deque[dict[str, str]] = deque()
        self.deliveries: deque[dict[str, Any]] = deque(maxlen=1000)
        self.task: asyncio.Task[None] | None = None
        self.chaos = WebhookChaos()
        self.source = "intuit." + base64.b64encode(hashlib.sha256(config.client_id.encode()).digest()).decode()

    def on_change(self, realm: str, entity: str, obj_id: str, operation: str, when: str) -> None:
        spec = ENTITIES.get(entity)
        if not self.url or spec is None or not spec.webhook:
            return
        event = {"realm": realm, "entity": entity, "id": obj_id, "operation": operation, "when": when}
        if self.chaos.loses(event):
            self.log.count("webhooks.lost")
            return
        self.pending.append(event)
        self._ensure_worker()

    def _ensure_worker(self) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # no loop (a sync caller): the next change from inside the app starts it
        if self.task is None or self.task.done() or self.task.get_loop() is not loop:
            self.task = loop.create_task(self._run())

    def body_for(self, events: list[dict[str, str]]) -> bytes:
        body: Any = legacy_body(events) if self.format == "legacy" else cloudevents_body(events, self.source)
        return json.dumps(body, separators=(",", ":")).encode()

    async def _run(self) -> None:
        async with httpx.AsyncClient(timeout=self.config.webhook_timeout_s) as client:
            while self.pending and self.url:
                most = self.config.webhook_max_events_per_post
                if self.chaos.reorder:
                    # Let events gather (they arrive late), then send a shuffled handful.
                    await asyncio.sleep(self.chaos.reorder_window_ms / 1000)
                    if not (self.pending and self.url):
                        break
                    take = self.chaos.shuffle(self.pending, most)
                else:
                    take = min(len(self.pending), most)
                events = [self.pending.popleft() for _ in range(take)]
                await self._deliver(client, events)

    async def _deliver(self, client: httpx.AsyncClient, events: list[dict[str, str]]) -> None:
        body = self.body_for(events)
        content_type = "application/json" if self.format == "legacy" else CLOUDEVENTS_CONTENT_TYPE
        headers = {"content-type": content_type, "intuit-signature": sign(body, self.config.verifier_token),
                   "intuit_tid": str(uuid.uuid4())}
        for attempt in range(1, self.config.webhook_max_attempts + 1):
            url = self.url
            if not url:
                return
            ok = await self._post(client, url, body, headers, attempt, len(events))
            self.log.count("webhooks.delivered" if ok else "webhooks.failed_attempts")
            if ok:
                if self.chaos.duplicates():
                    # At-least-once: the same POST again, same body, signature and intuit_tid.
                    await self._post(client, url, body, headers, attempt, len(events), duplicate=True)
                    self.log.count("webhooks.duplicated")
                return
            step = WEBHOOK_RETRY_SCHEDULE_S[min(attempt - 1, len(WEBHOOK_RETRY_SCHEDULE_S) - 1)]
            if attempt < self.config.webhook_max_attempts:
                await asyncio.sleep(step * self.config.webhook_retry_scale)
        self.log.count("webhooks.abandoned")

    async def _post(self, client: httpx.AsyncClient, url: str, body: bytes, headers: dict[str, str], attempt: int,
                    events: int, duplicate: bool = False) -> bool:
        """One POST, recorded in `deliveries`; True when the receiver acknowledged it (2xx)."""
        status: int | None = None
        error = ""
        try:
            response = await client.post(url, content=body, headers=headers)
            status = response.status_code
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"
        ok = status is not None and 200 <= status < 300
        self.deliveries.append({"attempt": attempt, "url": url, "status": status, "error": error, "ok": ok,
                                "format": self.format, "events": events, "at": utc_z(), "duplicate": duplicate,
                                "body": body.decode()})
        return ok
