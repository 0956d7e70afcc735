"""The webhook endpoint under fuzzing: whatever arrives, it answers 200, 400, 401 or 413, never 5xx.

Refusals are in the API's error shape and store nothing: 413 for a body over the limit (before any
signature work), 401 for a missing or wrong ``intuit-signature``, 400 for a signed body that is not
a JSON object or array. A signed delivery sent again is acknowledged again and stored once. Only an
outage on our side (database, broker) answers 5xx: 503, so that Intuit retries.

Hypothesis draws bodies, signatures and content types; ``derandomize`` and no example database keep
the examples the same on every run, so CI is deterministic.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import dramatiq
import pytest
from django.db import models
from django.test import Client, RequestFactory, override_settings
from hypothesis import HealthCheck, event, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from payments.models import Payment
from procurement.models import Status
from quickbooks.inbound import webhooks
from quickbooks.inbound.models import EventState, WebhookEvent
from tests.quickbooks.conftest import Qbo, settle
from tests.quickbooks.test_payments_in import exported_invoice, pay, status_of
from tests.quickbooks.test_payments_webhooks import URL, cloudevent, legacy, signed

CLOUDEVENTS = "application/cloudevents+json"
ALLOWED = {200, 400, 401, 413}
MIB = 1024 * 1024
FUZZ = hypothesis_settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)


@pytest.fixture
def token(qbo_settings: Any, db: None) -> Iterator[str]:
    """The emulator's verifier token. No worker runs: what is stored stays pending, for the test to see."""
    yield str(qbo_settings.verifier_token)
    dramatiq.get_broker().flush_all()  # the messages queued for events stored here


def post(body: bytes, *, signature: str | None = None, content_type: str = CLOUDEVENTS, **environ: Any) -> Any:
    """POST the raw bytes as they are (``generic`` neither encodes nor re-checks them)."""
    if signature is not None:
        environ["HTTP_INTUIT_SIGNATURE"] = signature
    response = Client().generic("POST", URL, data=body, content_type=content_type, **environ)
    assert response.status_code in ALLOWED, (response.status_code, response.content[:300])
    return response


def rows() -> list[tuple[Any, ...]]:
    return list(WebhookEvent.objects.order_by("pk").values_list("pk", "dedupe_key", "state", "processed_at"))


def assert_refused(response: Any, status: int, code: str) -> None:
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"] == "application/json"
    body = json.loads(response.content)
    assert body == {"error": {"code": code, "message": body["error"]["message"], "fields": {}}}
    assert body["error"]["message"]


def assert_storable(events: list[WebhookEvent]) -> None:
    """What PostgreSQL would refuse (SQLite does not check): over-long values, NUL characters."""
    for row in events:
        for field in WebhookEvent._meta.concrete_fields:
            value = getattr(row, field.attname)
            if isinstance(value, str):
                assert "\x00" not in value, (field.name, value)
                value.encode()  # no lone surrogates
                if isinstance(field, models.CharField) and field.max_length:
                    assert len(value) <= field.max_length, (field.name, value)


def a_delivery(realm: str = "9130350000000001", count: int = 1) -> bytes:
    events = [
        {
            "specversion": "1.0",
            "id": f"fuzz-{i}",
            "type": "qbo.account.created.v1",
            "time": "2026-01-01T00:00:00Z",
            "intuitentityid": str(i),
            "intuitaccountid": realm,
            "source": "intuit.fuzz",
        }
        for i in range(count)
    ]
    return json.dumps(events).encode()


# ---------------------------------------------------------------- signatures


def test_given_an_unsigned_body_when_posted_then_401_and_nothing_is_stored(token):
    assert_refused(post(a_delivery()), 401, "invalid_signature")
    assert rows() == []


@pytest.mark.parametrize(
    "forgery",
    ["empty", "garbage", "not base64", "another token", "another body", "cut short", "extra characters", "latin-1"],
)
def test_given_a_bad_signature_when_posted_then_401_and_nothing_is_stored(token, forgery):
    body = a_delivery()
    good = signed(body, token)
    signature = {
        "empty": "",
        "garbage": "x" * 44,
        "not base64": "%%%%not*base64%%%%",
        "another token": signed(body, "not-" + token),
        "another body": signed(body.replace(b"fuzz-0", b"fuzz-9"), token),
        "cut short": good[:-2],
        "extra characters": good + "AA",
        "latin-1": good[:-1] + "é",
    }[forgery]
    assert_refused(post(body, signature=signature), 401, "invalid_signature")
    assert rows() == []


def test_given_no_verifier_token_is_configured_when_a_body_signed_with_an_empty_key_arrives_then_401(token, settings):
    settings.QBO_WEBHOOK_VERIFIER_TOKEN = ""
    body = a_delivery()
    assert_refused(post(body, signature=signed(body, "")), 401, "invalid_signature")
    assert rows() == []


def test_given_a_correctly_signed_body_when_posted_then_200_and_its_events_are_stored(token):
    body = a_delivery(count=3)
    response = post(body, signature=signed(body, token))
    assert response.status_code == 200
    assert [key for _, key, _, _ in rows()] == ["ce:fuzz-0", "ce:fuzz-1", "ce:fuzz-2"]


# ---------------------------------------------------------------- size


def test_given_a_body_over_the_default_limit_when_posted_signed_or_not_then_413_and_nothing_is_stored(token):
    assert webhooks.MAX_BODY_BYTES == MIB
    body = a_delivery()[:-1] + b" " * (MIB - len(a_delivery()) + 1) + b"]"  # valid JSON, 1 MiB + 1 byte
    assert len(body) == MIB + 1
    for signature in (None, signed(body, token)):
        assert_refused(post(body, signature=signature), 413, "too_large")
    assert rows() == []


def test_given_a_body_of_exactly_the_limit_when_signed_then_it_is_accepted(token):
    body = a_delivery()[:-1] + b" " * (MIB - len(a_delivery())) + b"]"
    assert len(body) == MIB
    assert post(body, signature=signed(body, token)).status_code == 200
    assert len(rows()) == 1


def test_given_the_limit_is_set_lower_when_a_body_goes_over_it_then_413(token, settings):
    settings.QBO_WEBHOOK_MAX_BYTES = 200
    small, large = a_delivery(), a_delivery(count=2)
    assert len(small) <= 200 < len(large)
    assert_refused(post(large, signature=signed(large, token)), 413, "too_large")
    assert post(small, signature=signed(small, token)).status_code == 200
    assert len(rows()) == 1


def test_given_an_oversized_body_when_posted_then_413_comes_before_any_signature_work(token, monkeypatch):
    def no_signature_work(*args: Any) -> bool:
        raise AssertionError("the signature of an oversized body was checked")

    monkeypatch.setattr(webhooks, "signature_valid", no_signature_work)
    body = b"[" + b" " * MIB + b"]"
    assert_refused(post(body, signature=signed(body, token)), 413, "too_large")


def test_given_a_content_length_over_the_limit_when_the_body_is_small_then_413_without_reading_it(token):
    body = a_delivery()
    response = post(body, signature=signed(body, token), CONTENT_LENGTH=str(MIB + 1))
    assert_refused(response, 413, "too_large")
    assert rows() == []


def test_given_a_body_longer_than_its_content_length_when_read_then_413(token):
    """A server that lets more through than was declared (ASGI, chunked bodies): the bytes read count."""
    body = a_delivery(count=2)
    request = RequestFactory().generic(
        "POST", URL, data=body, content_type=CLOUDEVENTS, HTTP_INTUIT_SIGNATURE=signed(body, token)
    )
    request.META["CONTENT_LENGTH"] = "10"
    with override_settings(QBO_WEBHOOK_MAX_BYTES=len(body) - 1):
        assert_refused(webhooks.webhook_endpoint(request), 413, "too_large")
    assert rows() == []


def test_given_djangos_own_upload_limit_is_lower_when_a_body_goes_over_it_then_413_too(token, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100
    body = a_delivery()
    assert_refused(post(body, signature=signed(body, token)), 413, "too_large")
    assert rows() == []


@pytest.mark.parametrize("length", ["abc", "-1", "1e3", " "])
def test_given_a_malformed_content_length_when_posted_then_400_and_nothing_is_stored(token, length):
    body = a_delivery()
    assert_refused(post(body, signature=signed(body, token), CONTENT_LENGTH=length), 400, "bad_request")
    assert rows() == []


# ---------------------------------------------------------------- content types


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/xml",
        "application/json; charset=latin-1",
        "",
        "garbage/;;;",
    ],
)
def test_given_a_wrong_content_type_when_signed_then_the_signature_decides(token, content_type):
    """Intuit sends application/json or application/cloudevents+json, and strict receivers that answer
    415 lose deliveries (qbo-api.md §5.5): the signed bytes are what counts, not the label."""
    body = a_delivery()
    assert_refused(post(body, content_type=content_type), 401, "invalid_signature")
    assert rows() == []
    assert post(body, signature=signed(body, token), content_type=content_type).status_code == 200
    assert len(rows()) == 1


# ---------------------------------------------------------------- signed bodies that are not a delivery


@pytest.mark.parametrize("cut", [1, 2, 10, 50, -1, -2])
def test_given_truncated_json_correctly_signed_when_posted_then_400_and_nothing_is_stored(token, cut):
    body = a_delivery(count=2)[:cut]
    assert_refused(post(body, signature=signed(body, token)), 400, "invalid_json")
    assert rows() == []


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"\xff\xfe\xfd",
        b'[{"id": "\xff"}]',
        b'{"eventNotifications": "\xc3\x28"}',
        b"\x00" * 16,
        b"[" * 100_000 + b"]" * 100_000,
        b"1" * 5000,
        b"NaN garbage",
        b"{'single': 'quotes'}",
    ],
    ids=[
        "empty",
        "not utf-8",
        "not utf-8 in a string",
        "invalid utf-8 sequence",
        "nul bytes",
        "nested too deep",
        "huge integer",
        "not json",
        "python literal",
    ],
)
def test_given_a_signed_body_that_is_not_json_when_posted_then_400_and_nothing_is_stored(token, body):
    assert_refused(post(body, signature=signed(body, token)), 400, "invalid_json")
    assert rows() == []


@pytest.mark.parametrize("body", [b"null", b"1", b"-0.5e10", b'"eventNotifications"', b"true"])
def test_given_signed_json_that_is_neither_an_object_nor_an_array_when_posted_then_400(token, body):
    assert_refused(post(body, signature=signed(body, token)), 400, "invalid_payload")
    assert rows() == []


@pytest.mark.parametrize(
    "data",
    [
        {},
        [],
        [1, None, "x", [], {}],
        {"eventNotifications": "x"},
        {"eventNotifications": 5},
        {"eventNotifications": {"realmId": "1"}},
        {"eventNotifications": [None, 1, "x", []]},
        {"eventNotifications": [{"realmId": "1", "dataChangeEvent": []}]},
        {"eventNotifications": [{"realmId": "1", "dataChangeEvent": {"entities": "x"}}]},
        {"eventNotifications": [{"realmId": "1", "dataChangeEvent": {"entities": [1, None, "x", []]}}]},
        [{"id": ""}, {"id": None}, {"id": 0}, {"id": False}],
    ],
)
def test_given_signed_json_of_an_unknown_shape_when_posted_then_200_and_nothing_is_stored(token, data):
    """Signed by Intuit but nothing we recognise: acknowledged (a retry would bring the same) and skipped."""
    body = json.dumps(data).encode()
    assert post(body, signature=signed(body, token)).status_code == 200
    assert rows() == []


@pytest.mark.parametrize(
    "data",
    [
        [{"id": {"nested": [1, {"x": None}]}, "type": ["a"], "intuitaccountid": {"r": 1}, "intuitentityid": 1.5}],
        [
            {
                "id": "x" * 1000,
                "type": "qbo." + "e" * 500 + "." + "v" * 500 + ".v1",
                "intuitaccountid": "9" * 500,
                "intuitentityid": "7" * 500,
                "time": "t" * 500,
            }
        ],
        [
            {
                "id": "nul\x00",
                "type": "qbo.bill\x00payment.created\x00.v1",
                "intuitaccountid": "1\x002",
                "intuitentityid": "\x00",
            }
        ],
        [{"id": "\ud800", "type": "qbo.\udfff.created.v1", "intuitaccountid": "\udbff", "intuitentityid": "\ud800x"}],
        {
            "eventNotifications": [
                {
                    "realmId": "r" * 300,
                    "dataChangeEvent": {
                        "entities": [
                            {"name": "n" * 300, "id": "i" * 300, "operation": "o" * 300, "lastUpdated": "l" * 300}
                        ]
                    },
                }
            ]
        },
        {
            "eventNotifications": [
                {
                    "realmId": "\x00\ud800",
                    "dataChangeEvent": {
                        "entities": [
                            {"name": ["BillPayment"], "id": {"1": 2}, "operation": None, "lastUpdated": "\udc00"}
                        ]
                    },
                }
            ]
        },
    ],
    ids=[
        "values of any type",
        "over-long values",
        "nul characters",
        "lone surrogates",
        "legacy over-long",
        "legacy odd values",
    ],
)
def test_given_signed_events_with_odd_values_when_posted_then_200_and_they_are_stored_as_the_database_can(token, data):
    body = json.dumps(data).encode()
    assert post(body, signature=signed(body, token)).status_code == 200
    events = list(WebhookEvent.objects.all())
    assert len(events) == 1
    assert_storable(events)
    assert json.loads(events[0].payload)  # the payload keeps the event, escaped


def test_given_events_nested_near_the_parser_limit_when_signed_then_200_or_400_never_500(token):
    for depth in range(800, 1001, 8):
        body = b'[{"id": "deep", "data": ' + b"[" * depth + b"]" * depth + b"}]"
        before = rows()
        response = post(body, signature=signed(body, token))
        if response.status_code != 200:
            assert_refused(response, 400, "invalid_json")
            assert rows() == before


def test_given_the_parser_fails_unforeseen_when_a_signed_body_arrives_then_400_not_500(token, monkeypatch):
    def broken(data: Any) -> list[Any]:
        raise KeyError("a shape nobody foresaw")

    monkeypatch.setattr(webhooks, "parse", broken)
    body = a_delivery()
    assert_refused(post(body, signature=signed(body, token)), 400, "invalid_payload")
    assert rows() == []


def test_given_the_broker_is_down_when_a_signed_delivery_arrives_then_503_and_intuits_retry_stores_it_once(
    token, monkeypatch
):
    """Not input's fault: 503 (never a bare 500) so that Intuit retries; the retry inserts nothing new."""

    def down(*args: Any, **kwargs: Any) -> None:
        raise ConnectionError("broker unreachable")

    body = a_delivery()
    with monkeypatch.context() as patch:
        patch.setattr(webhooks.process_webhook_events, "send", down)
        response = Client().generic(
            "POST", URL, data=body, content_type=CLOUDEVENTS, HTTP_INTUIT_SIGNATURE=signed(body, token)
        )
    assert_refused(response, 503, "unavailable")
    assert post(body, signature=signed(body, token)).status_code == 200
    assert [key for _, key, _, _ in rows()] == ["ce:fuzz-0"]


def test_given_many_events_in_one_signed_body_when_posted_then_all_are_stored_once(token):
    body = a_delivery(count=5000)
    assert len(body) < MIB
    assert post(body, signature=signed(body, token)).status_code == 200
    assert WebhookEvent.objects.count() == 5000
    # The same event thousands of times in one body: one row.
    body = json.dumps([{"id": "fuzz-0"}] * 20_000).encode()
    assert post(body, signature=signed(body, token)).status_code == 200
    assert WebhookEvent.objects.count() == 5000


# ---------------------------------------------------------------- replays, with the worker applying the events


def test_given_a_signed_delivery_when_it_is_replayed_after_being_applied_then_200_and_no_second_effect(
    qbo: Qbo, creator, approver, supplier
):
    invoice = exported_invoice(creator, approver, supplier)
    txn = pay(qbo, (invoice, "20.00"))
    token = qbo.emulator.verifier_token
    for body in (cloudevent(qbo.realm_id, txn), legacy(qbo.realm_id, txn, operation="Update")):
        assert post(body, signature=signed(body, token)).status_code == 200
    settle()
    applied = rows()
    assert [state for _, _, state, _ in applied] == [EventState.DONE, EventState.DONE]
    for body in (cloudevent(qbo.realm_id, txn), legacy(qbo.realm_id, txn, operation="Update")):
        for _ in range(3):
            assert post(body, signature=signed(body, token)).status_code == 200
    settle()
    assert rows() == applied  # same rows, not processed again
    assert Payment.objects.count() == 1
    assert status_of(invoice) == Status.PARTLY_PAID


def test_given_a_delivery_of_tens_of_thousands_of_events_when_the_worker_drains_them_then_none_is_left_pending(
    qbo: Qbo,
):
    # As many events as fit under the limit (more than SQLite takes variables in one query).
    body = json.dumps([{"id": f"{i:x}"} for i in range(45_000)], separators=(",", ":")).encode()
    assert len(body) < MIB
    assert post(body, signature=signed(body, qbo.emulator.verifier_token)).status_code == 200
    settle(timeout=120)
    assert WebhookEvent.objects.count() == 45_000
    assert set(WebhookEvent.objects.values_list("state", flat=True)) == {EventState.IGNORED}


# ---------------------------------------------------------------- hypothesis

# Any JSON value; text may hold NUL characters and lone surrogates (json.dumps escapes them).
any_text = st.text(st.characters(exclude_categories=()), max_size=30)
scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | any_text
json_values = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(any_text, inner, max_size=4), max_leaves=12
)


def optional_fields(names: tuple[str, ...], values: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({}, optional={name: values for name in names})


# Intuit-shaped payloads whose every field may hold anything.
event_types = st.sampled_from(["qbo.billpayment.created.v1", "qbo.bill.deleted.v1", "qbo..", "x"]) | json_values
cloudevents = st.lists(
    optional_fields(("id", "intuitaccountid", "intuitentityid", "time"), json_values).flatmap(
        lambda fields: st.builds(lambda t: {**fields, "type": t}, event_types)
    )
    | json_values,
    max_size=5,
)
entities = st.lists(optional_fields(("name", "id", "operation", "lastUpdated"), json_values) | json_values, max_size=4)
notifications = st.lists(
    st.fixed_dictionaries(
        {"realmId": json_values, "dataChangeEvent": st.fixed_dictionaries({"entities": entities}) | json_values}
    )
    | json_values,
    max_size=3,
)
legacy_deliveries = st.fixed_dictionaries({"eventNotifications": notifications | json_values})
json_bodies = (cloudevents | legacy_deliveries | json_values).map(lambda data: json.dumps(data).encode())


@st.composite
def truncated(draw: st.DrawFn, bodies: st.SearchStrategy[bytes]) -> bytes:
    body = draw(bodies)
    return body[: draw(st.integers(0, max(len(body) - 1, 0)))]


bodies = json_bodies | truncated(json_bodies) | st.binary(max_size=300)
content_types = st.sampled_from([CLOUDEVENTS, "application/json", "text/plain", ""]) | st.text(
    st.characters(max_codepoint=255), max_size=40
)
header_text = st.text(st.characters(min_codepoint=1, max_codepoint=255), max_size=60)


def expected_status(body: bytes) -> int:
    """The oracle for a signed body under the limit."""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        return 400
    return 200 if isinstance(data, dict | list) else 400


@FUZZ
@given(body=bodies, content_type=content_types, forgery=st.data())
def test_given_random_bodies_and_headers_when_not_correctly_signed_then_401_and_nothing_is_stored(
    token, body, content_type, forgery
):
    signature = forgery.draw(
        st.none()
        | header_text
        | st.just(signed(body, "not-" + token))
        | bodies.filter(lambda other: other != body).map(lambda other: signed(other, token)),
        label="signature",
    )
    before = rows()
    assert_refused(post(body, signature=signature, content_type=content_type), 401, "invalid_signature")
    assert rows() == before


def assert_signed_body_answered(token: str, body: bytes, content_type: str) -> None:
    """A signed body under the limit: 200 for a JSON object or array, else 400 and nothing stored."""
    before = rows()
    response = post(body, signature=signed(body, token), content_type=content_type)
    event(f"status {response.status_code}")
    assert response.status_code == expected_status(body)
    if response.status_code == 200:
        assert_storable(list(WebhookEvent.objects.all()))
        assert rows()[: len(before)] == before  # nothing stored before is touched
    else:
        assert response.json()["error"]["code"] in {"invalid_json", "invalid_payload"}
        assert rows() == before


# Two tests rather than one strategy for all bodies: Hypothesis does not draw the branches of a
# one_of evenly, and each kind should get its examples.
@FUZZ
@given(body=json_bodies, content_type=content_types)
def test_given_random_json_shaped_like_a_delivery_when_correctly_signed_then_stored_as_the_database_can(
    token, body, content_type
):
    assert_signed_body_answered(token, body, content_type)


@FUZZ
@given(body=truncated(json_bodies) | st.binary(max_size=300), content_type=content_types)
def test_given_random_bytes_or_truncated_json_when_correctly_signed_then_400_and_nothing_is_stored(
    token, body, content_type
):
    assert_signed_body_answered(token, body, content_type)
