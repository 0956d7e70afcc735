"""Encryption of OAuth tokens at rest (Fernet: AES-128-CBC + HMAC-SHA256).

The key comes from QBO_TOKEN_KEY (a Fernet key) when set; otherwise it is derived from SECRET_KEY,
so the embedded mode needs no extra setting. Rotating SECRET_KEY without QBO_TOKEN_KEY therefore
means reconnecting QuickBooks, which the Integrations page then asks for.
"""

from __future__ import annotations

import base64
import hashlib
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings

from procuresync.env import env_str


@lru_cache(maxsize=1)
def _fernet() -> Fernet:
    key = env_str("QBO_TOKEN_KEY", "")
    if not key:
        digest = hashlib.sha256(("procuresync-qbo-tokens:" + settings.SECRET_KEY).encode()).digest()
        key = base64.urlsafe_b64encode(digest).decode()
    return Fernet(key.encode())


def encrypt(value: str) -> str:
    return _fernet().encrypt(value.encode()).decode() if value else ""


def decrypt(value: str) -> str:
    """Return the clear token, or "" if it cannot be decrypted (key changed): reconnect needed."""
    if not value:
        return ""
    try:
        return _fernet().decrypt(value.encode()).decode()
    except InvalidToken:
        return ""
