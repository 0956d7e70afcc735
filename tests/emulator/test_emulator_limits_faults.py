"""Throttling (qbo-api.md §7) and injected faults, in process."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from emulator_helpers import Qbo, fault_of

pytestmark = pytest.mark.anyio


async def test_given_the_per_minute_limit_when_exceeded_then_429_with_qbo_throttle_fault(qbo: Qbo) -> None:
    await qbo.control("PUT", "/limits", json={"enabled": True, "requests_per_minute": 3})
    statuses = [(await qbo.get("preferences")).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    response = await qbo.get("preferences")
    error = fault_of(response)
    assert error["code"] == "3001"
    assert error["Message"] == "message=ThrottleExceeded; errorCode=003001; statusCode=429"
    assert error["Detail"] == "The request limit was reached.  Try again later"
    counters = await qbo.control("GET", "/counters")
    assert counters["throttled"][qbo.realm] == 2


async def test_given_limits_are_per_company_when_one_is_throttled_then_another_is_not(client, qbo: Qbo) -> None:
    from emulator_helpers import connect

    other = await connect(client, "Other")
    await qbo.control("PUT", "/limits", json={"enabled": True, "requests_per_minute": 1})
    assert (await qbo.get("preferences")).status_code == 200
    assert (await qbo.get("preferences")).status_code == 429
    assert (await other.get("preferences")).status_code == 200


async def test_given_the_concurrency_limit_when_too_many_in_flight_then_extra_ones_429(qbo: Qbo) -> None:
    await qbo.control("PUT", "/limits", json={"enabled": True, "concurrent": 2})
    await qbo.control("POST", "/faults", json={"latency_ms": 100})
    responses = await asyncio.gather(*(qbo.get("preferences") for _ in range(3)))
    assert sorted(r.status_code for r in responses) == [200, 200, 429]


async def test_given_limits_scaled_when_configured_then_lower_thresholds_apply(qbo: Qbo) -> None:
    limits = await qbo.control("PUT", "/limits", json={"enabled": True, "scale": 0.01})
    assert limits["requests_per_minute"] == 5 and limits["concurrent"] == 1


async def test_given_an_xml_throttle_injected_then_body_is_qbo_xml_even_for_json_clients(qbo: Qbo) -> None:
    await qbo.control("POST", "/faults", json={"kind": "throttle", "xml": True})
    response = await qbo.get("preferences")
    assert response.status_code == 429
    assert response.headers["content-type"].startswith("application/xml")
    assert response.text == ('<Fault type="SERVICE"><Error code="3001"><Message>message=ThrottleExceeded; '
                             'errorCode=003001; statusCode=429</Message><Detail>The request limit was reached.  '
                             'Try again later</Detail></Error></Fault>')


async def test_given_503_injected_for_two_requests_then_two_fail_and_nothing_is_created(qbo: Qbo) -> None:
    await qbo.control("POST", "/faults", json={"kind": "status", "status": 503, "count": 2, "match": "/bill"})
    first = await qbo.post("bill", qbo.bill_body())
    second = await qbo.post("bill", qbo.bill_body())
    third = await qbo.post("bill", qbo.bill_body())
    assert [first.status_code, second.status_code, third.status_code] == [503, 503, 200]
    assert first.json()["Fault"]["type"] == "SystemFault"
    assert (await qbo.query("select count(*) from Bill"))["totalCount"] == 1


async def test_given_commit_then_drop_when_creating_then_transport_error_but_bill_exists_and_replays(
        qbo: Qbo) -> None:
    await qbo.control("POST", "/faults", json={"kind": "drop", "match": "/bill"})
    with pytest.raises(httpx.TransportError):
        await qbo.post("bill", qbo.bill_body(DocNumber="DROP-1"), requestid="drop-req")
    assert (await qbo.query("select count(*) from Bill where DocNumber = 'DROP-1'"))["totalCount"] == 1
    retry = await qbo.post("bill", qbo.bill_body(DocNumber="DROP-1"), requestid="drop-req")
    assert retry.status_code == 200 and retry.json()["Bill"]["DocNumber"] == "DROP-1"
    assert (await qbo.query("select count(*) from Bill where DocNumber = 'DROP-1'"))["totalCount"] == 1


async def test_given_expired_tokens_injected_then_next_call_is_401(qbo: Qbo) -> None:
    result = await qbo.control("POST", "/faults", json={"kind": "expire_tokens", "realm": qbo.realm})
    assert result["expired"] >= 1
    assert (await qbo.get("preferences")).status_code == 401


async def test_given_latency_injected_then_requests_take_at_least_that_long(qbo: Qbo) -> None:
    await qbo.control("POST", "/faults", json={"latency_ms": 120})
    loop = asyncio.get_running_loop()
    started = loop.time()
    await qbo.get("preferences")
    assert loop.time() - started >= 0.12
    await qbo.control("DELETE", "/faults")
    assert (await qbo.control("GET", "/faults"))["latency_ms"] == 0


async def test_given_requests_when_log_read_then_each_call_is_listed(qbo: Qbo) -> None:
    await qbo.get("preferences")
    await qbo.get("vendor/424242")
    log = (await qbo.control("GET", f"/requests?realm={qbo.realm}"))["requests"]
    assert [(e["method"], e["status"]) for e in log[-2:]] == [("GET", 200), ("GET", 400)]
    assert log[-1]["path"].endswith("/vendor/424242")
    counters = (await qbo.control("GET", "/counters"))["counters"]
    assert counters["status.400"] >= 1 and counters[f"realm.{qbo.realm}.requests"] >= 2


async def test_given_an_unknown_fault_kind_when_injecting_then_400(qbo: Qbo) -> None:
    response = await qbo.client.post("/_emulator/faults", json={"kind": "explode"})
    assert response.status_code == 400


async def test_given_xml_throttles_configured_when_limit_exceeded_then_xml_429(qbo: Qbo) -> None:
    await qbo.control("PUT", "/limits", json={"enabled": True, "requests_per_minute": 1, "throttle_xml": True})
    await qbo.get("preferences")
    response = await qbo.get("preferences")
    assert response.status_code == 429 and response.text.startswith('<Fault type="SERVICE">')
