"""Emulator configuration: one dataclass, filled from the command line or by tests."""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone

# Intuit's published retry schedule for unacknowledged webhooks (qbo-api.md §5.3), in seconds.
# After the last step QBO keeps retrying every 6 h; the emulator stops after `webhook_max_attempts`.
WEBHOOK_RETRY_SCHEDULE_S: tuple[float, ...] = (10, 20, 30, 300, 1200, 7200, 14400, 21600)


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Limits:
    """QBO's documented per-company limits (qbo-api.md §6, §7). `enabled=False` switches all off."""

    enabled: bool = True
    requests_per_minute: int = 500  # per realm
    concurrent: int = 10  # in-flight per realm+app ("10 concurrent", later "10 per second")
    batch_per_minute: int = 40  # per realm+app
    batch_max_items: int = 30
    # Answer real throttles with QBO's XML body (as QBO was seen to do even to JSON clients).
    throttle_xml: bool = False

    def scaled(self, factor: float) -> Limits:
        """Limits multiplied by `factor` (tests use small factors to hit them quickly)."""
        return Limits(
            enabled=self.enabled,
            requests_per_minute=max(1, int(self.requests_per_minute * factor)),
            concurrent=max(1, int(self.concurrent * factor)),
            batch_per_minute=max(1, int(self.batch_per_minute * factor)),
            batch_max_items=self.batch_max_items,
            throttle_xml=self.throttle_xml,
        )


@dataclass
class EmulatorConfig:
    """Everything the emulator can be told at start. All fields have safe defaults."""

    host: str = "127.0.0.1"
    port: int = 8010
    # Public base URL used in the discovery document and in redirects; derived from host/port if empty.
    base_url: str = ""
    state_file: str | None = None
    credentials_file: str | None = None
    client_id: str = field(default_factory=lambda: os.environ.get("QBO_EMULATOR_CLIENT_ID", ""))
    client_secret: str = field(default_factory=lambda: os.environ.get("QBO_EMULATOR_CLIENT_SECRET", ""))
    verifier_token: str = field(default_factory=lambda: os.environ.get("QBO_EMULATOR_VERIFIER_TOKEN", ""))
    # None = any http://localhost or http://127.0.0.1 URI is accepted (a deliberate simplification:
    # Intuit requires each redirect URI to be registered in the developer portal).
    redirect_uri: str | None = None
    webhook_url: str | None = None
    webhook_format: str = "cloudevents"  # or "legacy"
    # Multiply Intuit's retry schedule by this (tests use e.g. 0.001 so 10 s becomes 10 ms).
    webhook_retry_scale: float = 1.0
    webhook_max_attempts: int = 9
    webhook_timeout_s: float = 3.0  # Intuit: "respond ... within 3 seconds"
    webhook_max_events_per_post: int = 100
    access_token_ttl_s: int = 3600
    refresh_token_ttl_s: int = 100 * 24 * 3600
    # A superseded refresh token keeps working this long after rotation, then gives invalid_grant.
    refresh_token_grace_s: int = 120
    limits: Limits = field(default_factory=Limits)
    # Injectable clock (tests pass a controllable one). Must return an aware datetime.
    clock: Callable[[], datetime] = utc_now
    # QBO reports times in the company's zone; sandbox companies are in US Pacific time.
    tz: timezone = field(default_factory=lambda: timezone(timedelta(hours=-8)))
    # How long an injected "timeout" sleeps (longer than any sane client timeout).
    injected_timeout_s: float = 150.0
    request_log_size: int = 5000
    requestid_cache_size: int = 20000
    # Bill DocNumber duplicates are rejected per vendor (see services.py for why).
    reject_duplicate_docnumber: bool = True

    # True when the OAuth client was generated here (so a saved one may replace it).
    credentials_generated: bool = field(default=False, init=False)
    verifier_generated: bool = field(default=False, init=False)

    def __post_init__(self) -> None:
        # Never hard-coded: random per start unless given (env vars above or explicit arguments).
        self.credentials_generated = not (self.client_id or self.client_secret)
        self.verifier_generated = not self.verifier_token
        if not self.client_id:
            self.client_id = "EMU" + secrets.token_hex(16)
        if not self.client_secret:
            self.client_secret = secrets.token_urlsafe(30)
        if not self.verifier_token:
            self.verifier_token = secrets.token_hex(18)
        if self.webhook_format not in ("cloudevents", "legacy"):
            raise ValueError("webhook_format must be 'cloudevents' or 'legacy'")

    @property
    def public_base_url(self) -> str:
        return (self.base_url or f"http://{self.host}:{self.port}").rstrip("/")

    def credentials(self) -> dict[str, str]:
        """What a start script hands to the product (also written to --credentials-file)."""
        base = self.public_base_url
        return {
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "verifier_token": self.verifier_token,
            "base_url": base,
            "auth_url": f"{base}/connect/oauth2",
            "token_url": f"{base}/oauth2/v1/tokens/bearer",
            "revoke_url": f"{base}/v2/oauth2/tokens/revoke",
            "discovery_url": f"{base}/.well-known/openid_sandbox_configuration",
        }
