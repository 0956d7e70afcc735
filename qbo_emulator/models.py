"""QBO entities as the emulator stores them: specs (what each entity is) and per-company state.

Objects are kept as the JSON dicts QBO returns, so a read is a dict copy and nothing is
re-serialised through classes. The company owns indexes the services keep up to date
(names for 6240, DocNumbers for 6140) so checks stay O(1) on 10k+ objects.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

Obj = dict[str, Any]


@dataclass(frozen=True)
class EntitySpec:
    name: str
    kind: str  # "list" (name list: deactivate, not delete), "txn" (transaction), "other"
    required: tuple[str, ...] = ()
    name_field: str | None = None
    deletable: bool = False
    read_only: bool = False
    cdc: bool = True  # CDC does not support TaxCode (qbo-api.md §4)
    webhook: bool = False  # the entities the issue asks to notify

    @property
    def path(self) -> str:
        return self.name.lower()


ENTITIES: dict[str, EntitySpec] = {
    s.name: s
    for s in (
        EntitySpec("Vendor", "list", name_field="DisplayName", webhook=True),
        EntitySpec("Customer", "list", name_field="DisplayName"),
        EntitySpec("Account", "list", required=("Name",), name_field="Name"),
        EntitySpec("Item", "list", required=("Name",), name_field="Name"),
        EntitySpec("Class", "list", required=("Name",), name_field="Name"),
        EntitySpec("Department", "list", required=("Name",), name_field="Name"),
        EntitySpec("Term", "list", required=("Name",), name_field="Name"),
        EntitySpec("TaxCode", "list", name_field="Name", read_only=True, cdc=False),
        # Non-US editions only (tax_tables.py); read only and not in CDC (qbo-api.md §4, §11a).
        EntitySpec("TaxRate", "list", required=("Name",), name_field="Name", read_only=True, cdc=False),
        # PurchaseOrder: APAccountRef is listed as required by Intuit; we enforce it (safe reading).
        EntitySpec("PurchaseOrder", "txn", required=("VendorRef", "APAccountRef", "Line"), deletable=True,
                   webhook=True),
        EntitySpec("Bill", "txn", required=("VendorRef", "Line"), deletable=True, webhook=True),
        EntitySpec("BillPayment", "txn", required=("VendorRef", "PayType", "TotalAmt", "Line"),
                   deletable=True, webhook=True),
        EntitySpec("VendorCredit", "txn", required=("VendorRef", "Line"), deletable=True, webhook=True),
        EntitySpec("Attachable", "other", deletable=True),
        EntitySpec("Preferences", "other", read_only=True),
        EntitySpec("CompanyInfo", "other", read_only=True),
    )
}
BY_PATH: dict[str, EntitySpec] = {s.path: s for s in ENTITIES.values()}
# Vendor/Customer/Employee DisplayNames share one namespace (Intuit Vendor reference).
PEOPLE = ("Vendor", "Customer")

# Change listener: (realm_id, entity, id, operation, last_updated) where operation is one of
# QBO's webhook operations Create / Update / Delete / Void.
ChangeListener = Callable[[str, str, str, str, str], None]


def fmt_time(dt: datetime, tz: timezone, *, millis: bool = False) -> str:
    """QBO's time format: local company time with an offset, e.g. 2015-07-14T12:34:04-07:00."""
    local = dt.astimezone(tz)
    if millis:
        return local.isoformat(timespec="milliseconds")
    return local.isoformat(timespec="seconds")


@dataclass
class Company:
    realm_id: str
    name: str
    objects: dict[str, dict[str, Obj]] = field(default_factory=dict)
    next_id: int = 1
    # CDC needs deletions: entity -> id -> {"domain","status":"Deleted","Id","MetaData"}.
    tombstones: dict[str, dict[str, Obj]] = field(default_factory=dict)
    # requestid -> (status, body): replaying a request id returns the first answer.
    request_cache: OrderedDict[str, tuple[int, str]] = field(default_factory=OrderedDict)
    attachments: dict[str, bytes] = field(default_factory=dict)
    # Indexes, rebuilt on load.
    names: dict[tuple[str, str], str] = field(default_factory=dict)
    doc_numbers: dict[tuple[str, str, str], str] = field(default_factory=dict)
    # Bumped on every change (Store.emit) and every Ledger built. A query's later pages
    # (STARTPOSITION > 1) reuse the sorted matches of its earlier pages only while this is
    # unchanged: query text without paging -> (changes, table size, matches). Not persisted.
    changes: int = 0
    query_cache: OrderedDict[str, tuple[int, int, list[Obj]]] = field(
        default_factory=OrderedDict, repr=False, compare=False)

    def table(self, entity: str) -> dict[str, Obj]:
        return self.objects.setdefault(entity, {})

    def get(self, entity: str, obj_id: Any) -> Obj | None:
        return self.objects.get(entity, {}).get(str(obj_id))

    def new_id(self) -> str:
        # One counter per company across entities: QBO Ids are per-company strings of digits.
        value = self.next_id
        self.next_id += 1
        return str(value)

    # --- indexes ------------------------------------------------------------------------

    @staticmethod
    def name_key(entity: str, name: str) -> tuple[str, str]:
        # Names are compared case-insensitively (UNCONFIRMED: QBO's collation is not documented).
        scope = "People" if entity in PEOPLE else entity
        return (scope, name.strip().lower())

    def rebuild_indexes(self) -> None:
        self.names.clear()
        self.doc_numbers.clear()
        for entity, table in self.objects.items():
            spec = ENTITIES.get(entity)
            for obj in table.values():
                if spec and spec.name_field and obj.get(spec.name_field):
                    self.names[self.name_key(entity, obj[spec.name_field])] = obj["Id"]
                key = doc_key(entity, obj)
                if key:
                    self.doc_numbers[key] = obj["Id"]

    # --- persistence --------------------------------------------------------------------

    def to_json(self) -> Obj:
        return {
            "realm_id": self.realm_id, "name": self.name, "objects": self.objects,
            "next_id": self.next_id, "tombstones": self.tombstones,
            "request_cache": list(self.request_cache.items()),
            "attachments": {k: v.hex() for k, v in self.attachments.items()},
        }

    @classmethod
    def from_json(cls, data: Obj) -> Company:
        company = cls(realm_id=data["realm_id"], name=data["name"], objects=data["objects"],
                      next_id=data["next_id"], tombstones=data.get("tombstones", {}))
        for key, (status, body) in data.get("request_cache", []):
            company.request_cache[key] = (status, body)
        company.attachments = {k: bytes.fromhex(v) for k, v in data.get("attachments", {}).items()}
        company.rebuild_indexes()
        return company


def doc_key(entity: str, obj: Obj) -> tuple[str, str, str] | None:
    """Key under which a DocNumber must be unique, or None when the entity is not checked.

    Bills: per vendor. QBO's check follows the company setting "warn if duplicate bill number",
    which compares within one vendor (qbo-api.md §2, UNCONFIRMED default); we enforce it, the
    safe reading for a client that must not create a bill twice. PurchaseOrders: company-wide.
    """
    doc = obj.get("DocNumber")
    if not doc:
        return None
    if entity == "Bill":
        return (entity, str((obj.get("VendorRef") or {}).get("value", "")), str(doc))
    if entity == "PurchaseOrder":
        return (entity, "", str(doc))
    return None
