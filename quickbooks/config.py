"""Where QuickBooks is and who we are to it, read when needed (the emulator may start after us)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings


@dataclass(frozen=True)
class QboConfig:
    client_id: str
    client_secret: str
    verifier_token: str
    api_base_url: str
    auth_url: str
    token_url: str
    revoke_url: str

    @property
    def configured(self) -> bool:
        return bool(self.client_id and self.client_secret)


def qbo_config() -> QboConfig:
    if settings.QBO_CLIENT_ID:
        return QboConfig(
            client_id=settings.QBO_CLIENT_ID,
            client_secret=settings.QBO_CLIENT_SECRET,
            verifier_token=settings.QBO_WEBHOOK_VERIFIER_TOKEN,
            api_base_url=settings.QBO_API_BASE_URL,
            auth_url=settings.QBO_AUTH_URL,
            token_url=settings.QBO_TOKEN_URL,
            revoke_url=settings.QBO_REVOKE_URL,
        )
    return _from_file(settings.QBO_CREDENTIALS_FILE)


_cached: tuple[tuple[object, ...], QboConfig] | None = None


def _from_file(name: str) -> QboConfig:
    """The emulator's credentials file, re-read only when it changes: this runs on every webhook,
    delivery and payments page, and the emulator rewrites the file when it restarts."""
    global _cached
    path = Path(name)
    try:
        mtime = path.stat().st_mtime
    except OSError:
        mtime = -1.0
    defaults = (settings.QBO_API_BASE_URL, settings.QBO_AUTH_URL, settings.QBO_TOKEN_URL, settings.QBO_REVOKE_URL)
    key = (name, mtime, *defaults)
    if _cached is not None and _cached[0] == key:
        return _cached[1]
    data: dict[str, str] = {}
    if mtime >= 0:
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            data = {}
    config = QboConfig(
        client_id=data.get("client_id", ""),
        client_secret=data.get("client_secret", ""),
        verifier_token=data.get("verifier_token", ""),
        api_base_url=data.get("base_url", settings.QBO_API_BASE_URL),
        auth_url=data.get("auth_url", settings.QBO_AUTH_URL),
        token_url=data.get("token_url", settings.QBO_TOKEN_URL),
        revoke_url=data.get("revoke_url", settings.QBO_REVOKE_URL),
    )
    _cached = (key, config)
    return config
