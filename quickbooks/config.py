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
    path = Path(settings.QBO_CREDENTIALS_FILE)
    data: dict[str, str] = {}
    if path.is_file():
        try:
            data = json.loads(path.read_text())
        except ValueError:
            data = {}
    return QboConfig(
        client_id=data.get("client_id", ""),
        client_secret=data.get("client_secret", ""),
        verifier_token=data.get("verifier_token", ""),
        api_base_url=data.get("base_url", settings.QBO_API_BASE_URL),
        auth_url=data.get("auth_url", settings.QBO_AUTH_URL),
        token_url=data.get("token_url", settings.QBO_TOKEN_URL),
        revoke_url=data.get("revoke_url", settings.QBO_REVOKE_URL),
    )
