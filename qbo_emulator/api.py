"""The Accounting API, `/v3/company/{realmId}/...`, as documented in qbo-api.md §2-§4, §6, §10.

Each handler authenticates the bearer, replays a known `requestid`, runs one `Ledger`
operation and wraps the answer in QBO's envelope. `minorversion` is accepted and ignored: all
minor versions below 75 are ignored by QBO too (qbo-api.md §9).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from . import faults, query
from .faults import QBOFault
from .models import BY_PATH, ENTITIES, Company, Obj
from .responses import JSON, dumps, fault_body, stamp
from .runtime import Emulator
from .services import Ledger

Result = tuple[int, Any]
Handler = Callable[[Request, Emulator, Company], Awaitable[Result]]
CDC_WINDOW = timedelta(days=30)  # "CDC operations can track changes within the last 30 days"
CDC_MAX_OBJECTS = 1000  # "Server responses can handle a maximum of 1,000 objects"


def emulator_of(request: Request) -> Emulator:
    emulator: Emulator = request.app.state.emulator
    return emulator


def _spec_for_path(path: str) -> str:
    spec = BY_PATH.get(path.lower())
    if spec is None:
        raise faults.unsupported_operation(f"Unsupported entity {path}")
    return spec.name


async def _json_body(request: Request) -> Obj:
    raw = await request.body()
    try:
        body = json.loads(raw or b"{}")
    except ValueError as exc:
        raise faults.invalid_property(f"Request body is not valid JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise faults.invalid_property("Request body must be a JSON object")
    return body


def qbo_endpoint(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    """Auth, requestid replay and fault envelopes, shared by every /v3 handler."""

    async def endpoint(request: Request) -> Response:
        emulator = emulator_of(request)
        realm = request.path_params["realm"]
        now = emulator.now()
        tz = emulator.config.tz
        auth = request.headers.get("authorization", "")
        token = auth[7:].strip() if auth[:7].lower() == "bearer " else ""
        reason = emulator.tokens.check(token, realm) if token else "Token missing"
        company = emulator.store.get(realm)
        if reason is None and company is None:
            reason = "Company not found"
        if reason is not None or company is None:
            return JSON(dumps(fault_body(faults.authentication_failed(reason or ""), now, tz)), status_code=401,
                        headers={"www-authenticate": 'Bearer realm="Intuit", error="invalid_token"'})
        request_id = request.query_params.get("requestid")
        if request_id and request_id in company.request_cache:
            # Same requestid on the same company: the first answer again, nothing applied twice
            # (exact QBO semantics UNCONFIRMED, qbo-api.md §2; this is the safe reading).
            status, text = company.request_cache[request_id]
            emulator.log.count("requestid.replayed")
            return JSON(text, status_code=status, headers={"x-emulator-replayed": "true"})
        try:
            status, body = await handler(request, emulator, company)
            if isinstance(body, dict) and "time" not in body:
                body["time"] = stamp(now, tz)
        except QBOFault as fault:
            status, body = fault.status, fault_body(fault, now, tz)
        if isinstance(body, str):  # /download answers the temporary URL as plain text
            return PlainTextResponse(body, status_code=status)
        text = dumps(body)
        if request_id:
            company.request_cache[request_id] = (status, text)
            while len(company.request_cache) > emulator.config.requestid_cache_size:
                company.request_cache.popitem(last=False)
            emulator.store.mark(realm)
        # Intuit's transaction id header, which clients log for support (qbo-api.md §8.1).
        return JSON(text, status_code=status, headers={"intuit_tid": uuid.uuid4().hex})

    return endpoint


# --- entity endpoints -----------------------------------------------------------------------

async def entity_read(request: Request, emulator: Emulator, company: Company) -> Result:
    entity = _spec_for_path(request.path_params["entity"])
    obj = emulator.ledger(company).read(entity, request.path_params["id"])
    return 200, {entity: obj}


def write(ledger: Ledger, entity: str, body: Obj, operation: str, include: str) -> Obj:
    """One write, as the URL's `operation` / `include` select it (also used by batch)."""
    allow_dup = "allowduplicatedocnum" in include
    if operation == "delete":
        return ledger.delete(entity, body)
    if operation == "update" and "void" in include:
        return ledger.void(entity, body)
    if body.get("Id") or operation == "update":
        return ledger.update(entity, body, allow_duplicate_docnum=allow_dup)
    return ledger.create(entity, body, allow_duplicate_docnum=allow_dup)


async def entity_write(request: Request, emulator: Emulator, company: Company) -> Result:
    entity = _spec_for_path(request.path_params["entity"])
    body = await _json_body(request)
    params = request.query_params
    obj = write(emulator.ledger(company), entity, body, params.get("operation", "").lower(),
                params.get("include", "").lower())
    return 200, {entity: obj}


async def preferences(request: Request, emulator: Emulator, company: Company) -> Result:
    return 200, {"Preferences": emulator.ledger(company).read("Preferences", "1")}


async def company_info(request: Request, emulator: Emulator, company: Company) -> Result:
    return 200, {"CompanyInfo": emulator.ledger(company).read("CompanyInfo", "1")}


async def download(request: Request, emulator: Emulator, company: Company) -> Result:
    att = emulator.ledger(company).read("Attachable", request.path_params["id"])
    return 200, att.get("TempDownloadUri", "")


# --- query, CDC ------------------------------------------------------------------------------

def run_query(emulator: Emulator, company: Company, text: str) -> dict[str, Any]:
    parsed = query.parse(text)
    spec = ENTITIES[parsed.entity]
    return query.page_of(parsed, company, emulator.config.tz, list_entity=spec.kind == "list")


async def query_endpoint(request: Request, emulator: Emulator, company: Company) -> Result:
    text = request.query_params.get("query")
    if text is None and request.method == "POST":
        text = (await request.body()).decode()  # POST with Content-Type: application/text
    if not text:
        raise faults.required_param_missing("query")
    return 200, {"QueryResponse": run_query(emulator, company, text)}


def _parse_since(value: str, emulator: Emulator) -> datetime:
    try:
        since = datetime.fromisoformat(value.replace(" ", "+"))  # '+' often arrives decoded as space
    except ValueError as exc:
        raise faults.invalid_property(f"Invalid changedSince {value}", "changedSince") from exc
    return since if since.tzinfo else since.replace(tzinfo=emulator.config.tz)


async def cdc_endpoint(request: Request, emulator: Emulator, company: Company) -> Result:
    names = [n.strip() for n in request.query_params.get("entities", "").split(",") if n.strip()]
    since_text = request.query_params.get("changedSince")
    if not names:
        raise faults.required_param_missing("entities")
    if not since_text:
        raise faults.required_param_missing("changedSince")
    since = _parse_since(since_text, emulator)
    if since < emulator.now() - CDC_WINDOW:
        # The documented 30-day look-back; the fault text for exceeding it is UNCONFIRMED.
        raise faults.invalid_query("changedSince cannot be more than 30 days in the past")
    found: list[tuple[datetime, str, Obj]] = []
    for name in names:
        entity = next((e for e in ENTITIES if e.lower() == name.lower()), None)
        if entity is None or not ENTITIES[entity].cdc or ENTITIES[entity].kind == "other":
            raise faults.invalid_query(f"Entity {name} is not supported by ChangeDataCapture")
        sources = [company.table(entity).values(), company.tombstones.get(entity, {}).values()]
        for source in sources:
            for obj in source:
                when = datetime.fromisoformat(obj["MetaData"]["LastUpdatedTime"])
                if when >= since:
                    found.append((when, entity, obj))
    found.sort(key=lambda item: item[0])
    # At most 1,000 objects: the oldest changes first, so a client can continue from the newest
    # LastUpdatedTime it received (how QBO picks the 1,000 is UNCONFIRMED).
    grouped: dict[str, list[Obj]] = {}
    for _, entity, obj in found[:CDC_MAX_OBJECTS]:
        grouped.setdefault(entity, []).append(obj)
    responses: list[dict[str, Any]] = [
        {entity: objs, "startPosition": 1, "maxResults": len(objs), "totalCount": len(objs)}
        for entity, objs in grouped.items()] or [{}]
    return 200, {"CDCResponse": [{"QueryResponse": responses}]}


# --- batch --------------------------------------------------------------------------------

async def batch_endpoint(request: Request, emulator: Emulator, company: Company) -> Result:
    body = await _json_body(request)
    items = body.get("BatchItemRequest")
    if not isinstance(items, list) or not items:
        raise faults.required_param_missing("BatchItemRequest")
    limit = emulator.config.limits.batch_max_items
    if emulator.config.limits.enabled and len(items) > limit:
        raise faults.batch_too_large(limit)
    ledger = emulator.ledger(company)
    out: list[dict[str, Any]] = []
    for item in items:  # in order; each item succeeds or fails on its own
        bid = item.get("bId")
        try:
            if not bid:
                raise faults.required_param_missing("bId")
            if "Query" in item:
                out.append({"bId": bid, "QueryResponse": run_query(emulator, company, item["Query"])})
                continue
            entity = next((k for k in item if k in ENTITIES), None)
            if entity is None:
                # An entity the emulator does not model: nothing by that Id exists here.
                raise faults.object_not_found()
            operation = str(item.get("operation", "create")).lower()
            include = str(item.get("optionsData", "")).lower()
            out.append({"bId": bid, entity: write(ledger, entity, item[entity], operation, include)})
        except QBOFault as fault:
            out.append({"bId": bid, "Fault": fault.fault()})
    return 200, {"BatchItemResponse": out}


# --- attachments --------------------------------------------------------------------------

async def upload_endpoint(request: Request, emulator: Emulator, company: Company) -> Result:
    form = await request.form(max_part_size=110 * 1024 * 1024)
    meta_part = form.get("file_metadata_01")
    content_part = form.get("file_content_01")
    if meta_part is None:
        raise faults.required_param_missing("file_metadata_01")
    raw_meta = await meta_part.read() if isinstance(meta_part, UploadFile) else meta_part.encode()
    try:
        meta = json.loads(raw_meta)
    except ValueError as exc:
        raise faults.invalid_property("file_metadata_01 is not valid JSON") from exc
    content = await content_part.read() if isinstance(content_part, UploadFile) else None
    if isinstance(content_part, UploadFile):
        meta.setdefault("FileName", content_part.filename)
        meta.setdefault("ContentType", content_part.content_type)
    obj = emulator.ledger(company).upload_attachable(meta, content, emulator.config.public_base_url)
    return 200, {"AttachableResponse": [{"Attachable": obj}]}


async def attachable_create(request: Request, emulator: Emulator, company: Company) -> Result:
    """`POST /attachable`: a note-only attachable, or update/delete of an existing one."""
    body = await _json_body(request)
    ledger = emulator.ledger(company)
    if request.query_params.get("operation", "").lower() == "delete":
        return 200, {"Attachable": ledger.delete("Attachable", body)}
    if body.get("Id"):
        return 200, {"Attachable": ledger.update("Attachable", body)}
    return 200, {"Attachable": ledger.upload_attachable(body, None, emulator.config.public_base_url)}


async def file_download(request: Request) -> Response:
    """The TempDownloadUri target (emulator-only path)."""
    emulator = emulator_of(request)
    company = emulator.store.get(request.path_params["realm"])
    att_id = request.path_params["id"]
    if company is None or att_id not in company.attachments:
        return PlainTextResponse("Not found", status_code=404)
    att = company.get("Attachable", att_id) or {}
    return Response(company.attachments[att_id], media_type=att.get("ContentType", "application/octet-stream"))


PREFIX = "/v3/company/{realm}"
routes = [
    Route(PREFIX + "/query", qbo_endpoint(query_endpoint), methods=["GET", "POST"]),
    Route(PREFIX + "/cdc", qbo_endpoint(cdc_endpoint), methods=["GET"]),
    Route(PREFIX + "/batch", qbo_endpoint(batch_endpoint), methods=["POST"]),
    Route(PREFIX + "/upload", qbo_endpoint(upload_endpoint), methods=["POST"]),
    Route(PREFIX + "/attachable", qbo_endpoint(attachable_create), methods=["POST"]),
    Route(PREFIX + "/preferences", qbo_endpoint(preferences), methods=["GET"]),
    Route(PREFIX + "/companyinfo/{id}", qbo_endpoint(company_info), methods=["GET"]),
    Route(PREFIX + "/download/{id}", qbo_endpoint(download), methods=["GET"]),
    Route(PREFIX + "/{entity}/{id}", qbo_endpoint(entity_read), methods=["GET"]),
    Route(PREFIX + "/{entity}", qbo_endpoint(entity_write), methods=["POST"]),
    Route("/_emulator/files/{realm}/{id}", file_download, methods=["GET"]),
]
