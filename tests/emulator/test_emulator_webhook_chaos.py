"""Webhook chaos (`PUT /_emulator/webhooks` lose / duplicate / reorder / seed): events lost,
POSTs delivered twice, queued events shuffled — and nothing of the kind by default."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from emulator_helpers import Qbo
from emulator_webhook_receiver import Receiver, recorded_deliveries, verify

from qbo_emulator.config import EmulatorConfig

pytestmark = [pytest.mark.anyio, pytest.mark.socket]


async def create_vendors(qbo: Qbo, names: list[str]) -> list[str]:
    """One batch request, so every event is queued before the webhook worker runs."""
    response = await qbo.post("batch", {"BatchItemRequest": [
        {"bId": f"b{i}", "operation": "create", "Vendor": {"DisplayName": name}} for i, name in enumerate(names)]})
    assert response.status_code == 200, response.text
    return [item["Vendor"]["Id"] for item in response.json()["BatchItemResponse"]]


async def test_given_defaults_when_configured_then_no_chaos_is_reported_and_events_arrive_in_order(
        qbo: Qbo, receiver: Receiver) -> None:
    settings = await qbo.control("PUT", "/webhooks", json={"url": receiver.url})
    assert {k: settings[k] for k in ("lose", "duplicate", "reorder", "seed", "lost", "duplicated")} == {
        "lose": 0.0, "duplicate": 0.0, "reorder": False, "seed": None, "lost": 0, "duplicated": 0}
    ids = await create_vendors(qbo, [f"In Order {i}" for i in range(6)])
    await receiver.wait_for(1)
    assert len(receiver.received) == 1  # all six queued at once go out in one POST, in order
    assert [e["intuitentityid"] for e in json.loads(receiver.received[0]["body"])] == ids
    deliveries = await recorded_deliveries(qbo, 1)
    assert [(d["attempt"], d["ok"], d["duplicate"]) for d in deliveries] == [(1, True, False)]


async def test_given_lose_1_when_objects_change_then_nothing_arrives_and_losses_are_counted(
        qbo: Qbo, receiver: Receiver) -> None:
    settings = await qbo.control("PUT", "/webhooks", json={"url": receiver.url, "lose": 1})
    assert settings["lose"] == 1.0
    bill = await qbo.create("Bill", qbo.bill_body())
    vendor_ids = await create_vendors(qbo, ["Lost One", "Lost Two"])
    state = await qbo.control("GET", "/webhooks")
    assert state["pending"] == 0 and state["lost"] == 3
    assert [e["id"] for e in state["lost_events"]] == [bill["Id"], *vendor_ids]
    # Losing stops when asked to; the next event is the first one the receiver ever sees.
    await qbo.control("PUT", "/webhooks", json={"lose": 0})
    later = await qbo.create("Vendor", {"DisplayName": "Found"})
    await receiver.wait_for(1)
    assert [e["intuitentityid"] for e in receiver.cloudevents()] == [later["Id"]]
    counters = (await qbo.control("GET", "/counters"))["counters"]
    assert counters["webhooks.lost"] == 3


@pytest.mark.parametrize("fmt", ["cloudevents", "legacy"])
async def test_given_duplicate_1_when_posts_are_acknowledged_then_each_arrives_twice_with_valid_signature(
        qbo: Qbo, receiver: Receiver, config: EmulatorConfig, fmt: str) -> None:
    await qbo.control("PUT", "/webhooks", json={"url": receiver.url, "format": fmt, "duplicate": 1.0})
    await qbo.create("Bill", qbo.bill_body())
    await receiver.wait_for(2)
    await qbo.create("Vendor", {"DisplayName": "Twice Told"})
    await receiver.wait_for(4)
    posts = receiver.received
    assert len(posts) == 4
    for first, again in (posts[0:2], posts[2:4]):
        assert first["body"] == again["body"]
        assert first["headers"]["intuit-signature"] == again["headers"]["intuit-signature"]
        assert first["headers"]["intuit_tid"] == again["headers"]["intuit_tid"]
        assert verify(first, config.verifier_token) and verify(again, config.verifier_token)
    assert posts[0]["body"] != posts[2]["body"]
    deliveries = await recorded_deliveries(qbo, 4)
    assert [d["duplicate"] for d in deliveries] == [False, True, False, True]
    state = await qbo.control("GET", "/webhooks")
    assert state["duplicated"] == 2 and state["lost"] == 0


async def test_given_duplicate_1_and_a_failing_receiver_when_retried_then_only_the_acknowledged_post_repeats(
        qbo: Qbo, receiver: Receiver) -> None:
    receiver.fail_next = 1
    await qbo.control("PUT", "/webhooks", json={"url": receiver.url, "duplicate": 1})
    await qbo.create("Bill", qbo.bill_body())
    await receiver.wait_for(3)
    deliveries = await recorded_deliveries(qbo, 3)
    assert [(d["attempt"], d["status"], d["duplicate"]) for d in deliveries] == [
        (1, 500, False), (2, 200, False), (2, 200, True)]
    assert len({post["body"] for post in receiver.received}) == 1


async def reordered_run(qbo: Qbo, receiver: Receiver, seed: int, tag: str) -> tuple[list[int], list[int]]:
    """Create 8 vendors with reorder on; return the arrival order (as creation positions) and the
    number of events in each POST."""
    receiver.received.clear()
    await qbo.control("PUT", "/webhooks", json={"url": receiver.url, "reorder": True, "seed": seed,
                                                "reorder_window_ms": 5})
    ids = await create_vendors(qbo, [f"Shuffled {tag} {i}" for i in range(8)])
    events = await receiver.wait_for_events(len(ids))
    arrived = [e["intuitentityid"] for e in events]
    assert sorted(arrived) == sorted(ids)  # the same events, each exactly once
    return [ids.index(i) for i in arrived], [len(json.loads(post["body"])) for post in receiver.received]


async def test_given_reorder_when_events_queue_then_same_events_arrive_shuffled_and_reproducibly_per_seed(
        qbo: Qbo, receiver: Receiver) -> None:
    runs = {seed: await reordered_run(qbo, receiver, seed, f"s{seed}") for seed in range(1, 6)}
    in_order = list(range(8))
    assert any(order != in_order for order, _ in runs.values())
    assert len({tuple(order) for order, _ in runs.values()}) > 1  # the seed matters
    assert any(size > 1 for _, sizes in runs.values() for size in sizes)  # several events per POST
    assert await reordered_run(qbo, receiver, 3, "again") == runs[3]  # same seed, same sequence
    state = await qbo.control("GET", "/webhooks")
    assert state["reorder"] is True and state["seed"] == 3 and state["lost"] == 0 and state["duplicated"] == 0


async def test_given_a_seed_when_losing_half_then_the_same_events_are_lost_each_time(
        qbo: Qbo, receiver: Receiver) -> None:
    lost_positions: list[list[int]] = []
    for run in range(2):
        await qbo.control("PUT", "/webhooks", json={"url": receiver.url, "lose": 0.5, "seed": 42})
        ids = await create_vendors(qbo, [f"Maybe {run} {i}" for i in range(20)])
        lost = {e["id"] for e in (await qbo.control("GET", "/webhooks"))["lost_events"]}
        lost_positions.append([i for i, obj_id in enumerate(ids) if obj_id in lost])
    assert lost_positions[0] == lost_positions[1]
    assert 0 < len(lost_positions[0]) < 20


@pytest.mark.parametrize("change", [
    {"lose": 1.5}, {"lose": -0.1}, {"duplicate": "often"}, {"duplicate": True}, {"reorder": "yes"},
    {"seed": 1.5}, {"seed": True}, {"reorder_window_ms": -1}, {"lose": 1, "format": "xml"},
])
async def test_given_bad_chaos_settings_when_put_then_refused_and_nothing_changes(
        client: httpx.AsyncClient, change: dict[str, Any]) -> None:
    before = (await client.get("/_emulator/webhooks")).json()
    response = await client.put("/_emulator/webhooks", json={"url": "http://127.0.0.1:9/hook", **change})
    assert response.status_code == 400
    assert (await client.get("/_emulator/webhooks")).json() == before


async def test_given_webhook_chaos_when_the_emulator_is_reset_then_it_is_back_to_defaults(
        qbo: Qbo, receiver: Receiver) -> None:
    await qbo.control("PUT", "/webhooks", json={"url": receiver.url, "lose": 1, "duplicate": 1, "reorder": True,
                                                "seed": 7})
    await qbo.create("Vendor", {"DisplayName": "Gone"})
    await qbo.control("POST", "/reset")
    state = await qbo.control("GET", "/webhooks")
    assert state["url"] == receiver.url
    assert {k: state[k] for k in ("lose", "duplicate", "reorder", "seed", "lost", "duplicated", "lost_events")} == {
        "lose": 0.0, "duplicate": 0.0, "reorder": False, "seed": None, "lost": 0, "duplicated": 0,
        "lost_events": []}
