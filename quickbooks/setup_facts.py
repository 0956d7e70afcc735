"""What the setup checks (``quickbooks.setup_check``) work with: a check's result, the QuickBooks
environment the settings point at, the URLs to register at Intuit, and what the network answered
(each request with a short timeout)."""

from __future__ import annotations

import ipaddress
import socket
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

import httpx
from django.conf import settings
from django.urls import reverse

from quickbooks.config import QboConfig

TIMEOUT = 3.0  # seconds per request: an answer slower than this is a problem worth seeing anyway
CLOCK_SKEW_LIMIT = 60  # seconds
PROBE_REFRESH_TOKEN = "procuresync-setup-check"  # a refresh token Intuit cannot know

# Where a real company lives (qbo-api.md §9), for the page and the advice.
INTUIT_PRODUCTION = {
    "QBO_API_BASE_URL": "https://quickbooks.api.intuit.com",
    "QBO_AUTH_URL": "https://appcenter.intuit.com/connect/oauth2",
    "QBO_TOKEN_URL": "https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer",
    "QBO_REVOKE_URL": "https://developer.api.intuit.com/v2/oauth2/tokens/revoke",
    "QBO_DISCOVERY_URL": "https://developer.intuit.com/.well-known/openid_configuration/",
}
SANDBOX_DISCOVERY = "https://developer.intuit.com/.well-known/openid_sandbox_configuration/"


class Status(StrEnum):
    OK = "ok"
    WARNING = "warning"
    FAILED = "failed"


LABELS = {Status.OK: "OK", Status.WARNING: "WARN", Status.FAILED: "FAIL"}


@dataclass(frozen=True)
class Check:
    name: str
    status: Status
    found: str
    todo: str = ""

    @property
    def line(self) -> str:
        """``OK   keys present: …`` / ``FAIL token endpoint: … → what to do``."""
        text = f"{LABELS[self.status]:<5}{self.name}: {self.found}"
        return f"{text} → {self.todo}" if self.todo else text


def ok(name: str, found: str, todo: str = "") -> Check:
    return Check(name, Status.OK, found, todo)


def warn(name: str, found: str, todo: str) -> Check:
    return Check(name, Status.WARNING, found, todo)


def fail(name: str, found: str, todo: str) -> Check:
    return Check(name, Status.FAILED, found, todo)


class Environment(StrEnum):
    PRODUCTION = "Intuit production"
    SANDBOX = "Intuit sandbox"
    OTHER = "not Intuit"


def environment_of(api_base_url: str) -> Environment:
    host = urlsplit(api_base_url).hostname or ""
    if host == "quickbooks.api.intuit.com":
        return Environment.PRODUCTION
    if host == "sandbox-quickbooks.api.intuit.com":
        return Environment.SANDBOX
    return Environment.OTHER


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


def discovery_url(config: QboConfig) -> str:
    if settings.QBO_DISCOVERY_URL:
        return str(settings.QBO_DISCOVERY_URL)
    environment = environment_of(config.api_base_url)
    if environment == Environment.PRODUCTION:
        return INTUIT_PRODUCTION["QBO_DISCOVERY_URL"]
    if environment == Environment.SANDBOX:
        return SANDBOX_DISCOVERY
    return f"{_origin(config.api_base_url)}/.well-known/openid_sandbox_configuration"  # where the emulator serves it


def masked(client_id: str) -> str:
    """Enough of a client id to recognise it, not to use it."""
    if len(client_id) >= 12:
        return f"{client_id[:4]}…{client_id[-4:]}"
    return f"{client_id[:1]}…{client_id[-1:]}" if len(client_id) > 2 else "…"


# ------------------------------------------------------------------ the URLs to register at Intuit


@dataclass(frozen=True)
class PublicUrls:
    redirect_uri: str
    redirect_source: str  # "QBO_REDIRECT_URI" or "this request" / "--base-url"
    webhook_url: str  # "" when no base URL is known (the command without --base-url)


def public_base_url(request_base: str = "") -> str:
    """How Intuit reaches us: QBO_REDIRECT_URI's origin when set (behind a proxy the request's own
    idea of its host may be wrong: see views._redirect_uri), else the request's."""
    return _origin(settings.QBO_REDIRECT_URI) or request_base.rstrip("/")


def public_urls(base_url: str, *, source: str = "this request") -> PublicUrls:
    base = base_url.rstrip("/")
    redirect = settings.QBO_REDIRECT_URI or (base + reverse("integrations-callback") if base else "")
    return PublicUrls(
        redirect_uri=redirect,
        redirect_source="QBO_REDIRECT_URI" if settings.QBO_REDIRECT_URI else source,
        webhook_url=base + reverse("qbo-webhooks") if base else "",
    )


# ------------------------------------------------------------------ what the network answered


@dataclass(frozen=True)
class Answer:
    status: int = 0
    body: Any = None  # the JSON, when it was JSON
    date: str = ""
    location: str = ""
    error: str = ""  # no answer at all: why

    @property
    def oauth_error(self) -> str:
        return str(self.body.get("error", "")) if isinstance(self.body, dict) else ""


def ask(http: httpx.Client, method: str, url: str, **kwargs: Any) -> Answer:
    try:
        response = http.request(method, url, **kwargs)
    except httpx.TimeoutException:
        return Answer(error=f"no answer within {TIMEOUT:g} s")
    except (httpx.HTTPError, httpx.InvalidURL, ValueError) as exc:
        return Answer(error=f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)
    try:
        body = response.json()
    except ValueError:
        body = None
    return Answer(
        status=response.status_code,
        body=body,
        date=response.headers.get("date", ""),
        location=response.headers.get("location", ""),
    )


def addresses_of(host: str) -> list[str] | str:
    """The addresses ``host`` has from here, or why it has none (DNS has no timeout of its own)."""
    try:
        return [str(ipaddress.ip_address(host.strip("[]")))]
    except ValueError:
        pass
    pool = ThreadPoolExecutor(max_workers=1)
    try:
        infos = pool.submit(socket.getaddrinfo, host, None).result(timeout=TIMEOUT)
    except FutureTimeout:
        return f"no DNS answer within {TIMEOUT:g} s"
    except OSError as exc:
        return f"it does not resolve ({exc.strerror or exc})"
    finally:
        pool.shutdown(wait=False)
    return sorted({str(info[4][0]) for info in infos})
