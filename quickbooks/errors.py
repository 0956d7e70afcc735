"""Every answer QuickBooks can give, classified once.

``classify`` turns an HTTP response (or a transport failure) into a ``QboError`` with a ``Kind``;
``RETRY_POLICY`` says, per kind, whether to try again and how long to wait. Nothing else in the
product inspects QBO status codes or fault codes.
"""

from __future__ import annotations

import enum
import json
import random
from dataclasses import dataclass

import httpx


class Kind(enum.StrEnum):
    TRANSIENT = "transient"  # timeout, connection dropped, 5xx: the same request may be repeated
    THROTTLED = "throttled"  # 429 / ThrottleExceeded: wait (60 s per Intuit) then repeat
    AUTH = "auth"  # 401: refresh the access token once, then repeat
    STALE = "stale"  # 5010: re-read, re-apply, write once more
    CLOSED_PERIOD = "closed_period"  # books closed: the user must act; never retried blindly
    NOT_FOUND = "not_found"  # 610: missing or inactive reference
    DUPLICATE = "duplicate"  # 6140 duplicate DocNumber, 6240 duplicate name
    VALIDATION = "validation"  # any other fault: the request is wrong; wait for the user


@dataclass(frozen=True)
class Retry:
    retry: bool
    base_delay: float = 0.0
    max_delay: float = 0.0


# The one retry table (STYLE.md #7). Delays are seconds before the next attempt; TRANSIENT grows
# exponentially with full jitter, THROTTLED waits as Intuit asks ("wait 60 seconds").
RETRY_POLICY: dict[Kind, Retry] = {
    Kind.TRANSIENT: Retry(True, base_delay=1.0, max_delay=300.0),
    Kind.THROTTLED: Retry(True, base_delay=60.0, max_delay=600.0),
    Kind.AUTH: Retry(False),  # handled by one refresh inside the client
    Kind.STALE: Retry(False),  # handled by one re-read inside the sync engine
    Kind.CLOSED_PERIOD: Retry(False),
    Kind.NOT_FOUND: Retry(False),
    Kind.DUPLICATE: Retry(False),
    Kind.VALIDATION: Retry(False),
}


def retry_delay(kind: Kind, attempt: int, *, scale: float = 1.0) -> float | None:
    """Seconds to wait before attempt number ``attempt + 1``, or None if it must not be retried."""
    policy = RETRY_POLICY[kind]
    if not policy.retry:
        return None
    if kind is Kind.THROTTLED:
        return scale * (policy.base_delay + random.uniform(0, 5))
    ceiling = min(policy.max_delay, policy.base_delay * (2 ** max(0, attempt - 1)))
    return scale * random.uniform(policy.base_delay / 2, max(policy.base_delay, ceiling))


class QboError(Exception):
    """A QuickBooks refusal or failure. ``message`` is fit to show to a user."""

    def __init__(
        self,
        kind: Kind,
        message: str,
        *,
        code: str = "",
        detail: str = "",
        element: str = "",
        http_status: int | None = None,
        intuit_tid: str = "",
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.code = code
        self.detail = detail
        self.element = element
        self.http_status = http_status
        self.intuit_tid = intuit_tid

    @property
    def retryable(self) -> bool:
        return RETRY_POLICY[self.kind].retry

    def __str__(self) -> str:
        code = f" [{self.code}]" if self.code else ""
        return f"{self.message}{code}"


class ReconnectNeeded(QboError):
    """The refresh token was refused (invalid_grant) or is gone: a person must reconnect."""

    def __init__(
        self, message: str = "QuickBooks refused our sign-in; an Admin must reconnect on Integrations."
    ) -> None:
        super().__init__(Kind.AUTH, message, code="invalid_grant")


def is_closed_period(code: str, message: str, detail: str) -> bool:
    """Intuit documents 6200 and 6210, and 5010 has been seen with this message: match on words too."""
    text = f"{message} {detail}".lower()
    return code in {"6200", "6210"} or ("account period" in text and "closed" in text)


def fault_kind(code: str, message: str, detail: str, fault_type: str = "") -> Kind:
    if is_closed_period(code, message, detail):
        return Kind.CLOSED_PERIOD
    if code == "5010":
        return Kind.STALE
    if code == "3001" or "throttle" in message.lower():
        return Kind.THROTTLED
    if code in {"3200", "3202"} or fault_type == "AuthenticationFault":
        return Kind.AUTH
    if code == "610":
        return Kind.NOT_FOUND
    if code in {"6140", "6240"}:
        return Kind.DUPLICATE
    if code == "10000" or fault_type == "SystemFault":
        return Kind.TRANSIENT
    return Kind.VALIDATION


def from_fault(fault: dict[str, object], *, http_status: int | None = None, intuit_tid: str = "") -> QboError:
    """A QBO ``Fault`` object (from a response or a batch item) as a QboError."""
    errors = fault.get("Error") or [{}]
    first = errors[0] if isinstance(errors, list) and errors else {}
    assert isinstance(first, dict)
    code = str(first.get("code", ""))
    message = str(first.get("Message", "QuickBooks refused the request"))
    detail = str(first.get("Detail", ""))
    kind = fault_kind(code, message, detail, str(fault.get("type", "")))
    return QboError(
        kind,
        message,
        code=code,
        detail=detail,
        element=str(first.get("element", "") or ""),
        http_status=http_status,
        intuit_tid=intuit_tid,
    )


def classify(response: httpx.Response) -> QboError:
    """An unsuccessful HTTP response as a QboError. Throttling is recognised by status first,
    because QBO sometimes answers it in XML even when JSON was asked for."""
    status = response.status_code
    tid = response.headers.get("intuit_tid", "")
    text = response.text
    if status == 429 or "ThrottleExceeded" in text or "003001" in text:
        return QboError(
            Kind.THROTTLED, "QuickBooks asked us to slow down.", code="3001", http_status=status, intuit_tid=tid
        )
    try:
        body = json.loads(text) if text else {}
    except ValueError:
        body = {}
    fault = body.get("Fault") if isinstance(body, dict) else None
    if isinstance(fault, dict):
        error = from_fault(fault, http_status=status, intuit_tid=tid)
        if status == 401:
            error.kind = Kind.AUTH
        elif status >= 500 and error.kind is Kind.VALIDATION:
            error.kind = Kind.TRANSIENT
        return error
    if status == 401:
        return QboError(Kind.AUTH, "QuickBooks did not accept our access token.", http_status=status, intuit_tid=tid)
    if status >= 500:
        return QboError(
            Kind.TRANSIENT, f"QuickBooks is unavailable (HTTP {status}).", http_status=status, intuit_tid=tid
        )
    return QboError(
        Kind.VALIDATION, f"QuickBooks answered HTTP {status}: {text[:200]}", http_status=status, intuit_tid=tid
    )


def from_transport(exc: httpx.HTTPError) -> QboError:
    if isinstance(exc, httpx.TimeoutException):
        return QboError(Kind.TRANSIENT, "QuickBooks did not answer in time.")
    return QboError(Kind.TRANSIENT, f"The connection to QuickBooks failed ({type(exc).__name__}).")
