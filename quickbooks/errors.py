"""One error family for the QuickBooks integration (the stripe-python ``_error.py`` shape).

``QuickBooksError`` is the root; it is a ``DomainError``, so pages and the API show any of them the
way they show every other refusal (``procuresync.web.flash_refusal``, ``procuresync.api_errors``).
Below it, one class per cause, each knowing whether it may be retried and what the user is told:

    QuickBooksError
    ├── NotConnected          the company has no live connection (an Admin must connect)
    ├── ImportSwitchedOff     "Import payments from QuickBooks" is off in Integrations
    ├── NotMappable           the document uses something with no QuickBooks counterpart
    ├── SendRefused           we refuse a send ourselves (books closed, PO already billed, ...)
    └── QboError              QuickBooks answered with a failure; ``classify`` picks the subclass
        ├── QboTransient      timeout, dropped connection, 5xx: the same request may be repeated
        ├── QboThrottled      429 / ThrottleExceeded: wait (60 s per Intuit), then repeat
        ├── QboAuthFailed     401: refresh the access token once, then repeat
        │   └── ReconnectNeeded   the refresh was refused: a person must reconnect
        ├── QboStale          5010: re-read, re-apply, write once more
        ├── QboBooksClosed    6200/6210: the period is closed; the user must act
        ├── QboNotFound       610: a missing or inactive reference
        ├── QboDuplicate      6140 duplicate DocNumber, 6240 duplicate name
        └── QboRejected       any other fault: the request is wrong; wait for the user

``RETRY_POLICY`` is the one retry table; nothing else in the product inspects QBO status codes or
fault codes.
"""

from __future__ import annotations

import json
import random
import re
from dataclasses import dataclass

import httpx

from procuresync.errors import DomainError


class QuickBooksError(DomainError):
    """Root of the integration's errors. ``message`` is fit to show to a user."""

    code = "quickbooks"
    http_status = 409

    def __init__(self, message: str, *, code: str = "", field: str | None = None) -> None:
        super().__init__(message, field=field)
        if code:
            self.code = code


class NotConnected(QuickBooksError):
    code = "quickbooks_not_connected"


class ImportSwitchedOff(QuickBooksError):
    code = "quickbooks_import_off"


class NotMappable(QuickBooksError):
    """Something on the document has no QuickBooks counterpart; the message says what to fix."""

    code = "mapping"


class SendRefused(QuickBooksError):
    """A send we refuse ourselves; never retried by itself. ``code`` says why (closed_period, ...)."""

    code = "refused"


# ---------------------------------------------------------------------------- QuickBooks' answers


class QboError(QuickBooksError):
    """QuickBooks refused or failed a request. ``fault_code`` is Intuit's code ("6140"), if any."""

    code = "quickbooks_error"
    http_status = 502  # for our API: the failure is upstream
    # QuickBooks read the request and refused it with a fault: it made nothing. A timeout, a 5xx or
    # a throttle leaves that open (the request may have been made, or may be made if repeated).
    made_nothing = False

    def __init__(
        self,
        message: str,
        *,
        fault_code: str = "",
        detail: str = "",
        element: str = "",
        qbo_status: int | None = None,
        intuit_tid: str = "",
    ) -> None:
        super().__init__(message)
        self.fault_code = fault_code
        self.detail = detail
        self.element = element
        self.qbo_status = qbo_status  # QuickBooks' HTTP status; None when no answer came
        self.intuit_tid = intuit_tid

    @property
    def retryable(self) -> bool:
        return retry_policy(self).retry

    @property
    def cause(self) -> str:
        """A short name of the cause, for the document's error code when QBO gave none."""
        return _CAUSE_NAMES.get(type(self), "validation")

    def __str__(self) -> str:
        code = f" [{self.fault_code}]" if self.fault_code else ""
        return f"{self.message}{code}"


class QboTransient(QboError):
    pass


class QboThrottled(QboError):
    pass


class QboAuthFailed(QboError):
    pass


class ReconnectNeeded(QboAuthFailed):
    """The refresh token was refused (invalid_grant) or is gone: a person must reconnect."""

    def __init__(
        self, message: str = "QuickBooks refused our sign-in; an Admin must reconnect on Integrations."
    ) -> None:
        super().__init__(message, fault_code="invalid_grant")


class QboStale(QboError):
    made_nothing = True


class QboBooksClosed(QboError):
    made_nothing = True


class QboNotFound(QboError):
    made_nothing = True


class QboDuplicate(QboError):
    made_nothing = True


class QboRejected(QboError):
    made_nothing = True


_CAUSE_NAMES: dict[type[QboError], str] = {
    QboTransient: "transient",
    QboThrottled: "throttled",
    QboAuthFailed: "auth",
    ReconnectNeeded: "auth",
    QboStale: "stale",
    QboBooksClosed: "closed_period",
    QboNotFound: "not_found",
    QboDuplicate: "duplicate",
    QboRejected: "validation",
}


@dataclass(frozen=True)
class Retry:
    retry: bool
    base_delay: float = 0.0
    max_delay: float = 0.0


# The one retry table (STYLE.md #7). Delays are seconds before the next attempt; transient failures
# grow exponentially with full jitter, throttling waits as Intuit asks ("wait 60 seconds").
RETRY_POLICY: dict[type[QboError], Retry] = {
    QboTransient: Retry(True, base_delay=1.0, max_delay=300.0),
    QboThrottled: Retry(True, base_delay=60.0, max_delay=600.0),
    QboAuthFailed: Retry(False),  # handled by one refresh inside the client
    QboStale: Retry(False),  # handled by one re-read inside the delivery
    QboBooksClosed: Retry(False),
    QboNotFound: Retry(False),
    QboDuplicate: Retry(False),
    QboRejected: Retry(False),
}


def retry_policy(error: QboError) -> Retry:
    for cls in type(error).__mro__:
        if cls in RETRY_POLICY:
            return RETRY_POLICY[cls]
    return Retry(False)


def retry_delay(error: QboError, attempt: int, *, scale: float = 1.0) -> float | None:
    """Seconds to wait before attempt number ``attempt + 1``, or None if it must not be retried."""
    policy = retry_policy(error)
    if not policy.retry:
        return None
    if isinstance(error, QboThrottled):
        return scale * (policy.base_delay + random.uniform(0, 5))
    ceiling = min(policy.max_delay, policy.base_delay * (2 ** max(0, attempt - 1)))
    return scale * random.uniform(policy.base_delay / 2, max(policy.base_delay, ceiling))


# ---------------------------------------------------------------------------- classification


def is_closed_period(code: str, message: str, detail: str) -> bool:
    """Intuit documents 6200 and 6210, and 5010 has been seen with this message: match on words too."""
    text = f"{message} {detail}".lower()
    return code in {"6200", "6210"} or ("account period" in text and "closed" in text)


def fault_class(code: str, message: str, detail: str, fault_type: str = "") -> type[QboError]:
    if is_closed_period(code, message, detail):
        return QboBooksClosed
    if code == "5010":
        return QboStale
    if code == "3001":
        return QboThrottled
    if code in {"3200", "3202"} or fault_type == "AuthenticationFault":
        return QboAuthFailed
    if code == "610":
        return QboNotFound
    if code in {"6140", "6240"}:
        return QboDuplicate
    if code == "10000" or fault_type == "SystemFault":
        return QboTransient
    return QboRejected


def from_fault(
    fault: dict[str, object],
    *,
    qbo_status: int | None = None,
    intuit_tid: str = "",
    cls: type[QboError] | None = None,
) -> QboError:
    """A QBO ``Fault`` object (from a response or a batch item) as a QboError (``cls`` overrides)."""
    errors = fault.get("Error") or [{}]
    first = errors[0] if isinstance(errors, list) and errors else {}
    assert isinstance(first, dict)
    code = str(first.get("code", ""))
    message = str(first.get("Message", "QuickBooks refused the request"))
    detail = str(first.get("Detail", ""))
    cls = cls or fault_class(code, message, detail, str(fault.get("type", "")))
    return cls(
        message,
        fault_code=code,
        detail=detail,
        element=str(first.get("element", "") or ""),
        qbo_status=qbo_status,
        intuit_tid=intuit_tid,
    )


_XML_ERROR_CODE = re.compile(r"<Error\b[^>]*\bcode=\"(\d+)\"")


def classify(response: httpx.Response) -> QboError:
    """An unsuccessful HTTP response as a QboError, from the HTTP status and the parsed fault code
    only: words inside a fault's message or detail (a DocNumber "INV-003001") never decide. QBO
    sometimes answers a throttle in XML even when JSON was asked for, so an XML fault's code is
    read too."""
    status = response.status_code
    tid = response.headers.get("intuit_tid", "")
    text = response.text
    xml_code = _XML_ERROR_CODE.search(text) if text.lstrip().startswith("<") else None
    if status == 429 or (xml_code is not None and xml_code.group(1) == "3001"):
        return QboThrottled("QuickBooks asked us to slow down.", fault_code="3001", qbo_status=status, intuit_tid=tid)
    try:
        body = json.loads(text) if text else {}
    except ValueError:
        body = {}
    fault = body.get("Fault") if isinstance(body, dict) else None
    if isinstance(fault, dict):
        error = from_fault(fault, qbo_status=status, intuit_tid=tid)
        if status == 401:
            return from_fault(fault, qbo_status=status, intuit_tid=tid, cls=QboAuthFailed)
        if status >= 500 and isinstance(error, QboRejected):
            return from_fault(fault, qbo_status=status, intuit_tid=tid, cls=QboTransient)
        return error
    if status == 401:
        return QboAuthFailed("QuickBooks did not accept our access token.", qbo_status=status, intuit_tid=tid)
    if status >= 500:
        return QboTransient(f"QuickBooks is unavailable (HTTP {status}).", qbo_status=status, intuit_tid=tid)
    return QboRejected(f"QuickBooks answered HTTP {status}: {text[:200]}", qbo_status=status, intuit_tid=tid)


def from_transport(exc: httpx.HTTPError) -> QboError:
    if isinstance(exc, httpx.TimeoutException):
        return QboTransient("QuickBooks did not answer in time.")
    return QboTransient(f"The connection to QuickBooks failed ({type(exc).__name__}).")
