"""Is this installation ready to connect a real QuickBooks company? The checks behind
Integrations → Setup guide and ``manage.py qbo_check``.

Each check is a plain function that turns what was found into one ``Check``: ok, warning or failed,
what was found, and what to do. ``checks_run`` gathers the facts (the network asked with short
timeouts) and calls them. Nothing is written: the probes are a token request without credentials,
one with our credentials and a made-up refresh token, the discovery document, an unsigned POST to
our own webhook endpoint (refused, stores nothing), and with a connection a read of Preferences
(which may refresh its access token, as any read does).

What cannot be known from inside: whether Intuit can reach the webhook URL (the developer portal's
"Send test events" proves it), whether the redirect URI registered at Intuit is the same character
for character (Intuit says so only when Connect is pressed), and which scopes Intuit granted (its
token answer is not stored; a successful read shows the accounting scope works).
"""

from __future__ import annotations

import datetime as dt
import email.utils
import ipaddress
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx
from django.conf import settings
from django.urls import Resolver404, resolve
from django.utils import timezone

from quickbooks.config import QboConfig, qbo_config
from quickbooks.connection import client_for
from quickbooks.errors import QuickBooksError
from quickbooks.models import Connection, ConnectionStatus
from quickbooks.oauth import SCOPE
from quickbooks.setup_facts import (
    CLOCK_SKEW_LIMIT,
    INTUIT_PRODUCTION,
    PROBE_REFRESH_TOKEN,
    TIMEOUT,
    Answer,
    Check,
    Environment,
    PublicUrls,
    Status,
    addresses_of,
    ask,
    discovery_url,
    environment_of,
    fail,
    masked,
    ok,
    public_urls,
    warn,
)

# ------------------------------------------------------------------ the checks


_KEYS_TODO = (
    "copy them from your app in Intuit's developer portal (Production → Keys & credentials for a real company; "
    "the verifier token is on the Webhooks page) into the environment of the web and worker processes, then restart"
)


def check_environment(config: QboConfig) -> Check:
    environment = environment_of(config.api_base_url)
    found = f"{environment.value} ({config.api_base_url})"
    production = INTUIT_PRODUCTION["QBO_API_BASE_URL"]
    if environment == Environment.PRODUCTION:
        return ok("environment", found)
    if environment == Environment.SANDBOX:
        return warn(
            "environment",
            f"{found}: sandbox companies only, with the app's Development keys",
            f"for a real company set QBO_API_BASE_URL={production} and use the Production keys",
        )
    return warn(
        "environment",
        f"{found}: fine for the local emulator, not a real company",
        f"for a real company set QBO_API_BASE_URL={production}",
    )


def check_keys(config: QboConfig, *, from_environment: bool) -> Check:
    missing = [
        name
        for name, value in (
            ("QBO_CLIENT_ID", config.client_id),
            ("QBO_CLIENT_SECRET", config.client_secret),
            ("QBO_WEBHOOK_VERIFIER_TOKEN", config.verifier_token),
        )
        if not value
    ]
    if missing:
        return fail("keys present", f"{', '.join(missing)} not set", _KEYS_TODO)
    found = f"client id {masked(config.client_id)}, client secret set, webhook verifier token set"
    if not from_environment:
        return warn(
            "keys present",
            f"{found}: the local emulator's demo keys (QBO_CLIENT_ID is not set)",
            _KEYS_TODO,
        )
    return ok("keys present", found)


def check_redirect_uri(urls: PublicUrls, environment: Environment) -> Check:
    uri = urls.redirect_uri
    if not uri:
        return warn("redirect URI", "not known here", "run with --base-url https://<your host>")
    parts = urlsplit(uri)
    host = parts.hostname or ""
    found = f"{uri} (from {urls.redirect_source})"
    intuit = environment != Environment.OTHER
    try:
        ipaddress.ip_address(host)
        is_ip = True
    except ValueError:
        is_ip = False
    if intuit and is_ip:
        return fail(
            "redirect URI",
            f"{found}: Intuit refuses redirect URIs with an IP address",
            "serve procuresync under a host name and set QBO_REDIRECT_URI to https://<host>/integrations/callback/",
        )
    sandbox_localhost = environment == Environment.SANDBOX and host == "localhost"
    if parts.scheme != "https" and intuit and not sandbox_localhost:
        return fail(
            "redirect URI",
            f"{found}: Intuit redirects only to https:// URIs",
            "serve procuresync over HTTPS (HTTPS=1 behind a TLS proxy), or set QBO_REDIRECT_URI to the https:// URI",
        )
    if parts.scheme != "https" and not sandbox_localhost:
        return warn(
            "redirect URI",
            f"{found}: plain HTTP, fine for the emulator only",
            "a real company needs https://",
        )
    return ok(
        "redirect URI",
        f"{found}; it must equal, character for character, one registered at Intuit (not checkable from here)",
    )


def check_token_endpoint(config: QboConfig, answer: Answer) -> Check:
    url = config.token_url
    intuit = INTUIT_PRODUCTION["QBO_TOKEN_URL"]
    if answer.error:
        return fail(
            "token endpoint",
            f"{url} could not be reached ({answer.error}); nobody can connect",
            f"check QBO_TOKEN_URL (Intuit's: {intuit}), DNS, and that this server may make outgoing HTTPS "
            "requests (firewall; an egress proxy is taken from HTTPS_PROXY)",
        )
    if 400 <= answer.status < 500 and answer.oauth_error:
        return ok(
            "token endpoint",
            f"{url} answered a request without credentials with HTTP {answer.status} {answer.oauth_error}, "
            "as an OAuth token endpoint does",
        )
    if answer.status >= 500:
        return warn(
            "token endpoint",
            f"{url} answered HTTP {answer.status}: the sign-in service has trouble",
            "try again in a few minutes (Intuit posts outages at status.developer.intuit.com)",
        )
    if 300 <= answer.status < 400:
        found = f"{url} redirects to {answer.location or '?'}"
    else:
        found = f"{url} answered HTTP {answer.status} without an OAuth error: something answers, not a token endpoint"
    return fail("token endpoint", found, f"set QBO_TOKEN_URL to the token endpoint (Intuit's: {intuit})")


def check_keys_accepted(keys: Check, answer: Answer | None) -> Check:
    """Our credentials with a refresh token Intuit cannot know: a token endpoint checks the client
    first (RFC 6749 §5.2), so invalid_grant means the id and secret were accepted."""
    if answer is None:
        why = "the keys are missing" if keys.status == Status.FAILED else "the token endpoint did not answer"
        return warn("keys accepted", f"not tried: {why}", "fix the lines above first")
    if answer.oauth_error == "invalid_grant":
        return ok(
            "keys accepted",
            "the token endpoint accepted the client id and secret (it refused only a made-up refresh token)",
        )
    if answer.oauth_error in {"invalid_client", "unauthorized_client"}:
        return fail(
            "keys accepted",
            f"the token endpoint refused the client id and secret ({answer.oauth_error})",
            "copy QBO_CLIENT_ID and QBO_CLIENT_SECRET again from one set of keys: Production keys with "
            "quickbooks.api.intuit.com, Development keys with the sandbox; then restart",
        )
    detail = answer.error or f"HTTP {answer.status} {answer.oauth_error}".strip()
    return warn("keys accepted", f"could not tell: unexpected answer ({detail})", "run the check again later")


def check_discovery(config: QboConfig, url: str, answer: Answer) -> Check:
    if answer.error or answer.status != 200 or not isinstance(answer.body, dict):
        why = answer.error or f"HTTP {answer.status}" + ("" if isinstance(answer.body, dict) else ", not JSON")
        return fail(
            "discovery document",
            f"{url} could not be read ({why})",
            "check QBO_DISCOVERY_URL (empty: chosen from QBO_API_BASE_URL) and outgoing HTTPS from this server",
        )
    ours = {
        "QBO_AUTH_URL": ("authorization_endpoint", config.auth_url),
        "QBO_TOKEN_URL": ("token_endpoint", config.token_url),
        "QBO_REVOKE_URL": ("revocation_endpoint", config.revoke_url),
    }
    differ = {
        name: str(answer.body.get(key, ""))
        for name, (key, value) in ours.items()
        if str(answer.body.get(key, "")).rstrip("/") != value.rstrip("/")
    }
    if not differ:
        return ok("discovery document", f"{url}: its endpoints match QBO_AUTH_URL, QBO_TOKEN_URL, QBO_REVOKE_URL")
    found = "; ".join(
        f"{name} is {ours[name][1]}, the document says {theirs or '(nothing)'}" for name, theirs in differ.items()
    )
    todo = ", ".join(f"{name}={theirs}" for name, theirs in differ.items() if theirs)
    # A wrong revoke URL only leaves a disconnected grant alive at Intuit; the others stop connecting.
    status = Status.WARNING if set(differ) == {"QBO_REVOKE_URL"} else Status.FAILED
    return Check("discovery document", status, found, f"set {todo} (or unset them to use Intuit's)")


def check_clock(date_header: str, now: dt.datetime) -> Check:
    todo = "keep this server's clock synchronised (NTP: chrony or systemd-timesyncd)"
    try:
        theirs = email.utils.parsedate_to_datetime(date_header) if date_header else None
    except (TypeError, ValueError):
        theirs = None
    if theirs is None or theirs.tzinfo is None:
        return warn("clock", "could not tell: the token endpoint sent no usable Date header", todo)
    skew = (now - theirs).total_seconds()
    side = "ahead of" if skew > 0 else "behind"
    if abs(skew) <= CLOCK_SKEW_LIMIT:
        return ok("clock", f"within {abs(skew):.0f} s of the token endpoint's clock")
    return warn(
        "clock",
        f"{abs(skew):.0f} s {side} the token endpoint's clock: the payments catch-up asks QuickBooks for changes "
        "since times partly from our clock, with one minute of overlap, so payments can be missed; certificates "
        "are judged by it too",
        todo,
    )


def check_webhook_https(url: str, environment: Environment) -> Check:
    if urlsplit(url).scheme == "https":
        return ok("webhook HTTPS", f"{url} uses HTTPS (Intuit also refuses self-signed certificates)")
    if environment == Environment.OTHER:
        return warn(
            "webhook HTTPS",
            f"{url} is plain HTTP: fine for the emulator only",
            "a real company needs an https:// URL",
        )
    return fail(
        "webhook HTTPS",
        f"{url} is plain HTTP: Intuit delivers webhooks only over HTTPS",
        "serve procuresync over HTTPS (HTTPS=1 behind a TLS proxy) and register the https:// URL",
    )


def check_webhook_address(url: str, environment: Environment, addresses: list[str] | str) -> Check:
    host = urlsplit(url).hostname or ""
    if isinstance(addresses, str):
        return warn(
            "webhook address",
            f"{host}: {addresses} from this server",
            "publish a DNS record for it: Intuit must find it on the internet",
        )
    ips = [ipaddress.ip_address(a) for a in addresses]
    shown = ", ".join(addresses)
    if all(ip.is_global for ip in ips):
        return ok("webhook address", f"{host} resolves to public address {shown}")
    if any(ip.is_loopback or ip.is_unspecified for ip in ips):
        status = Status.WARNING if environment == Environment.OTHER else Status.FAILED
        return Check(
            "webhook address",
            status,
            f"{host} resolves to {shown}, this machine itself: Intuit cannot reach it",
            "register the public host name (to try from a laptop, a tunnel such as ngrok or Cloudflare Tunnel)",
        )
    return warn(
        "webhook address",
        f"{host} resolves to private address {shown} from this server",
        "fine if the public DNS gives a public address (split-horizon DNS); otherwise Intuit cannot reach it",
    )


_PROOF = (
    "use Send test events on the Webhooks page of Intuit's developer portal: only a delivery from Intuit proves "
    "that Intuit reaches this URL"
)


def check_webhook_endpoint(url: str, answer: Answer) -> Check:
    path = urlsplit(url).path
    try:
        ours = resolve(path).url_name == "qbo-webhooks"
    except Resolver404:
        ours = False
    if "CERTIFICATE_VERIFY_FAILED" in answer.error:
        return fail(
            "webhook endpoint",
            f"{url}: its TLS certificate is not trusted ({answer.error})",
            "install a certificate from a public authority with its intermediate certificates (Intuit refuses "
            "self-signed ones)",
        )
    if answer.error:
        where = f"the path {path} is ours, but " if ours else ""
        return warn(
            "webhook endpoint",
            f"{where}calling {url} from this server failed ({answer.error}); a server often cannot reach its own "
            "public address, so this proves nothing either way",
            _PROOF,
        )
    code = answer.body.get("error", {}).get("code") if isinstance(answer.body, dict) else None
    if answer.status == 401 and code == "invalid_signature":
        return ok(
            "webhook endpoint",
            f"{url} refused an unsigned test POST with 401 invalid_signature, as ours does (nothing stored); "
            "that Intuit reaches it cannot be proven from inside",
            _PROOF,
        )
    if 300 <= answer.status < 400:
        return fail(
            "webhook endpoint",
            f"{url} redirects to {answer.location or '?'}",
            "register the URL that answers without a redirect: a redirected POST may not be followed",
        )
    return fail(
        "webhook endpoint",
        f"{url} answered HTTP {answer.status}, not our endpoint's 401 invalid_signature: something else answers there",
        f"make sure {path} reaches procuresync (proxy rules, path prefix)",
    )


@dataclass(frozen=True)
class CompanyRead:
    """A read of Preferences through the stored connection: the closing date, or why it failed."""

    ok: bool
    close_date: str = ""
    error: str = ""


def check_connection(connection: Connection | None, read: CompanyRead | None) -> list[Check]:
    """ "scopes granted" and "closing date", which both need a connected company."""
    names = ("scopes granted", "closing date")
    if connection is None or connection.status == ConnectionStatus.NOT_CONNECTED:
        found = f"not connected yet; procuresync asks for {SCOPE} only"
        return [warn(name, found, "press Connect on Integrations, then check again") for name in names]
    if connection.status == ConnectionStatus.NEEDS_RECONNECT or read is None:
        found = f"the connection needs reconnecting ({connection.last_error or 'Intuit refused its sign-in'})"
        return [fail(name, found, "press Reconnect on Integrations") for name in names]
    if not read.ok:
        return [
            warn(
                "scopes granted",
                f"could not confirm {SCOPE}: the read of Preferences failed (see closing date)",
                "fix closing date first",
            ),
            fail(
                "closing date",
                f"reading Preferences failed: {read.error}",
                "press Reconnect on Integrations if it persists",
            ),
        ]
    close = (
        f"QuickBooks' closing date is {read.close_date}: documents dated on or before it are refused"
        if read.close_date
        else "no closing date set in QuickBooks (Close the books is off)"
    )
    return [
        ok(
            "scopes granted",
            f"{SCOPE} works: QuickBooks answered a read with this connection. The scope Intuit granted is not "
            "stored; knowing it would need the token answer's scope field (if Intuit sends one) kept at Connect",
        ),
        ok("closing date", f"{close} (Preferences.AccountingInfoPrefs.BookCloseDate)"),
    ]


# ------------------------------------------------------------------ the runner


def _read_company(connection: Connection, http: httpx.Client) -> CompanyRead:
    client = client_for(connection)
    client.http, client.transient_retries = http, 0  # the check's short timeouts, one try
    try:
        preferences = client.preferences()
    except QuickBooksError as exc:
        return CompanyRead(ok=False, error=exc.message)
    accounting = preferences.get("AccountingInfoPrefs", {}) or {}
    return CompanyRead(ok=True, close_date=str(accounting.get("BookCloseDate") or "")[:10])


def checks_run(*, base_url: str, company_id: int | None, source: str = "this request") -> list[Check]:
    """Every check, in the order a person fixes them. ``base_url`` is how Intuit reaches us ("" if
    unknown); ``company_id`` None leaves the connection unchecked."""
    config = qbo_config()
    environment = environment_of(config.api_base_url)
    urls = public_urls(base_url, source=source)
    checks = [check_environment(config), check_keys(config, from_environment=bool(settings.QBO_CLIENT_ID))]
    checks.append(check_redirect_uri(urls, environment))
    with httpx.Client(timeout=TIMEOUT, follow_redirects=False) as http:
        form = {"grant_type": "refresh_token", "refresh_token": PROBE_REFRESH_TOKEN}
        bare = ask(http, "POST", config.token_url, data=form, headers={"Accept": "application/json"})
        endpoint = check_token_endpoint(config, bare)
        keys, accepted = checks[1], None
        if keys.status != Status.FAILED and endpoint.status == Status.OK:
            auth = (config.client_id, config.client_secret)
            accepted = ask(
                http, "POST", config.token_url, data=form, auth=auth, headers={"Accept": "application/json"}
            )
        checks += [endpoint, check_keys_accepted(keys, accepted)]
        url = discovery_url(config)
        checks.append(check_discovery(config, url, ask(http, "GET", url, headers={"Accept": "application/json"})))
        checks.append(check_clock(bare.date, timezone.now()))
        if urls.webhook_url:
            host = urlsplit(urls.webhook_url).hostname or ""
            unsigned = ask(http, "POST", urls.webhook_url, content=b"[]", headers={"Content-Type": "application/json"})
            checks += [
                check_webhook_https(urls.webhook_url, environment),
                check_webhook_address(urls.webhook_url, environment, addresses_of(host)),
                check_webhook_endpoint(urls.webhook_url, unsigned),
            ]
        else:
            checks.append(
                warn(
                    "webhook URL",
                    "not known here",
                    "run with --base-url https://<your host>, or set QBO_REDIRECT_URI",
                )
            )
        if company_id is None:
            checks.append(warn("connection", "no company named", "run with --company ID to check its connection"))
        else:
            connection = Connection.objects.filter(company_id=company_id).first()
            live = connection is not None and connection.status == ConnectionStatus.CONNECTED
            read = _read_company(connection, http) if live and connection is not None else None
            checks += check_connection(connection, read)
    return checks


def any_failed(checks: list[Check]) -> bool:
    return any(check.status == Status.FAILED for check in checks)
