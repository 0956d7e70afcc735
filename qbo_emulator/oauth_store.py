"""OAuth 2.0 grants and tokens, as Intuit's authorization server behaves (qbo-api.md §9).

- authorization codes are single use and short lived;
- access tokens live one hour (`expires_in` 3600);
- every refresh rotates the refresh token; the superseded one keeps answering for a short grace
  period (a client that lost the response can retry), then gives `invalid_grant`;
- revoking any token of a grant ends the whole grant (its access tokens stop working).

Tokens are opaque random strings. State sits in `store.meta` so it survives restarts.
"""

from __future__ import annotations

import secrets
from typing import Any

from .config import EmulatorConfig
from .store import Store

CODE_TTL_S = 600


class TokenStore:
    def __init__(self, config: EmulatorConfig, store: Store) -> None:
        self.config = config
        self.store = store

    @property
    def data(self) -> dict[str, dict[str, Any]]:
        tokens = self.store.meta.setdefault("tokens", {})
        for key in ("codes", "access", "refresh", "grants"):
            tokens.setdefault(key, {})
        return tokens

    def _now(self) -> float:
        return self.config.clock().timestamp()

    def _changed(self) -> None:
        self.store.meta_dirty = True

    def issue_code(self, realm_id: str, redirect_uri: str, client_id: str) -> str:
        code = "AB" + secrets.token_urlsafe(36)
        self.data["codes"][code] = {"realm": realm_id, "redirect_uri": redirect_uri, "client_id": client_id,
                                    "exp": self._now() + CODE_TTL_S}
        self._changed()
        return code

    def exchange_code(self, code: str, redirect_uri: str | None) -> dict[str, Any] | None:
        entry = self.data["codes"].pop(code, None)  # single use
        self._changed()
        if entry is None or entry["exp"] < self._now():
            return None
        if redirect_uri is not None and redirect_uri != entry["redirect_uri"]:
            return None
        grant = secrets.token_hex(8)
        self.data["grants"][grant] = {"realm": entry["realm"]}
        return self._issue(grant, entry["realm"])

    def issue_for(self, realm_id: str) -> dict[str, Any]:
        """Skip the browser: a grant straight away (control API, for tests and benchmarks)."""
        grant = secrets.token_hex(8)
        self.data["grants"][grant] = {"realm": realm_id}
        return self._issue(grant, realm_id)

    def _issue(self, grant: str, realm_id: str, refresh_token: str | None = None) -> dict[str, Any]:
        now = self._now()
        access = "eyJ" + secrets.token_urlsafe(48)
        self.data["access"][access] = {"realm": realm_id, "grant": grant, "exp": now + self.config.access_token_ttl_s}
        if refresh_token is None:
            refresh_token = "RT1-" + secrets.token_urlsafe(36)
            self.data["refresh"][refresh_token] = {"realm": realm_id, "grant": grant,
                                                   "exp": now + self.config.refresh_token_ttl_s}
        entry = self.data["refresh"][refresh_token]
        self._changed()
        return {
            "access_token": access,
            "refresh_token": refresh_token,
            "token_type": "bearer",
            "expires_in": self.config.access_token_ttl_s,
            "x_refresh_token_expires_in": int(entry["exp"] - now),
            "realmId": realm_id,  # not part of Intuit's token response; handy for emulator clients
        }

    def refresh(self, refresh_token: str) -> dict[str, Any] | None:
        now = self._now()
        entry = self.data["refresh"].get(refresh_token)
        if entry is None or entry["grant"] not in self.data["grants"] or entry["exp"] < now:
            return None
        if entry.get("superseded_at") is not None:
            if now - entry["superseded_at"] > self.config.refresh_token_grace_s:
                return None
            latest = refresh_token
            while self.data["refresh"].get(latest, {}).get("next"):
                latest = self.data["refresh"][latest]["next"]
            if latest not in self.data["refresh"]:
                return None
            return self._issue(entry["grant"], entry["realm"], refresh_token=latest)
        # Rotate: a new refresh token, 100 days rolling (qbo-api.md §9).
        fresh = "RT1-" + secrets.token_urlsafe(36)
        self.data["refresh"][fresh] = {"realm": entry["realm"], "grant": entry["grant"],
                                       "exp": now + self.config.refresh_token_ttl_s}
        entry["superseded_at"] = now
        entry["next"] = fresh
        return self._issue(entry["grant"], entry["realm"], refresh_token=fresh)

    def revoke(self, token: str) -> bool:
        entry = self.data["refresh"].get(token) or self.data["access"].get(token)
        if entry is None:
            return False
        self.data["grants"].pop(entry["grant"], None)
        self._changed()
        return True

    def check(self, access_token: str, realm_id: str) -> str | None:
        """None when the bearer may call `realm_id`, else the reason it may not."""
        entry = self.data["access"].get(access_token)
        if entry is None:
            return "Token invalid"
        if entry["grant"] not in self.data["grants"]:
            return "Token revoked"
        if entry["exp"] <= self._now():
            return "Token expired"
        if entry["realm"] != realm_id:
            return "Token not valid for this company"
        return None

    def expire_access_tokens(self, realm_id: str | None = None) -> int:
        count = 0
        for entry in self.data["access"].values():
            if realm_id is None or entry["realm"] == realm_id:
                entry["exp"] = 0
                count += 1
        self._changed()
        return count
