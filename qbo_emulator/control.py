"""The control API, `/_emulator/...`: what tests, benchmarks and the demo need besides QBO itself.

Changes made here are "a QBO user" working in the QuickBooks UI: they go through the same
Ledger as the v3 API, so they fire webhooks and show up in CDC exactly like API changes.
Every endpoint is listed in README.md.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from starlette.requests import Request
from starlette.routing import Route

from .chaos import Injection, WebhookChaos
from .control_http import ControlError, _body, _company, _emu, control
from .control_user import (
    bill_create,
    bill_delete,
    bill_edit,
    closing_date,
    payment_create,
    payment_delete,
    payment_void,
    vendor_credit_create,
)
from .models import Company
from .seed import bulk_load, create_company, seed_company
from .tax_tables import company_country

# --- emulator-wide --------------------------------------------------------------------------

async def health(request: Request) -> Any:
    return {"ok": True, "companies": len(_emu(request).store.companies)}


async def credentials(request: Request) -> Any:
    return _emu(request).config.credentials()


async def reset(request: Request) -> Any:
    emulator = _emu(request)
    emulator.store.reset()
    emulator.chaos.clear()
    emulator.limiter.reset()
    emulator.log.clear()
    emulator.webhooks.pending.clear()
    emulator.webhooks.deliveries.clear()
    emulator.webhooks.chaos.clear()
    return {"ok": True}


async def companies_list(request: Request) -> Any:
    return {"companies": [company_summary(c) for c in _emu(request).store.companies.values()]}


def company_summary(company: Company) -> dict[str, Any]:
    prefs = company.get("Preferences", "1") or {}
    currency = prefs.get("CurrencyPrefs") or {}
    return {"realmId": company.realm_id, "name": company.name, "country": company_country(company),
            "home_currency": (currency.get("HomeCurrency") or {}).get("value"),
            "multicurrency": bool(currency.get("MultiCurrencyEnabled")),
            "closing_date": prefs.get("AccountingInfoPrefs", {}).get("BookCloseDate"),
            "counts": {entity: len(table) for entity, table in company.objects.items()}}


async def companies_create(request: Request) -> Any:
    body = await _body(request)
    emulator = _emu(request)
    if body.get("realm_id") and emulator.store.get(str(body["realm_id"])):
        raise ControlError("realm_id already exists", 409)
    multicurrency = body.get("multicurrency", False)
    if not isinstance(multicurrency, bool):
        raise ControlError("multicurrency must be true or false")
    company = create_company(emulator, name=str(body.get("name", "Sandbox Company")),
                             realm_id=str(body["realm_id"]) if body.get("realm_id") else None,
                             seed=bool(body.get("seed", True)),
                             home_currency=str(body["home_currency"]) if body.get("home_currency") else None,
                             country=str(body.get("country") or "US"), multicurrency=multicurrency)
    result: dict[str, Any] = {"realmId": company.realm_id, **company_summary(company), "ids": ids_by_name(company)}
    if body.get("tokens"):
        result["tokens"] = emulator.tokens.issue_for(company.realm_id)
    return result


def ids_by_name(company: Company) -> dict[str, dict[str, str]]:
    names = {"Account": "Name", "Vendor": "DisplayName", "Customer": "DisplayName", "Class": "Name",
             "Department": "Name", "Term": "Name", "Item": "Name", "TaxCode": "Name", "TaxRate": "Name"}
    return {entity: {o[field]: o["Id"] for o in company.table(entity).values()} for entity, field in names.items()}


async def company_get(request: Request) -> Any:
    company = _company(request)
    return {**company_summary(company), "ids": ids_by_name(company)}


async def company_seed(request: Request) -> Any:
    company = _company(request)
    body = await _body(request)
    created = seed_company(_emu(request), company, defaults=bool(body.pop("defaults", False)), data=body)
    return {"created": created}


async def company_bulk(request: Request) -> Any:
    company = _company(request)
    body = await _body(request)
    bills = int(body.get("bills", 0))
    if not 0 < bills <= 200_000:
        raise ControlError("bills must be between 1 and 200000")
    return bulk_load(_emu(request), company, bills=bills, pay_ratio=float(body.get("pay_ratio", 1.0)),
                     start=body.get("start"), days=int(body.get("days", 28)), amount=float(body.get("amount", 100)))


async def company_multicurrency(request: Request) -> Any:
    """A QBO user turns multicurrency on. QBO: it "cannot be turned off once enabled" (§11)."""
    company = _company(request)
    body = await _body(request)
    if body.get("enabled", True) is not True:
        raise ControlError("multicurrency cannot be turned off once it is on (QBO allows only turning it on)")
    prefs = _emu(request).ledger(company).enable_multicurrency()
    return {"Preferences": prefs}


async def company_tokens(request: Request) -> Any:
    """Tokens without the browser consent step (tests and benchmarks)."""
    company = _company(request)
    result = _emu(request).tokens.issue_for(company.realm_id)
    return result


# --- faults, limits, logs, webhooks -----------------------------------------------------------

INJECTION_FIELDS = {f.name for f in fields(Injection)}


async def faults_set(request: Request) -> Any:
    """Inject: {"latency_ms": 200} and/or {"kind": "status"|"throttle"|"timeout"|"drop", "count": n,
    ...Injection fields} or {"kind": "expire_tokens", "realm": optional}."""
    emulator = _emu(request)
    body = await _body(request)
    if "latency_ms" in body:
        emulator.chaos.latency_ms = float(body["latency_ms"])
    kind = body.get("kind")
    if kind == "expire_tokens":
        return {"expired": emulator.tokens.expire_access_tokens(body.get("realm"))}
    if kind:
        if kind not in ("status", "throttle", "timeout", "drop"):
            raise ControlError("kind must be status, throttle, timeout, drop or expire_tokens")
        injection = Injection(**{k: v for k, v in body.items() if k in INJECTION_FIELDS})
        if injection.kind == "status" and not 500 <= injection.status <= 599:
            raise ControlError("status must be 5xx")
        emulator.chaos.pending.append(injection)
    return emulator.chaos.describe()


async def faults_get(request: Request) -> Any:
    return _emu(request).chaos.describe()


async def faults_clear(request: Request) -> Any:
    _emu(request).chaos.clear()
    return {"ok": True}


async def limits_set(request: Request) -> Any:
    emulator = _emu(request)
    body = await _body(request)
    limits = emulator.config.limits
    if "scale" in body:
        limits = limits.scaled(float(body["scale"]))
    for key in ("enabled", "requests_per_minute", "concurrent", "batch_per_minute", "batch_max_items",
                "throttle_xml"):
        if key in body:
            setattr(limits, key, type(getattr(limits, key))(body[key]))
    emulator.config.limits = limits
    emulator.limiter.limits = limits
    emulator.limiter.reset()
    return vars(limits)


async def requests_get(request: Request) -> Any:
    emulator = _emu(request)
    realm = request.query_params.get("realm")
    limit = int(request.query_params.get("limit", 200))
    entries = [e for e in emulator.log.entries if not realm or e.get("realm") == realm]
    return {"requests": entries[-limit:]}


async def requests_clear(request: Request) -> Any:
    _emu(request).log.clear()
    return {"ok": True}


async def counters(request: Request) -> Any:
    emulator = _emu(request)
    return {"counters": dict(emulator.log.counters), "in_flight": dict(emulator.limiter.in_flight),
            "throttled": dict(emulator.limiter.throttled)}


def _probability(body: dict[str, Any], key: str) -> float | None:
    if key not in body:
        return None
    value = body[key]
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise ControlError(f"{key} must be a probability between 0 and 1")
    return float(value)


def _webhook_chaos(body: dict[str, Any], chaos: WebhookChaos) -> None:
    """Apply `lose`, `duplicate`, `reorder`, `reorder_window_ms` and `seed`, all checked first."""
    lose, duplicate = _probability(body, "lose"), _probability(body, "duplicate")
    if "reorder" in body and not isinstance(body["reorder"], bool):
        raise ControlError("reorder must be true or false")
    window = body.get("reorder_window_ms")
    if "reorder_window_ms" in body and (isinstance(window, bool) or not isinstance(window, int | float)
                                        or not 0 <= window <= 60_000):
        raise ControlError("reorder_window_ms must be a number of milliseconds between 0 and 60000")
    seed = body.get("seed")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise ControlError("seed must be an integer or null")
    if lose is not None:
        chaos.lose = lose
    if duplicate is not None:
        chaos.duplicate = duplicate
    if "reorder" in body:
        chaos.reorder = body["reorder"]
    if window is not None:
        chaos.reorder_window_ms = float(window)
    if "seed" in body:
        chaos.reseed(seed)


async def webhooks_set(request: Request) -> Any:
    emulator = _emu(request)
    body = await _body(request)
    hooks = emulator.webhooks
    if "format" in body and body["format"] not in ("cloudevents", "legacy"):
        raise ControlError("format must be cloudevents or legacy")
    _webhook_chaos(body, hooks.chaos)  # checks its fields before changing anything
    if "url" in body:
        hooks.url = body["url"] or None
    if body.get("verifier_token"):
        emulator.config.verifier_token = str(body["verifier_token"])
    if "format" in body:
        hooks.format = body["format"]
    if "retry_scale" in body:
        emulator.config.webhook_retry_scale = float(body["retry_scale"])
    return await webhooks_get(request)


async def webhooks_get(request: Request) -> Any:
    hooks = _emu(request).webhooks
    limit = int(request.query_params.get("limit", 50))
    return {"url": hooks.url, "format": hooks.format, "pending": len(hooks.pending), **hooks.chaos.describe(),
            "lost_events": list(hooks.chaos.lost_events)[-limit:], "deliveries": list(hooks.deliveries)[-limit:]}


C = "/_emulator"
R = C + "/companies/{realm}"
routes = [
    Route(C + "/health", control(health)),
    Route(C + "/credentials", control(credentials)),
    Route(C + "/reset", control(reset), methods=["POST"]),
    Route(C + "/companies", control(companies_list), methods=["GET"]),
    Route(C + "/companies", control(companies_create), methods=["POST"]),
    Route(R, control(company_get), methods=["GET"]),
    Route(R + "/seed", control(company_seed), methods=["POST"]),
    Route(R + "/bulk", control(company_bulk), methods=["POST"]),
    Route(R + "/tokens", control(company_tokens), methods=["POST"]),
    Route(R + "/multicurrency", control(company_multicurrency), methods=["POST"]),
    Route(R + "/bills", control(bill_create), methods=["POST"]),
    Route(R + "/bills/{id}", control(bill_edit), methods=["PATCH"]),
    Route(R + "/bills/{id}", control(bill_delete), methods=["DELETE"]),
    Route(R + "/bill-payments", control(payment_create), methods=["POST"]),
    Route(R + "/bill-payments/{id}/void", control(payment_void), methods=["POST"]),
    Route(R + "/bill-payments/{id}", control(payment_delete), methods=["DELETE"]),
    Route(R + "/vendor-credits", control(vendor_credit_create), methods=["POST"]),
    Route(R + "/closing-date", control(closing_date), methods=["PUT"]),
    Route(C + "/faults", control(faults_set), methods=["POST"]),
    Route(C + "/faults", control(faults_get), methods=["GET"]),
    Route(C + "/faults", control(faults_clear), methods=["DELETE"]),
    Route(C + "/limits", control(limits_set), methods=["PUT"]),
    Route(C + "/requests", control(requests_get), methods=["GET"]),
    Route(C + "/requests", control(requests_clear), methods=["DELETE"]),
    Route(C + "/counters", control(counters), methods=["GET"]),
    Route(C + "/webhooks", control(webhooks_set), methods=["PUT"]),
    Route(C + "/webhooks", control(webhooks_get), methods=["GET"]),
]
