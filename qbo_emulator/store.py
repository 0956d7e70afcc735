"""All emulator state: companies, and optional persistence to one SQLite file.

State lives in memory; with a state file every change marks the store dirty and a periodic
flush (plus one at shutdown) writes each changed company as a JSON blob, so a demo survives a
restart without slowing down bulk loads.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
from pathlib import Path
from typing import Any

from .models import ChangeListener, Company


class Store:
    def __init__(self, state_file: str | None = None) -> None:
        self.companies: dict[str, Company] = {}
        self.listeners: list[ChangeListener] = []
        self.state_file = state_file
        self.dirty: set[str] = set()
        self.meta: dict[str, Any] = {}  # OAuth tokens and credentials survive restarts too
        self.meta_dirty = False
        if state_file:
            self._load()

    # --- companies ----------------------------------------------------------------------

    def new_realm_id(self) -> str:
        # Sandbox realm ids are long digit strings, e.g. 9341453161939481.
        while True:
            realm = "9341" + "".join(secrets.choice("0123456789") for _ in range(12))
            if realm not in self.companies:
                return realm

    def add(self, company: Company) -> Company:
        self.companies[company.realm_id] = company
        self.mark(company.realm_id)
        return company

    def get(self, realm_id: str) -> Company | None:
        return self.companies.get(realm_id)

    def reset(self) -> None:
        removed = list(self.companies)
        self.companies.clear()
        self.dirty.update(removed)
        self.meta.pop("tokens", None)
        self.meta_dirty = True

    def emit(self, realm_id: str, entity: str, obj_id: str, operation: str, when: str) -> None:
        company = self.companies.get(realm_id)
        if company is not None:
            company.changes += 1
        self.mark(realm_id)
        for listener in self.listeners:
            listener(realm_id, entity, obj_id, operation, when)

    def mark(self, realm_id: str) -> None:
        if self.state_file:
            self.dirty.add(realm_id)

    # --- persistence --------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        assert self.state_file
        Path(self.state_file).parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.state_file)
        conn.execute("CREATE TABLE IF NOT EXISTS company (realm_id TEXT PRIMARY KEY, data TEXT NOT NULL)")
        conn.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, data TEXT NOT NULL)")
        return conn

    def _load(self) -> None:
        with self._connect() as conn:
            for (data,) in conn.execute("SELECT data FROM company"):
                company = Company.from_json(json.loads(data))
                self.companies[company.realm_id] = company
            for key, data in conn.execute("SELECT key, data FROM meta"):
                self.meta[key] = json.loads(data)

    def flush(self) -> None:
        """Write changed companies (and OAuth meta) to the state file, if there is one."""
        if not self.state_file or not (self.dirty or self.meta_dirty):
            return
        dirty, self.dirty = self.dirty, set()
        conn = self._connect()
        try:
            with conn:
                for realm in dirty:
                    company = self.companies.get(realm)
                    if company is None:
                        conn.execute("DELETE FROM company WHERE realm_id = ?", (realm,))
                    else:
                        conn.execute("INSERT OR REPLACE INTO company VALUES (?, ?)",
                                     (realm, json.dumps(company.to_json())))
                if self.meta_dirty:
                    conn.execute("DELETE FROM meta")
                    for key, value in self.meta.items():
                        conn.execute("INSERT INTO meta VALUES (?, ?)", (key, json.dumps(value)))
                    self.meta_dirty = False
        finally:
            conn.close()
