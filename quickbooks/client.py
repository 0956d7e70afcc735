"""The one typed HTTP client to QuickBooks Online's v3 Accounting API.

Every call sends ``minorversion``, a bearer token, JSON in and out, and on writes a ``requestid``
(QBO replays the first answer to a repeated id, so repeating a write after a lost answer cannot
create a second Bill). Failures are classified once, in ``quickbooks.errors``. This client repeats a
request itself only for transient failures (timeouts, dropped connections, 5xx) a couple of times
with jittered backoff, and refreshes the access token once on a 401; longer waits (throttling) are
left to the caller, which reschedules instead of holding a worker.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

import httpx

from quickbooks.errors import (
    QboAuthFailed,
    QboError,
    QboRejected,
    QboTransient,
    ReconnectNeeded,
    classify,
    from_fault,
    from_transport,
    retry_delay,
)

MINOR_VERSION = 75  # Intuit: 1–74 are discontinued and 75 is the default since 2025-08-01.
MAX_RESULTS = 1000  # QBO's page size cap for queries
BATCH_LIMIT = 30  # Intuit's recommended maximum of items per batch request

# Namespaces of our requestids, one per kind of write. The values are fixed: a retry after an
# upgrade must still produce the id QuickBooks saw before it.
_REQUEST_NAMESPACES = {
    "document": uuid.UUID("0f7c8d1e-3b9a-4c55-8e0b-5a1d2f3c4b6e"),
    "batch": uuid.UUID("9b0e4f3a-2c1d-4e8f-a7b6-5c4d3e2f1a0b"),
    "attachment": uuid.UUID("2d4b8a6c-1e3f-4a5b-9c7d-8e6f5a4b3c2d"),
    "vendor": uuid.UUID("6b1d3c52-81a4-4a4e-9a59-0e0a4e9a7d10"),
}


def request_id(namespace: str, key: str) -> str:
    """The ``requestid`` of one logical write: the same write always gets the same id, so QBO
    replays its first answer instead of doing it twice."""
    return str(uuid.uuid5(_REQUEST_NAMESPACES[namespace], key))


def quote(value: str) -> str:
    """A string literal for QBO's query language (backslashes and apostrophes escaped)."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


@dataclass(frozen=True)
class CdcAnswer:
    """What ``cdc`` returned: changed objects per entity (deleted ones as ``{"status": "Deleted"}``)
    and QuickBooks' own clock at the time of the answer, if it said."""

    objects: dict[str, list[dict[str, Any]]]
    time: str


class Limiter(Protocol):
    def before_request(self, path: str) -> None:
        """Wait for the company's request budget (and batch budget for ``batch``)."""


class TokenSource(Protocol):
    def access_token(self) -> str:
        """A currently valid access token (refreshing first if it is about to expire)."""

    def refresh(self, rejected_token: str) -> str:
        """Called after a 401 with the token that was refused; returns a new one or raises ReconnectNeeded."""


def _encode(body: object) -> bytes:
    # QBO amounts have at most 15 digits (10.5 format), which a float's shortest repr carries
    # exactly, so Decimals are written as JSON numbers.
    return json.dumps(body, default=lambda v: float(v) if isinstance(v, Decimal) else str(v)).encode()


def _decode(response: httpx.Response) -> dict[str, Any]:
    data = json.loads(response.content, parse_float=Decimal)
    if not isinstance(data, dict):
        raise QboRejected("QuickBooks answered with something that is not a JSON object.")
    return data


class QboClient:
    def __init__(
        self,
        *,
        base_url: str,
        realm_id: str,
        tokens: TokenSource,
        http: httpx.Client,
        transient_retries: int = 2,
        retry_scale: float = 1.0,
        sleep: Callable[[float], None] = time.sleep,
        on_call: Callable[[str, str, float, int | None], None] | None = None,
        limiter: Limiter | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.realm_id = realm_id
        self.tokens = tokens
        self.http = http
        self.transient_retries = transient_retries
        self.retry_scale = retry_scale
        self.sleep = sleep
        self.on_call = on_call  # (method, path, seconds, http status or None) for attempt records and benches
        self.limiter = limiter
        self.calls = 0

    # ------------------------------------------------------------------ transport

    def _url(self, path: str) -> str:
        return f"{self.base_url}/v3/company/{self.realm_id}/{path}"

    def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        body: object = None,
        content_type: str = "application/json",
        files: dict[str, tuple[str, bytes, str]] | None = None,
    ) -> dict[str, Any]:
        query = {"minorversion": str(MINOR_VERSION), **(params or {})}
        content = None if body is None else (body.encode() if isinstance(body, str) else _encode(body))
        token = self.tokens.access_token()
        refreshed = False
        attempt = 0
        while True:
            attempt += 1
            headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
            if content is not None:
                headers["Content-Type"] = content_type
            if self.limiter is not None:
                self.limiter.before_request(path)
            started = time.perf_counter()
            status: int | None = None
            try:
                response = self.http.request(
                    method, self._url(path), params=query, content=content, files=files, headers=headers
                )
                status = response.status_code
            except httpx.HTTPError as exc:
                error = from_transport(exc)
            else:
                if response.status_code < 300:
                    self._count(method, path, started, status)
                    return _decode(response)
                error = classify(response)
            self._count(method, path, started, status)
            if isinstance(error, QboAuthFailed) and not refreshed:
                refreshed = True
                token = self.tokens.refresh(token)
                continue
            if isinstance(error, QboAuthFailed):
                raise ReconnectNeeded("QuickBooks refused a freshly refreshed token; an Admin must reconnect.")
            if isinstance(error, QboTransient) and attempt <= self.transient_retries:
                delay = retry_delay(error, attempt, scale=self.retry_scale)
                self.sleep(delay or 0)
                continue
            raise error

    def _count(self, method: str, path: str, started: float, status: int | None) -> None:
        self.calls += 1
        if self.on_call is not None:
            self.on_call(method, path, time.perf_counter() - started, status)

    # ------------------------------------------------------------------ entities

    def create(self, entity: str, payload: dict[str, Any], *, request_id: str) -> dict[str, Any]:
        return self.request("POST", entity.lower(), params={"requestid": request_id}, body=payload)[entity]

    def update(self, entity: str, payload: dict[str, Any], *, request_id: str) -> dict[str, Any]:
        """Full update: ``payload`` carries Id and the current SyncToken; omitted fields are cleared."""
        return self.create(entity, payload, request_id=request_id)

    def read(self, entity: str, qbo_id: str) -> dict[str, Any]:
        return self.request("GET", f"{entity.lower()}/{qbo_id}")[entity]

    def delete(self, entity: str, qbo_id: str, sync_token: str, *, request_id: str) -> dict[str, Any]:
        params = {"operation": "delete", "requestid": request_id}
        return self.request("POST", entity.lower(), params=params, body={"Id": qbo_id, "SyncToken": sync_token})[entity]

    def query(self, sql: str) -> dict[str, Any]:
        return self.request("GET", "query", params={"query": sql})["QueryResponse"]

    def query_all(self, entity: str, where: str = "", *, page_size: int = MAX_RESULTS) -> Iterator[dict[str, Any]]:
        """Every row of ``entity`` matching ``where``, page by page (STARTPOSITION is 1-based)."""
        start = 1
        condition = f" WHERE {where}" if where else ""
        while True:
            page = self.query(
                f"SELECT * FROM {entity}{condition} ORDERBY Id STARTPOSITION {start} MAXRESULTS {page_size}"
            ).get(entity, [])
            yield from page
            if len(page) < page_size:
                return
            start += page_size

    def batch(self, items: list[dict[str, Any]], *, request_id: str) -> dict[str, dict[str, Any]]:
        """Run up to 30 operations; returns bId -> the item's answer (entity body or ``Fault``)."""
        if len(items) > BATCH_LIMIT:
            raise ValueError(f"A batch takes at most {BATCH_LIMIT} items")
        answer = self.request("POST", "batch", params={"requestid": request_id}, body={"BatchItemRequest": items})
        return {item["bId"]: item for item in answer.get("BatchItemResponse", [])}

    def cdc(self, entities: list[str], changed_since: str) -> CdcAnswer:
        """Objects of ``entities`` changed since ``changed_since`` (QBO looks back 30 days at most)."""
        answer = self.request("GET", "cdc", params={"entities": ",".join(entities), "changedSince": changed_since})
        out: dict[str, list[dict[str, Any]]] = {}
        for block in answer.get("CDCResponse", []):
            for response in block.get("QueryResponse", []):
                for key, value in response.items():
                    if isinstance(value, list):
                        out.setdefault(key, []).extend(value)
        return CdcAnswer(objects=out, time=str(answer.get("time", "")))

    def upload(
        self, *, entity: str, qbo_id: str, file_name: str, content_type: str, content: bytes, request_id: str
    ) -> dict[str, Any]:
        """Attach a file to a transaction: multipart /upload with Intuit's part names."""
        metadata = {
            "AttachableRef": [{"EntityRef": {"type": entity, "value": qbo_id}}],
            "FileName": file_name,
            "ContentType": content_type,
        }
        files = {
            "file_metadata_01": ("metadata.json", _encode(metadata), "application/json"),
            "file_content_01": (file_name, content, content_type),
        }
        answer = self.request("POST", "upload", params={"requestid": request_id}, files=files)
        responses = answer.get("AttachableResponse", [])
        first = responses[0] if responses else {}
        if "Fault" in first:
            raise from_fault(first["Fault"])
        return first["Attachable"]

    def preferences(self) -> dict[str, Any]:
        return self.request("GET", "preferences")["Preferences"]

    def company_info(self) -> dict[str, Any]:
        return self.request("GET", f"companyinfo/{self.realm_id}")["CompanyInfo"]


def batch_item_error(item: dict[str, Any]) -> QboError | None:
    fault = item.get("Fault")
    return from_fault(fault) if isinstance(fault, dict) else None
