"""The running emulator: config, state and the moving parts the routes share.

One `Emulator` per app, reached from a request as `request.app.state.emulator`.
"""

from __future__ import annotations

from datetime import datetime

from .chaos import Chaos
from .config import EmulatorConfig
from .limits import RateLimiter
from .models import Company
from .oauth_store import TokenStore
from .requestlog import RequestLog
from .services import Ledger
from .store import Store
from .webhooks import WebhookDispatcher


class Emulator:
    def __init__(self, config: EmulatorConfig) -> None:
        self.config = config
        self.store = Store(config.state_file)
        self._adopt_saved_credentials()
        self.tokens = TokenStore(config, self.store)
        self.limiter = RateLimiter(config.limits)
        self.chaos = Chaos()
        self.log = RequestLog(config.request_log_size)
        self.webhooks = WebhookDispatcher(config, self.log)
        self.store.listeners.append(self.webhooks.on_change)

    def _adopt_saved_credentials(self) -> None:
        """With a state file, keep the OAuth client across restarts (tokens issued to it stay
        valid) unless credentials were given explicitly through the environment/arguments."""
        saved = self.store.meta.get("credentials")
        cfg = self.config
        if saved and cfg.credentials_generated:
            cfg.client_id, cfg.client_secret = saved["client_id"], saved["client_secret"]
        if saved and cfg.verifier_generated:
            cfg.verifier_token = saved["verifier_token"]
        self.store.meta["credentials"] = {"client_id": cfg.client_id, "client_secret": cfg.client_secret,
                                          "verifier_token": cfg.verifier_token}
        self.store.meta_dirty = True

    def now(self) -> datetime:
        return self.config.clock()

    def ledger(self, company: Company) -> Ledger:
        company.changes += 1  # a Ledger may change objects in place; cached query pages are stale
        return Ledger(company, clock=self.config.clock, tz=self.config.tz, emit=self.store.emit,
                      reject_duplicate_docnumber=self.config.reject_duplicate_docnumber)
