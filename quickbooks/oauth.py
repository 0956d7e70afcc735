"""OAuth 2.0 with Intuit: authorize, exchange the code, refresh (rotating), revoke.

Refresh tokens rotate: every refresh may return a new one and the old one soon stops working. No
database transaction is held while Intuit answers (up to QBO_HTTP_TIMEOUT; on SQLite a held write
transaction makes every other writer fail with "database is locked"). Instead:
- the threads of one process refresh a connection once: a process-local lock per connection, and
  a thread that finds the token already refreshed while it waited simply uses it;
- the new pair is stored by compare-and-set on ``token_version``; if a worker of another process
  stored a pair first, ours is dropped and theirs is used. Both answers came from the same
  refresh token, and a refresh token just superseded is answered with the current one, so theirs
  works (UNCONFIRMED by Intuit's documentation; the emulator models it as refresh_token_grace_s).
A refused refresh (invalid_grant) marks the connection "needs reconnect" (unless another worker
stored new tokens meanwhile): syncing pauses, outbox rows stay pending, and nothing is lost.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import secrets
import threading
from dataclasses import dataclass
from urllib.parse import urlencode

import httpx
from django.conf import settings
from django.utils import timezone

from quickbooks import crypto
from quickbooks.config import QboConfig, qbo_config
from quickbooks.errors import QboRejected, QboTransient, ReconnectNeeded
from quickbooks.models import Connection, ConnectionStatus

SCOPE = "com.intuit.quickbooks.accounting"
STATE_LIFETIME = dt.timedelta(minutes=15)
REFRESH_MARGIN = dt.timedelta(seconds=120)  # refresh a little before the hour is up

_http_lock = threading.Lock()
_http: httpx.Client | None = None


def http_client() -> httpx.Client:
    """One pooled, thread-safe httpx client for all QuickBooks traffic of this process."""
    global _http
    with _http_lock:
        if _http is None:
            _http = httpx.Client(
                timeout=httpx.Timeout(settings.QBO_HTTP_TIMEOUT, connect=10.0),
                limits=httpx.Limits(max_connections=64, max_keepalive_connections=32),
            )
        return _http


def set_http_client(client: httpx.Client | None) -> None:
    """For tests that route QuickBooks traffic through another transport."""
    global _http
    with _http_lock:
        _http = client


@dataclass(frozen=True)
class TokenSet:
    access_token: str
    refresh_token: str
    expires_in: int
    refresh_expires_in: int | None


def authorization_url(*, connection: Connection, redirect_uri: str, config: QboConfig | None = None) -> str:
    config = config or qbo_config()
    state = secrets.token_urlsafe(24)
    connection.oauth_state = state
    connection.oauth_state_expires_at = timezone.now() + STATE_LIFETIME
    connection.save(update_fields=["oauth_state", "oauth_state_expires_at"])
    query = {
        "client_id": config.client_id,
        "response_type": "code",
        "scope": SCOPE,
        "redirect_uri": redirect_uri,
        "state": state,
    }
    return f"{config.auth_url}?{urlencode(query)}"


def check_state(*, connection: Connection, state: str) -> bool:
    expected = connection.oauth_state
    fresh = connection.oauth_state_expires_at is not None and connection.oauth_state_expires_at > timezone.now()
    return bool(expected) and fresh and secrets.compare_digest(expected, state)


def _token_call(data: dict[str, str], config: QboConfig) -> TokenSet:
    try:
        response = http_client().post(
            config.token_url,
            data=data,
            auth=(config.client_id, config.client_secret),  # HTTP Basic client authentication
            headers={"Accept": "application/json"},
        )
    except httpx.HTTPError as exc:
        raise QboTransient(f"Could not reach QuickBooks' sign-in service ({type(exc).__name__}).") from exc
    if response.status_code >= 500:
        raise QboTransient(f"QuickBooks' sign-in service is unavailable (HTTP {response.status_code}).")
    try:
        body = response.json()
    except ValueError:
        body = {}
    if response.status_code != 200 or "access_token" not in body:
        if body.get("error") in {"invalid_grant", "invalid_client", "unauthorized_client"}:
            raise ReconnectNeeded(f"QuickBooks refused the sign-in ({body['error']}); connect again on Integrations.")
        raise QboRejected(f"QuickBooks' sign-in service answered HTTP {response.status_code}.")
    return TokenSet(
        access_token=body["access_token"],
        refresh_token=body["refresh_token"],
        expires_in=int(body.get("expires_in", 3600)),
        refresh_expires_in=int(body["x_refresh_token_expires_in"]) if "x_refresh_token_expires_in" in body else None,
    )


def exchange_code(*, code: str, redirect_uri: str, config: QboConfig | None = None) -> TokenSet:
    config = config or qbo_config()
    return _token_call({"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}, config)


def store_tokens(connection: Connection, tokens: TokenSet) -> None:
    now = timezone.now()
    connection.access_token = crypto.encrypt(tokens.access_token)
    connection.refresh_token = crypto.encrypt(tokens.refresh_token)
    connection.access_expires_at = now + dt.timedelta(seconds=tokens.expires_in)
    connection.refresh_expires_at = (
        now + dt.timedelta(seconds=tokens.refresh_expires_in) if tokens.refresh_expires_in else None
    )
    connection.token_version += 1
    connection.save(
        update_fields=["access_token", "refresh_token", "access_expires_at", "refresh_expires_at", "token_version"]
    )


def revoke(*, connection: Connection, config: QboConfig | None = None) -> None:
    """Best effort: revoking the refresh token revokes the grant. A failure is not the user's problem."""
    config = config or qbo_config()
    token = crypto.decrypt(connection.refresh_token) or crypto.decrypt(connection.access_token)
    if not token:
        return
    with contextlib.suppress(httpx.HTTPError):
        http_client().post(
            config.revoke_url,
            json={"token": token},
            auth=(config.client_id, config.client_secret),
            headers={"Accept": "application/json"},
        )


class IssuedToken:
    """A TokenSource for tokens just issued and not stored yet (reading the company while connecting).
    There is nothing to refresh: a refused token means the sign-in did not work."""

    def __init__(self, access_token: str) -> None:
        self._token = access_token

    def access_token(self) -> str:
        return self._token

    def refresh(self, rejected_token: str) -> str:
        raise ReconnectNeeded("QuickBooks did not accept the sign-in it had just given")


_refresh_locks_guard = threading.Lock()
_refresh_locks: dict[int, threading.Lock] = {}


def _refresh_lock(connection_id: int) -> threading.Lock:
    """The lock that makes the threads of this process refresh a connection's token once."""
    with _refresh_locks_guard:
        return _refresh_locks.setdefault(connection_id, threading.Lock())


def _store_if_unchanged(connection_id: int, tokens: TokenSet, version: int) -> bool:
    """Store ``tokens`` unless another worker stored a pair (or the connection was reconnected or
    disconnected) since ``version`` was read. One UPDATE: no transaction is held."""
    now = timezone.now()
    stored = (
        Connection.objects.filter(pk=connection_id, token_version=version)
        .exclude(status=ConnectionStatus.NOT_CONNECTED)
        .update(
            access_token=crypto.encrypt(tokens.access_token),
            refresh_token=crypto.encrypt(tokens.refresh_token),
            access_expires_at=now + dt.timedelta(seconds=tokens.expires_in),
            refresh_expires_at=(
                now + dt.timedelta(seconds=tokens.refresh_expires_in) if tokens.refresh_expires_in else None
            ),
            token_version=version + 1,
        )
    )
    return stored == 1


class ConnectionTokens:
    """The client's TokenSource for one connection, backed by the database."""

    def __init__(self, connection_id: int, config: QboConfig | None = None) -> None:
        self.connection_id = connection_id
        self.config = config or qbo_config()

    def _load(self) -> Connection:
        return Connection.objects.get(pk=self.connection_id)

    def access_token(self) -> str:
        connection = self._load()
        if connection.status != ConnectionStatus.CONNECTED:
            raise ReconnectNeeded("QuickBooks is not connected; an Admin must connect it on Integrations.")
        token = crypto.decrypt(connection.access_token)
        expires = connection.access_expires_at
        if not token or expires is None or expires - REFRESH_MARGIN <= timezone.now():
            return self.refresh(token)
        return token

    def refresh(self, rejected_token: str) -> str:
        with _refresh_lock(self.connection_id):
            connection = self._load()
            current = crypto.decrypt(connection.access_token)
            if current and current != rejected_token and self._still_valid(connection):
                return current  # another thread or worker refreshed while we waited
            version = connection.token_version
            refresh_token = crypto.decrypt(connection.refresh_token)
            try:
                if not refresh_token:
                    raise ReconnectNeeded(
                        "The stored QuickBooks sign-in cannot be read; connect again on Integrations."
                    )
                # Intuit is called outside any transaction: nothing is locked while it answers.
                tokens = _token_call({"grant_type": "refresh_token", "refresh_token": refresh_token}, self.config)
            except ReconnectNeeded as exc:
                marked = (
                    Connection.objects.filter(
                        pk=self.connection_id, token_version=version, status=ConnectionStatus.CONNECTED
                    ).update(status=ConnectionStatus.NEEDS_RECONNECT, last_error=exc.message)
                    == 1
                )
                if marked:
                    raise
                # Another worker stored new tokens (or an Admin reconnected) meanwhile: use those.
                return self._stored_instead(exc)
            if _store_if_unchanged(self.connection_id, tokens, version):
                return tokens.access_token
            return self._stored_instead(ReconnectNeeded())

    @staticmethod
    def _still_valid(connection: Connection) -> bool:
        expires = connection.access_expires_at
        return expires is not None and expires - REFRESH_MARGIN > timezone.now()

    def _stored_instead(self, otherwise: ReconnectNeeded) -> str:
        """The token another worker stored while our refresh was in flight."""
        connection = self._load()
        token = crypto.decrypt(connection.access_token)
        if connection.status == ConnectionStatus.CONNECTED and token:
            return token
        raise otherwise
