"""Tenant isolation under fuzzing: company B's token tries every operation of the API with company A's
ids and payloads.

The operations are read from the generated OpenAPI schema, so a new endpoint is fuzzed (or fails the
enumeration check until someone says how) without this file changing. For each operation:

- every id in the path is each of A's ids of that resource (all statuses; invoices, credit notes and
  purchase orders on every kind's URLs), sent with no body, an empty body, A's own data and B's valid data: 404 in the
  error shape, byte for byte the answer for an id that exists nowhere;
- every id inside a body or a query string (supplier, purchase order, invoice, credited invoice, a
  line's list options, custom field keys) is, one at a time, each of A's ids inside an otherwise
  valid request of B, on B's own objects (whose unchanged request is accepted): refused, 404 or 400
  (409/422 also taken) naming that field; filters naming A's ids list nothing, where B's own ids list B's rows;
- A's distinctive texts (names, codes, notes, references) sent as B's own data are accepted as B's:
  never "already exists", which would tell B that A has it.

After every request: A's rows are exactly as before, no row of one company points at the other's, a
refused request changed nothing at all, and no answer (body or headers) contains any of A's marker
strings, unless B itself sent that string and the request succeeded. B's successful writes are
rolled back (a savepoint per request), so every request meets the same data.

B also has one user per role (and one with none): for them, every method on every object URL with
A's ids answers exactly as for an id that exists nowhere.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

import pytest
from django.apps import apps
from django.db import connection, models, transaction
from django.test import override_settings
from django.urls import resolve
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from accounts.models import AuditEntry, Company, User
from accounts.roles import Role
from accounts.services import company_create, user_create
from payments.models import Method, Payment, Via
from payments.services import ImportedPart, payment_cancel, payment_record, qbo_payments_apply
from procurement import workflow
from procurement.inputs import SupplierData
from procurement.models import Document, DocumentKind, ListKind
from procurement.services import (
    custom_field_create,
    document_create,
    document_transition,
    list_option_create,
    numbering_set_prefix,
    supplier_create,
)
from procuresync.api_urls import urlpatterns
from quickbooks.models import Connection, ConnectionStatus, PaymentImportRun, ReconciliationRun
from tests.api.conftest import assert_error, db_snapshot
from tests.conftest import PASSWORD, credit_note_data, invoice_data, line, po_data

# Every distinctive string of company A carries this mark; B's data never does. A response holding it
# (beyond what B itself sent and had accepted) shows B something of A's.
MARK = "zq7"
A_PASSWORD = "Zq7-only-company-a-knows-this"  # B knows PASSWORD, so A's users must not share it
MISSING_ID = 987654321  # exists in no table: what "no such object" looks like
HTTP_METHODS = ("get", "put", "post", "patch", "delete", "head", "options", "trace")

# ---------------------------------------------------------------- how to read the schema

# The resource an id in a path names, by the path up to "{id}" (a collection is the same path
# without the id). Documents: A's invoices, credit notes *and* purchase orders are tried on every kind's URLs.
ID_RESOURCES = {
    "/api/v1/suppliers/": "supplier",
    "/api/v1/purchase-orders/": "document",
    "/api/v1/invoices/": "document",
    "/api/v1/credit-notes/": "document",
    "/api/v1/payments/": "payment",
    "/api/v1/payments/imports/": "payment_import",
    "/api/v1/quickbooks/reconciliations/": "reconciliation",
}
# Fields and query parameters holding the id of one of the caller's objects -> the kind of A's ids
# to put there. The line fields take any of A's list options (all kinds share one table).
REFERENCE_FIELDS = {
    "supplier": "supplier",
    "purchase_order": "purchase_order",
    "invoice": "invoice",
    "credited_invoice": "invoice",
    "account": "account",
    "class": "class",
    "customer_project": "customer_project",
    "item": "item",
    "tax_code": "tax_code",
}
# Objects whose *keys* are ids.
KEYED_REFERENCE_FIELDS = {"custom_fields": "custom_field"}
# Integer parameters and fields that name no object, so there is nothing of A's to put in them.
NOT_REFERENCES = {
    "page": "a page number of the caller's own list",
}
# Operations without a resource id, on the caller itself; fuzzed like the rest (no leak, nothing
# changed), with the extra check in _caller_checks.
CALLER_OPERATIONS = {
    "me_retrieve": "who the caller is: B's user and company only",
    "auth_token_create": "takes a username and password, not a token: A's usernames are tried",
    "auth_token_destroy": "revokes the caller's own token: there is nothing of A's to name",
}
# Operations left out of the fuzz, each with its reason. Empty: every operation is fuzzed.
SKIPPED_OPERATIONS: dict[str, str] = {}

# (ID_RESOURCES prefix, body field) of references an operation ignores by design: A's id there is
# accepted, and not stored (cross_company_links checks that).
IGNORED_REFERENCES = {
    # "purchase_order" is an invoice field and "credited_invoice" a credit note's; on another kind
    # they are dropped (DocumentIn's doc).
    ("/api/v1/purchase-orders/", "purchase_order"),
    ("/api/v1/credit-notes/", "purchase_order"),
    ("/api/v1/purchase-orders/", "credited_invoice"),
    ("/api/v1/invoices/", "credited_invoice"),
}


class Unclassified(Exception):
    """The schema has something this file does not know how to fuzz: say how in the tables above."""


SCHEMA: dict[str, Any] = SchemaGenerator().get_schema(request=None, public=True)


@dataclass(frozen=True)
class Operation:
    op_id: str
    method: str
    path: str
    params: tuple[dict[str, Any], ...]
    body: dict[str, Any] | None  # the JSON request body's schema

    def params_in(self, where: str) -> list[dict[str, Any]]:
        return [p for p in self.params if p["in"] == where]


def operations_of(schema: dict[str, Any]) -> list[Operation]:
    found = []
    for path, item in schema["paths"].items():
        for method, op in item.items():
            if method not in HTTP_METHODS:
                continue
            content: dict[str, Any] = op.get("requestBody", {}).get("content", {})
            media: dict[str, Any] = content.get("application/json") or next(iter(content.values()), {})
            body = media.get("schema")
            params = tuple(op.get("parameters", ())) + tuple(item.get("parameters", ()))
            found.append(Operation(op["operationId"], method.upper(), path, params, body))
    return found


OPERATIONS = operations_of(SCHEMA)


def resolved(node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        node = SCHEMA["components"]["schemas"][node["$ref"].rsplit("/", 1)[-1]]
    return node


def is_integer(node: dict[str, Any]) -> bool:
    node = resolved(node)
    options = node.get("oneOf", []) + node.get("anyOf", []) + node.get("allOf", [])
    return node.get("type") == "integer" or any(is_integer(option) for option in options)


OMIT = object()
RefFor = Callable[[str, str], Any]  # (field path, kind) -> id


def build_body(schema: dict[str, Any], texts: dict[str, Any], ref_for: RefFor, prefix: str = "") -> Any:
    """A request body for ``schema``: ids from ``ref_for``, every other value from ``texts`` by name."""
    node = resolved(schema)
    if node.get("type") == "array":
        return [build_body(node["items"], texts, ref_for, f"{prefix}0.")]
    body = {}
    required = set(node.get("required", ()))
    for name, prop in node.get("properties", {}).items():
        path, prop_node = f"{prefix}{name}", resolved(prop)
        if name in KEYED_REFERENCE_FIELDS:
            value: Any = {str(ref_for(path, KEYED_REFERENCE_FIELDS[name])): texts[name]}
        elif isinstance(prop_node.get("additionalProperties"), dict):
            raise Unclassified(f"{path}: an object with free keys; are they ids? (KEYED_REFERENCE_FIELDS)")
        elif is_integer(prop_node):
            if name in REFERENCE_FIELDS:
                value = ref_for(path, REFERENCE_FIELDS[name])
            elif name in NOT_REFERENCES:
                value = texts.get(name, OMIT)
            else:
                raise Unclassified(f"{path}: an integer field; an id? (REFERENCE_FIELDS or NOT_REFERENCES)")
        elif prop_node.get("type") == "array" and resolved(prop_node["items"]).get("type") == "object":
            value = build_body(prop_node, texts, ref_for, f"{path}.")
        elif name in texts:
            value = texts[name]
        elif name in required:
            raise Unclassified(f"{path}: a required field with no sample value in the world's texts")
        else:
            value = OMIT
        if value is not OMIT:
            body[name] = value
    return body


def body_slots(schema: dict[str, Any] | None) -> list[tuple[str, str]]:
    """(field path, kind) of every id inside a body of ``schema``."""
    slots: list[tuple[str, str]] = []

    def record(path: str, kind: str) -> int:
        slots.append((path, kind))
        return 0

    if schema is not None:
        build_body(schema, _AnyText(), record)
    return slots


class _AnyText(dict[str, Any]):
    """Texts for a dry run: every name has a value."""

    def __contains__(self, key: object) -> bool:
        return True

    def __getitem__(self, key: str) -> Any:
        return "x"

    def get(self, key: str, default: Any = None) -> Any:
        return "x"


@dataclass
class Plan:
    """What the fuzz does with one operation, decided from the schema alone."""

    op: Operation
    category: str  # "object" (an id in the path), "collection" or "caller"
    resource: str  # the ID_RESOURCES prefix ("" for caller operations)
    kind: str  # kind of the ids in the path, or of the collection's rows
    slots: list[tuple[str, str]]  # ids in the body
    query_refs: list[tuple[str, str]] = field(default_factory=list)  # (param, kind)
    query_enums: list[tuple[str, list[Any]]] = field(default_factory=list)
    query_texts: list[str] = field(default_factory=list)  # free text: A's marker strings go there
    query_values: list[tuple[str, str]] = field(default_factory=list)  # (param, "boolean" | "date")

    @property
    def writes(self) -> bool:
        return self.op.method in ("POST", "PUT", "PATCH", "DELETE")


def plan_for(op: Operation) -> Plan:
    path_params = op.params_in("path")
    if path_params:
        if [p["name"] for p in path_params] != ["id"] or not is_integer(path_params[0]["schema"]):
            raise Unclassified(f"{op.op_id}: path parameters {[p['name'] for p in path_params]}")
        resource = op.path[: op.path.index("{id}")]
        category = "object"
    else:
        resource = op.path if op.path.endswith("/") else f"{op.path}/"
        category = "collection"
        if op.op_id in CALLER_OPERATIONS:
            resource, category = "", "caller"
    if category != "caller" and resource not in ID_RESOURCES:
        raise Unclassified(f"{op.op_id}: {resource} is not in ID_RESOURCES (or CALLER_OPERATIONS)")
    plan = Plan(op, category, resource, ID_RESOURCES.get(resource, ""), body_slots(op.body))
    for param in op.params_in("query"):
        name, schema = param["name"], resolved(param["schema"])
        if name in REFERENCE_FIELDS:
            plan.query_refs.append((name, REFERENCE_FIELDS[name]))
        elif "enum" in schema:
            plan.query_enums.append((name, [value for value in schema["enum"] if value is not None]))
        elif is_integer(schema):
            if name not in NOT_REFERENCES:
                raise Unclassified(f"{op.op_id}: integer query parameter {name}; an id?")
        elif schema.get("type") == "string" and not schema.get("format"):
            plan.query_texts.append(name)
        elif schema.get("type") == "boolean" or schema.get("format") == "date":
            plan.query_values.append((name, "boolean" if schema.get("type") == "boolean" else "date"))
        else:
            raise Unclassified(f"{op.op_id}: query parameter {name} of schema {schema}")
    return plan


# ---------------------------------------------------------------- the two companies


@dataclass
class World:
    a: Company
    b: Company
    a_ids: dict[str, list[int]]  # kind -> every id of A of that kind
    b_ids: dict[str, list[int]]  # kind -> every id of B of that kind (rows a list may show)
    a_refs: dict[str, int]  # kind -> the id A's own data uses
    b_refs: dict[str, int]  # kind -> the id B's valid data uses
    b_targets: dict[str, int]  # ID_RESOURCES prefix -> B's object that B's own writes go to
    a_texts: dict[str, Any]  # field name -> A's real value
    b_texts: dict[str, Any]  # field name -> B's valid value
    a_markers: list[str]  # A's distinctive strings, for the search filters
    a_secrets: list[str]  # strings of A without the mark (tokens) that must never show up
    a_usernames: list[str]
    b_user: User
    b_personas: dict[str, User]


def client_with_token(user: User) -> APIClient:
    """The real authentication path: a DRF token in the Authorization header."""
    client = APIClient()
    token, _ = Token.objects.get_or_create(user=user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


def _walk(document: Document, n: int, actor: User, *actions: workflow.DocumentAction) -> Document:
    for action in actions:
        document_transition(actor=actor, document=document, action=action, comment=f"Zq7 {action} comment {n}")
    document.refresh_from_db()
    return document


def build_company_a() -> dict[str, Any]:
    """Company A with data of every kind the API exposes, each text carrying the mark."""
    S, AP, RJ, RV, C = (workflow.DocumentAction(a) for a in ("submit", "approve", "reject", "revise", "cancel"))
    a = company_create(name="Zq7 Acme Holdings")
    owner = user_create(
        company=a,
        username="zq7-owner",
        password=A_PASSWORD,
        roles=set(Role),
        first_name="Zq7first",
        last_name="Zq7last",
        email="owner@zq7-acme.example",
    )
    clerk = user_create(company=a, username="zq7-clerk", password=A_PASSWORD, roles=set(), email="c@zq7.example")
    numbering_set_prefix(actor=owner, kind=DocumentKind.PURCHASE_ORDER, prefix="ZQ7PO-")
    numbering_set_prefix(actor=owner, kind=DocumentKind.INVOICE, prefix="ZQ7INV-")
    numbering_set_prefix(actor=owner, kind=DocumentKind.CREDIT_NOTE, prefix="ZQ7CN-")
    options = {kind: list_option_create(actor=owner, kind=kind, name=f"Zq7 {kind} option") for kind in ListKind.values}
    cost_centre = custom_field_create(actor=owner, name="Zq7 Cost Centre")
    location = custom_field_create(actor=owner, name="Zq7 Location", choices_from=ListKind.LOCATION)
    paper = supplier_create(
        actor=owner,
        data=SupplierData(
            name="Zq7 Paper Supplier",
            currency="USD",
            email="ap@zq7-paper.example",
            address="1 Zq7 Street, Springfield",
            tax_id="ZQ7-TAX-001",
        ),
    )
    dormant = supplier_create(
        actor=owner,
        data=SupplierData(name="Zq7 Dormant Supplier", currency="USD", email="d@zq7.example", is_active=False),
    )

    def document(kind: str, n: int, *actions: workflow.DocumentAction, **extra: Any) -> Document:
        lines = [
            line(
                f"Zq7 line {n}",
                account_id=options[ListKind.ACCOUNT].pk,
                class_id=options[ListKind.CLASS].pk,
                customer_project_id=options[ListKind.CUSTOMER_PROJECT].pk,
                item_id=options[ListKind.ITEM].pk,
                tax_code_id=options[ListKind.TAX_CODE].pk,
            )
        ]
        common: dict[str, Any] = {
            "notes": f"Zq7 note {n}",
            "custom_values": {cost_centre.pk: f"Zq7-CC-{n}", location.pk: options[ListKind.LOCATION].name},
        }
        if kind == DocumentKind.INVOICE:
            data = invoice_data(paper, *lines, code=f"ZQ7-SUC-{n}", **common, **extra)
        elif kind == DocumentKind.CREDIT_NOTE:
            lines[0].unit_price = Decimal("1")  # 10 × 1.00: small enough to apply to a partly paid invoice
            data = credit_note_data(paper, *lines, code=f"ZQ7-CRN-{n}", **common, **extra)
        else:
            data = po_data(paper, *lines, **common, **extra)
        return _walk(document_create(actor=owner, kind=kind, data=data), n, owner, *actions)

    po = DocumentKind.PURCHASE_ORDER
    pos = {
        "draft": document(po, 1),
        "pending": document(po, 2, S),
        "approved": document(po, 3, S, AP),
        "rejected": document(po, 4, S, RJ),
        "in_revision": document(po, 5, S, AP, RV),
        "cancelled": document(po, 6, C),
    }
    inv = DocumentKind.INVOICE
    invoices = {
        "draft": document(inv, 11),
        "pending": document(inv, 12, S),
        "approved": document(inv, 13, S, AP, purchase_order_id=pos["approved"].pk),
        "rejected": document(inv, 14, S, RJ),
        "in_revision": document(inv, 15, S, AP, RV),
        "cancelled": document(inv, 16, C),
        "partly_paid": document(inv, 17, S, AP),
        "paid": document(inv, 18, S, AP),
    }
    paid_on = dt.date(2026, 11, 10)
    cancelled = payment_record(
        actor=owner, invoice=invoices["approved"], amount=Decimal("10"), paid_on=paid_on, method="card"
    )
    payment_cancel(actor=owner, payment=cancelled, reason="Zq7 cancel reason")
    partly = payment_record(
        actor=owner,
        invoice=invoices["partly_paid"],
        amount=Decimal("20"),
        paid_on=paid_on,
        method="cheque",
        reference="ZQ7-PAY-17",
    )
    paid = payment_record(
        actor=owner, invoice=invoices["paid"], amount=Decimal("50"), paid_on=paid_on, method="card", reference="ZQ7-P18"
    )
    cn = DocumentKind.CREDIT_NOTE
    credit_notes = {
        "draft": document(cn, 21, credited_invoice_id=invoices["approved"].pk),
        "pending": document(cn, 22, S),
        "approved": document(cn, 23, S, AP, credited_invoice_id=invoices["approved"].pk),
        "rejected": document(cn, 24, S, RJ),
        "in_revision": document(cn, 25, S, AP, RV),
        "cancelled": document(cn, 26, C),
        "partly_applied": document(cn, 27, S, AP),
        "applied": document(cn, 28, S, AP),
    }
    # QuickBooks applied two of them to the partly paid invoice's bill (20 + 4 + 10 of its 50 paid).
    applied_on = dt.date(2026, 11, 11)
    qbo_payments_apply(
        company_id=a.pk,
        realm_id="zq7-realm-9130",
        txns={
            "zq7-bp-27": [
                ImportedPart(invoices["partly_paid"].pk, "bill:1:credit:27", Decimal("4"), applied_on,
                             Method.SUPPLIER_CREDIT, "ZQ7-VC-27", credit_notes["partly_applied"].pk),
                ImportedPart(invoices["partly_paid"].pk, "bill:1:credit:28", Decimal("10"), applied_on,
                             Method.SUPPLIER_CREDIT, "ZQ7-VC-28", credit_notes["applied"].pk),
            ]
        },
        via=Via.WEBHOOK,
        source=lambda txn: f"QuickBooks bill payment {txn}",
    )
    credits = list(Payment.objects.filter(company=a, credit_note__isnull=False).order_by("pk"))
    for doc in [*invoices.values(), *credit_notes.values()]:
        doc.refresh_from_db()
    assert [doc.status for doc in invoices.values()] == list(invoices)
    assert [doc.status for doc in credit_notes.values()] == list(credit_notes)
    assert [doc.status for doc in pos.values()] == list(pos)

    today = timezone.localdate()
    date_from, date_to = today - dt.timedelta(days=40), today - dt.timedelta(days=10)
    imports = [
        PaymentImportRun.objects.create(
            company=a,
            realm_id="zq7-realm-9130",
            requested_by=owner,
            date_from=date_from,
            date_to=date_to,
            state=state,
            error=error,
        )
        for state, error in (("done", ""), ("failed", "Zq7 import failure"), ("queued", ""))
    ]
    approved = invoices["approved"]
    row = {
        "document_id": approved.pk,
        "number": approved.number,
        "kind": "total",
        "message": f"Zq7 total differs on {approved.number}",
        "fix": "send_again",
        "qbo_id": "zq7-bill-77",
        "qbo_url": "https://qbo.example/app/bill?txnId=zq7-bill-77",
        "payment_ids": ["zq7-payment-1"],
        "fixed": "",
    }
    reconciliations = [
        ReconciliationRun.objects.create(
            company=a, realm_id="zq7-realm-9130", requested_by=owner, state="done", rows=[row], differences=1
        ),
        ReconciliationRun.objects.create(company=a, realm_id="zq7-realm-9130", state="failed", error="Zq7 failure"),
    ]
    # After the documents, so approving them queued nothing for QuickBooks.
    Connection.objects.create(
        company=a,
        status=ConnectionStatus.CONNECTED,
        realm_id="zq7-realm-9130",
        qbo_company_name="Zq7 QBO Company",
        auto_send=False,
        location_field=location,
        default_expense_account=options[ListKind.ACCOUNT],
    )
    tokens = [Token.objects.create(user=user).key for user in (owner, clerk)]

    first_line = approved.lines.get()
    all_options = [option.pk for option in options.values()]
    documents = [*pos.values(), *invoices.values(), *credit_notes.values()]
    return {
        "company": a,
        "ids": {
            "supplier": [paper.pk, dormant.pk],
            "document": [doc.pk for doc in documents],
            "purchase_order": [doc.pk for doc in pos.values()],
            "invoice": [doc.pk for doc in invoices.values()],
            "payment": [cancelled.pk, partly.pk, paid.pk, *(credit.pk for credit in credits)],
            "payment_import": [run.pk for run in imports],
            "reconciliation": [run.pk for run in reconciliations],
            **dict.fromkeys(("account", "class", "customer_project", "item", "tax_code"), all_options),
            "custom_field": [cost_centre.pk, location.pk],
        },
        "refs": {
            "supplier": paper.pk,
            "purchase_order": pos["approved"].pk,
            "invoice": approved.pk,
            "account": options[ListKind.ACCOUNT].pk,
            "class": options[ListKind.CLASS].pk,
            "customer_project": options[ListKind.CUSTOMER_PROJECT].pk,
            "item": options[ListKind.ITEM].pk,
            "tax_code": options[ListKind.TAX_CODE].pk,
            "custom_field": cost_centre.pk,
        },
        "texts": {
            "name": paper.name,
            "currency": paper.currency,
            "email": paper.email,
            "address": paper.address,
            "tax_id": paper.tax_id,
            "is_active": True,
            "issue_date": str(approved.issue_date),
            "due_date": str(approved.due_date),
            "exchange_rate": str(approved.exchange_rate),
            "notes": approved.notes,
            "discount_type": approved.discount_type,
            "discount_value": str(approved.discount_value),
            "supplier_unique_code": approved.supplier_unique_code,
            "comment": "Zq7 approve comment 13",
            "description": first_line.description,
            "quantity": str(first_line.quantity),
            "unit_price": str(first_line.unit_price),
            "tax_rate": str(first_line.tax_rate),
            "custom_fields": "Zq7-CC-13",
            "amount": str(partly.amount),
            "paid_on": str(partly.paid_on),
            "method": partly.method,
            "reference": partly.reference,
            "reason": "Zq7 cancel reason",
            "date_from": str(date_from),
            "date_to": str(date_to),
            "username": owner.username,
            "password": PASSWORD,  # what B knows; A's users have another password
        },
        "markers": [
            a.name,
            paper.name,
            dormant.name,
            paper.email,
            paper.tax_id,
            *(doc.number for doc in documents),
            *(doc.supplier_unique_code for doc in [*invoices.values(), *credit_notes.values()]),
            "Zq7 note 13",
            "Zq7 line 13",
            "Zq7-CC-13",
            "ZQ7-PAY-17",
            "zq7-owner",
        ],
        "secrets": tokens,
        "usernames": [owner.username, clerk.username],
    }


def build_company_b() -> dict[str, Any]:
    """Company B: a user with every role (and one per role), and data of its own to write to."""
    S, AP = workflow.DocumentAction.SUBMIT, workflow.DocumentAction.APPROVE
    b = company_create(name="Initech Labs")
    user = user_create(company=b, username="initech-all", password=PASSWORD, roles=set(Role))
    personas = {
        role.value: user_create(company=b, username=f"initech-{role.value.lower()}", password=PASSWORD, roles={role})
        for role in Role
    }
    personas["no role"] = user_create(company=b, username="initech-none", password=PASSWORD, roles=set())
    options = {kind: list_option_create(actor=user, kind=kind, name=f"Initech {kind}") for kind in ListKind.values}
    project = custom_field_create(actor=user, name="Project code")
    supplier = supplier_create(actor=user, data=SupplierData(name="Initech Paper", currency="USD"))
    lines = [
        line(
            "Initech line",
            account_id=options[ListKind.ACCOUNT].pk,
            class_id=options[ListKind.CLASS].pk,
            customer_project_id=options[ListKind.CUSTOMER_PROJECT].pk,
            item_id=options[ListKind.ITEM].pk,
            tax_code_id=options[ListKind.TAX_CODE].pk,
        )
    ]

    def document(kind: str, *actions: workflow.DocumentAction, code: str = "") -> Document:
        data = invoice_data(supplier, *lines, code=code) if code else po_data(supplier, *lines)
        data.custom_values = {project.pk: "P-1"}
        doc = document_create(actor=user, kind=kind, data=data)
        for action in actions:
            document_transition(actor=user, document=doc, action=action)
        return doc

    po_approved = document(DocumentKind.PURCHASE_ORDER, S, AP)
    po_draft = document(DocumentKind.PURCHASE_ORDER)
    invoice_draft = document(DocumentKind.INVOICE, code="B-DRAFT-1")
    invoice_approved = document(DocumentKind.INVOICE, S, AP, code="B-APPROVED-1")
    credit_note_draft = document_create(
        actor=user,
        kind=DocumentKind.CREDIT_NOTE,
        data=credit_note_data(supplier, *lines, code="B-CN-DRAFT-1", credited_invoice_id=invoice_approved.pk),
    )
    payment = payment_record(
        actor=user, invoice=invoice_approved, amount=Decimal("5"), paid_on=dt.date(2026, 11, 5), method="cheque"
    )
    today = timezone.localdate()
    run = PaymentImportRun.objects.create(
        company=b, realm_id="initech-realm", requested_by=user, date_from=today, date_to=today, state="done"
    )
    reconciliation = ReconciliationRun.objects.create(company=b, realm_id="initech-realm", state="done")
    # Connected, so B's own imports and reconciliations start (and are rolled back) instead of 409.
    Connection.objects.create(company=b, status=ConnectionStatus.CONNECTED, realm_id="initech-realm", auto_send=False)
    return {
        "company": b,
        "user": user,
        "personas": personas,
        "ids": {
            "supplier": [supplier.pk],
            "document": [po_approved.pk, po_draft.pk, invoice_draft.pk, invoice_approved.pk, credit_note_draft.pk],
            "payment": [payment.pk],
            "payment_import": [run.pk],
            "reconciliation": [reconciliation.pk],
        },
        "refs": {
            "supplier": supplier.pk,
            "purchase_order": po_approved.pk,
            "invoice": invoice_approved.pk,
            "account": options[ListKind.ACCOUNT].pk,
            "class": options[ListKind.CLASS].pk,
            "customer_project": options[ListKind.CUSTOMER_PROJECT].pk,
            "item": options[ListKind.ITEM].pk,
            "tax_code": options[ListKind.TAX_CODE].pk,
            "custom_field": project.pk,
        },
        "targets": {
            "/api/v1/suppliers/": supplier.pk,
            "/api/v1/purchase-orders/": po_draft.pk,
            "/api/v1/invoices/": invoice_draft.pk,
            "/api/v1/credit-notes/": credit_note_draft.pk,
            "/api/v1/payments/": payment.pk,
            "/api/v1/payments/imports/": run.pk,
            "/api/v1/quickbooks/reconciliations/": reconciliation.pk,
        },
        "texts": {
            "name": "Initech Fresh Supplier",
            "currency": "USD",
            "email": "fresh@initech.example",
            "address": "2 Initech Way",
            "tax_id": "IN-1",
            "is_active": True,
            "issue_date": "2026-11-02",
            "due_date": "2026-12-02",
            "exchange_rate": "1",
            "notes": "Initech notes",
            "discount_type": "",
            "discount_value": "0",
            "supplier_unique_code": "B-NEW-1",
            "comment": "Initech comment",
            "description": "Initech line",
            "quantity": "10",
            "unit_price": "5",
            "tax_rate": "0",
            "custom_fields": "P-2",
            "amount": "5.00",
            "paid_on": "2026-11-20",
            "method": "cheque",
            "reference": "B-REF-2",
            "reason": "Initech reason",
            "date_from": str(today - dt.timedelta(days=5)),
            "date_to": str(today - dt.timedelta(days=1)),
            "username": user.username,
            "password": PASSWORD,
        },
    }


def build_world() -> World:
    a, b = build_company_a(), build_company_b()
    # B's rows are made after A's, so in every table B's ids are above A's: an id of A's put where an
    # id of that table goes is never also one of B's.
    for kind, ids in b["refs"].items():
        assert ids > max(a["ids"][kind]), kind
    return World(
        a=a["company"],
        b=b["company"],
        a_ids=a["ids"],
        b_ids=b["ids"],
        a_refs=a["refs"],
        b_refs=b["refs"],
        b_targets=b["targets"],
        a_texts=a["texts"],
        b_texts=b["texts"],
        a_markers=a["markers"],
        a_secrets=a["secrets"],
        a_usernames=a["usernames"],
        b_user=b["user"],
        b_personas=b["personas"],
    )


@pytest.fixture(scope="module")
def shared_world(django_db_setup: None, django_db_blocker: Any) -> Iterator[World]:
    """The two companies, built once for this module inside a transaction that is rolled back at its
    end; each test runs in a savepoint within it (pytest-django's ``db``), so none sees another's
    writes and nothing outlives the module."""
    with django_db_blocker.unblock():
        outer = transaction.atomic()
        outer.__enter__()
        try:
            with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
                built = build_world()
        except BaseException:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)
            raise
    yield built
    with django_db_blocker.unblock():
        transaction.set_rollback(True)
        outer.__exit__(None, None, None)


@pytest.fixture
def world(shared_world: World, db: None) -> World:
    return shared_world


# ---------------------------------------------------------------- what must hold after each request


def _company_lookup(model: type[models.Model], depth: int = 0) -> str | None:
    """The ORM path from ``model`` to its company's id, e.g. ``document__company_id``."""
    if model is Company:
        return "pk"
    fields = [f for f in model._meta.concrete_fields if f.is_relation and f.related_model is not None]
    for f in fields:
        if f.name == "company":
            return "company_id"
    if depth < 2:
        for f in fields:
            below = _company_lookup(f.related_model, depth + 1)  # type: ignore[arg-type]
            if below is not None:
                return f"{f.name}__{below}" if below != "pk" else f"{f.name}_id"
    return None


TENANT_APPS = {"accounts", "procurement", "payments", "quickbooks", "authtoken"}
TENANT_MODELS = {
    model: lookup
    for model in apps.get_models()
    if model._meta.app_label in TENANT_APPS and not model._meta.proxy and (lookup := _company_lookup(model)) is not None
}


# B trying A's usernames on the token endpoint is on A's audit trail by design: A's Admins see
# the failed logins on their accounts. Every other audit entry counts as a change.
ATTEMPTS_ON_ACCOUNTS = {"login failed", "locked out"}


def company_rows(company_id: int) -> dict[str, list[dict[str, Any]]]:
    """Every row a company owns, in every app, column by column."""
    rows = {}
    for model, lookup in TENANT_MODELS.items():
        owned = model._default_manager.filter(**{lookup: company_id})
        if model is AuditEntry:
            owned = owned.exclude(action__in=ATTEMPTS_ON_ACCOUNTS)
        rows[model._meta.label] = list(owned.order_by("pk").values())
    return rows


def cross_company_links(one: int, other: int) -> list[str]:
    """Rows of one company that point at a row of the other, in either direction."""
    found = []
    for model, lookup in TENANT_MODELS.items():
        for f in model._meta.concrete_fields:
            target = f.related_model
            if not f.is_relation or target is Company or target not in TENANT_MODELS:
                continue
            if lookup.startswith(f"{f.name}__"):  # the relation that says whose the row is
                continue
            target_lookup = TENANT_MODELS[target]
            far = f"{f.name}__{target_lookup}" if target_lookup != "pk" else f"{f.name}_id"
            for mine, theirs in ((one, other), (other, one)):
                if model._default_manager.filter(**{lookup: mine, far: theirs}).exists():
                    found.append(f"{model._meta.label}.{f.name} of company {mine} points into company {theirs}")
    return found


def rows_written() -> int | None:
    """Rows inserted, updated or deleted so far on this connection (SQLite; None elsewhere)."""
    if connection.vendor != "sqlite":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT total_changes()")
        return int(cursor.fetchone()[0])


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(key)
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


# ---------------------------------------------------------------- the fuzzer

NO_BODY = object()


@dataclass
class Fuzzer:
    world: World
    client: APIClient
    a_before: dict[str, list[dict[str, Any]]]
    b_before: dict[str, list[dict[str, Any]]]
    problems: list[str] = field(default_factory=list)
    requests: Counter[str] = field(default_factory=Counter)

    def call(
        self,
        family: str,
        method: str,
        url: str,
        body: Any = NO_BODY,
        query: dict[str, Any] | None = None,
    ) -> Any:
        """One request in a savepoint that is rolled back; every invariant checked before that.

        Each request is rolled back, so before it both companies' rows are as at the start; they are
        compared again whenever the database saw a write (every time where that can't be told)."""
        full_url = f"{url}?{urlencode(query)}" if query else url
        label = f"{method} {full_url} {json.dumps(body) if body is not NO_BODY else ''}".strip()
        self.requests[family] += 1
        with transaction.atomic():
            writes = rows_written()
            try:
                if body is NO_BODY:
                    response = self.client.generic(method, full_url)
                else:
                    response = self.client.generic(method, full_url, json.dumps(body), "application/json")
            except Exception as exc:  # a 500: the view raised
                self.problems.append(f"{label}: raised {exc!r}")
                transaction.set_rollback(True)
                return None
            ok = 200 <= response.status_code < 300
            wrote = writes is None or rows_written() != writes
            if response.status_code >= 500:
                self.problems.append(f"{label}: {response.status_code}")
            if ok and response.status_code == 201 and not wrote:
                self.problems.append(f"{label}: created something, but rows_written() saw no write")
            if wrote:
                if company_rows(self.world.a.pk) != self.a_before:
                    self.problems.append(f"{label}: changed company A's rows")
                if method in ("GET", "HEAD", "OPTIONS") or not ok:
                    if company_rows(self.world.b.pk) != self.b_before:
                        self.problems.append(f"{label}: answered {response.status_code} but changed B's rows")
                else:
                    links = cross_company_links(self.world.a.pk, self.world.b.pk)
                    self.problems += [f"{label}: {link}" for link in links]
            sent = [*_strings(body), *_strings(query or {})] if ok else []
            self.problems += [f"{label}: {leak}" for leak in self.leaks(response, sent)]
            transaction.set_rollback(True)
        return response

    def leaks(self, response: Any, sent: list[str]) -> list[str]:
        text = response.content.decode("utf-8", "replace") + "".join(f"\n{k}: {v}" for k, v in response.items())
        lowered = text.lower()
        for echo in sorted(sent, key=len, reverse=True):  # what B sent and had accepted is B's now
            lowered = lowered.replace(echo.lower(), "")
        found = [secret for secret in self.world.a_secrets if secret.lower() in lowered]
        if MARK in lowered:
            at = lowered.index(MARK)
            found.append(f"…{text[max(0, at - 60) : at + 60]}…")
        return [f"{response.status_code} shows company A's data: {item}" for item in found]

    def expect(self, response: Any, label: str, check: Callable[[Any], None]) -> None:
        if response is None:
            return
        try:
            check(response)
        except AssertionError as exc:
            self.problems.append(f"{label}: {str(exc)[:400]}")


def _not_found(response: Any) -> None:
    assert_error(response, 404, code="not_found")


def _same_as(reference: Any) -> Callable[[Any], None]:
    def check(response: Any) -> None:
        assert (response.status_code, response.content) == (reference.status_code, reference.content), (
            f"answers {response.status_code} {response.content[:200]!r}, an id that exists nowhere "
            f"{reference.status_code} {reference.content[:200]!r}"
        )

    return check


def _refused(error_field: str) -> Callable[[Any], None]:
    def check(response: Any) -> None:
        if response.status_code == 404:
            assert_error(response, 404, code="not_found")
        else:  # invalid input: 400 (or 409/422, should the API use them for a refused value)
            assert response.status_code in (400, 409, 422), response.status_code
            assert_error(response, response.status_code, error_field)

    return check


def _refusal(response: Any) -> None:
    assert 400 <= response.status_code < 500, response.status_code
    assert_error(response, response.status_code)


def _accepted(response: Any) -> None:
    assert 200 <= response.status_code < 300, response.content[:400]


def _rows_of_b(world: World, kind: str, empty: bool = False, some: bool = False) -> Callable[[Any], None]:
    def check(response: Any) -> None:
        assert response.status_code == 200, response.content[:400]
        body = response.json()
        ids = {row["id"] for row in body["results"]}
        assert ids <= set(world.b_ids[kind]), f"rows {ids} are not all B's {world.b_ids[kind]}"
        if empty:
            assert body["count"] == 0 and not ids, body
        if some:
            assert ids, "B's own rows are missing, so an empty answer would prove nothing"

    return check


def _url(op: Operation, pk: Any) -> str:
    return op.path.replace("{id}", str(pk))


def fuzz_operation(plan: Plan, world: World, fuzzer: Fuzzer) -> None:
    op, call, expect = plan.op, fuzzer.call, fuzzer.expect
    a_body = build_body(op.body, world.a_texts, lambda p, k: world.a_refs[k]) if op.body else NO_BODY
    b_body = build_body(op.body, world.b_texts, lambda p, k: world.b_refs[k]) if op.body else NO_BODY

    if plan.category == "object":
        # A's ids in the path: 404, exactly as for an id that exists nowhere, whatever comes with it.
        bodies = [NO_BODY] if op.method == "GET" else [NO_BODY, {}, a_body, b_body]
        queries: list[dict[str, Any] | None] = [None]
        queries += [{name: value} for name, values in plan.query_enums for value in values]
        for body in bodies:
            for query in queries:
                nowhere = call("missing id", op.method, _url(op, MISSING_ID), body, query)
                ids = [*world.a_ids[plan.kind], f"0{world.a_ids[plan.kind][0]}"]
                for pk in ids:
                    response = call("A's id in the path", op.method, _url(op, pk), body, query)
                    expect(response, f"{op.op_id} with A's id {pk}", _not_found)
                    if nowhere is not None:
                        expect(response, f"{op.op_id} with A's id {pk}", _same_as(nowhere))

    target = _url(op, world.b_targets[plan.resource]) if plan.category == "object" else op.path
    if plan.slots:
        # B's own valid request is accepted (so a refusal below is about the one id of A's in it) ...
        expect(call("B's own request", op.method, target, b_body), f"{op.op_id} B's own body", _accepted)
        # ... and with any one id in it swapped for one of A's, refused.
        assert op.body is not None
        for slot, kind in plan.slots:
            for pk in world.a_ids[kind]:

                def one_of_a(path: str, kind: str, slot: str = slot, pk: int = pk) -> int:
                    return pk if path == slot else world.b_refs[kind]

                body = build_body(op.body, world.b_texts, one_of_a)
                label = f"{op.op_id} with A's {kind} {pk} as {slot}"
                response = call("A's id in B's body", op.method, target, body)
                if (plan.resource, slot) in IGNORED_REFERENCES:
                    expect(response, label, _accepted)
                    continue
                error_field = f"{slot}.{pk}" if slot.endswith(tuple(KEYED_REFERENCE_FIELDS)) else slot
                expect(response, label, _refused(error_field))

    if op.method == "GET" and plan.category == "collection":
        # B's lists hold B's rows only, however they are filtered; filters naming A's ids find nothing.
        expect(call("B's list", "GET", op.path), f"{op.op_id}", _rows_of_b(world, plan.kind, some=True))
        for name, kind in plan.query_refs:
            response = call("B's id in a filter", "GET", op.path, query={name: world.b_refs[kind]})
            expect(response, f"{op.op_id}?{name}=B's", _rows_of_b(world, plan.kind, some=True))
            for pk in world.a_ids[kind]:
                response = call("A's id in a filter", "GET", op.path, query={name: pk})
                expect(response, f"{op.op_id}?{name}={pk}", _rows_of_b(world, plan.kind, empty=True))
        for name in plan.query_texts:
            for marker in world.a_markers:
                response = call("A's text in a filter", "GET", op.path, query={name: marker})
                expect(response, f"{op.op_id}?{name}={marker}", _rows_of_b(world, plan.kind, empty=True))
        for name, values in plan.query_enums:
            for value in values:
                response = call("filter value", "GET", op.path, query={name: value})
                expect(response, f"{op.op_id}?{name}={value}", _rows_of_b(world, plan.kind))
        for name, sort in plan.query_values:
            for value in ("true", "false") if sort == "boolean" else (world.a_texts["issue_date"],):
                response = call("filter value", "GET", op.path, query={name: value})
                expect(response, f"{op.op_id}?{name}={value}", _rows_of_b(world, plan.kind))

    if plan.writes and plan.category != "caller":
        # A's texts as B's own data, on B's objects: taken as B's (no "already exists" about A's).
        a_texts_b_refs = build_body(op.body, world.a_texts, lambda p, k: world.b_refs[k]) if op.body else NO_BODY
        response = call("A's texts in B's body", op.method, target, a_texts_b_refs)
        if plan.category == "collection" or op.method in ("PUT", "PATCH"):
            expect(response, f"{op.op_id} with A's texts", _accepted)

    if plan.category == "caller":
        _caller_checks(plan, world, fuzzer, a_body, b_body)


def _caller_checks(plan: Plan, world: World, fuzzer: Fuzzer, a_body: Any, b_body: Any) -> None:
    op = plan.op
    if op.op_id == "auth_token_create":
        # A's usernames with the password B knows: the answer is the one for a user that doesn't exist.
        nowhere = fuzzer.call("credentials", op.method, op.path, {**b_body, "username": "nobody-anywhere"})
        fuzzer.expect(nowhere, "unknown username", _refusal)
        for username in world.a_usernames:
            response = fuzzer.call("credentials", op.method, op.path, {**a_body, "username": username})
            fuzzer.expect(response, f"token for A's {username}", _same_as(nowhere))
        fuzzer.expect(fuzzer.call("credentials", op.method, op.path, b_body), "B's own token", _accepted)
    elif op.op_id == "auth_token_destroy":
        response = fuzzer.call("about the caller", op.method, op.path)
        fuzzer.expect(response, "B revokes its own token", _accepted)
    elif op.method == "GET":
        response = fuzzer.call("about the caller", op.method, op.path)
        fuzzer.expect(response, op.op_id, _accepted)
    else:
        raise Unclassified(f"{op.op_id}: a caller operation without checks in _caller_checks")


# ---------------------------------------------------------------- the tests


def test_given_the_api_schema_when_its_operations_are_enumerated_then_each_is_fuzzed_or_skipped_for_a_reason(
    world: World,
) -> None:
    plans = {op.op_id: plan_for(op) for op in OPERATIONS}  # raises Unclassified for anything unknown
    assert len(plans) == len(OPERATIONS), "operation ids are not unique"
    assert set(SKIPPED_OPERATIONS) <= set(plans), "a skipped operation is no longer in the schema"
    assert all(reason.strip() for reason in SKIPPED_OPERATIONS.values())
    assert set(CALLER_OPERATIONS) <= set(plans), "a caller operation is no longer in the schema"
    # Every route and method of the URLconf is an operation of the schema, so no view escapes the fuzz
    # by being left out of the schema.
    registered = set()
    for pattern in urlpatterns:
        view = getattr(pattern.callback, "view_class", None)
        if view is None:  # the JSON 404 for unknown URLs
            continue
        registered |= {(pattern.name, m.upper()) for m in ("get", "post", "put", "patch", "delete") if hasattr(view, m)}
    in_schema = {(resolve(op.path.replace("{id}", "1")).url_name, op.method) for op in OPERATIONS}
    assert in_schema == registered
    # The schema served to clients lists the same operations as the one enumerated here.
    served = client_with_token(world.b_user).get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert served.status_code == 200
    assert {(op.op_id, op.method, op.path) for op in operations_of(served.json())} == {
        (op.op_id, op.method, op.path) for op in OPERATIONS
    }
    fuzzed = len(plans) - len(SKIPPED_OPERATIONS)
    print(f"{len(plans)} operations in the schema, {fuzzed} fuzzed, {len(SKIPPED_OPERATIONS)} skipped")
    assert fuzzed == len(registered) - len(SKIPPED_OPERATIONS)


@pytest.mark.parametrize("op", OPERATIONS, ids=[op.op_id for op in OPERATIONS])
def test_given_company_a_data_when_company_b_calls_the_operation_with_a_ids_and_payloads_then_nothing_leaks(
    op: Operation, world: World
) -> None:
    if op.op_id in SKIPPED_OPERATIONS:
        pytest.skip(SKIPPED_OPERATIONS[op.op_id])
    plan = plan_for(op)
    everything_before = db_snapshot()
    client = client_with_token(world.b_user)
    fuzzer = Fuzzer(world, client, a_before=company_rows(world.a.pk), b_before=company_rows(world.b.pk))

    fuzz_operation(plan, world, fuzzer)

    print(f"{op.op_id}: {sum(fuzzer.requests.values())} requests {dict(fuzzer.requests)}")
    assert sum(fuzzer.requests.values()) > 0
    assert not fuzzer.problems, "\n".join(fuzzer.problems)
    assert company_rows(world.a.pk) == fuzzer.a_before
    assert db_snapshot() == everything_before


@pytest.mark.parametrize("persona", ["Create", "Approve", "Payment", "Admin", "no role"])
def test_given_a_company_b_user_with_one_role_when_naming_a_ids_then_the_answer_is_that_for_a_missing_id(
    persona: str, world: World
) -> None:
    """Whatever B's role, an id of A's is answered like an id that exists nowhere (404, or the 403 the
    role gets anyway), on every operation with an id and on every method the path doesn't document."""
    client = client_with_token(world.b_personas[persona])
    a_before, b_before, everything_before = company_rows(world.a.pk), company_rows(world.b.pk), db_snapshot()
    documented: dict[str, set[str]] = {}
    for op in OPERATIONS:
        documented.setdefault(op.path, set()).add(op.method)
    problems, requests = [], 0
    for path, methods in documented.items():
        if "{id}" not in path:
            continue
        kind = plan_for(next(op for op in OPERATIONS if op.path == path)).kind
        for method in sorted(methods | {"HEAD", "OPTIONS", "DELETE", "PUT", "PATCH", "POST", "GET"}):
            nowhere = client.generic(method, path.replace("{id}", str(MISSING_ID)), "{}", "application/json")
            for pk in world.a_ids[kind] if method in methods else world.a_ids[kind][:1]:
                response = client.generic(method, path.replace("{id}", str(pk)), "{}", "application/json")
                requests += 1
                same = (response.status_code, response.content) == (nowhere.status_code, nowhere.content)
                allowed = {403, 404} if method in methods else {403, 404, 405, 200}  # 200: OPTIONS
                if not same or response.status_code not in allowed:
                    problems.append(f"{method} {path} A's {pk}: {response.status_code} {response.content[:200]!r}")
                if MARK in response.content.decode("utf-8", "replace").lower():
                    problems.append(f"{method} {path} A's {pk}: shows A's data {response.content[:200]!r}")

    print(f"{persona}: {requests} requests")
    assert problems == []
    assert company_rows(world.a.pk) == a_before
    assert company_rows(world.b.pk) == b_before
    assert db_snapshot() == everything_before


def test_given_company_a_when_its_data_is_planted_then_every_marker_and_kind_is_there(world: World) -> None:
    """The fuzz is only as good as A's data: every kind the API exposes, with the mark on its texts."""
    rows = company_rows(world.a.pk)
    for label in (
        "procurement.Supplier",
        "procurement.Document",
        "procurement.DocumentLine",
        "procurement.CustomFieldValue",
        "procurement.DocumentEvent",
        "payments.Payment",
        "quickbooks.PaymentImportRun",
        "quickbooks.ReconciliationRun",
        "quickbooks.Connection",
        "authtoken.Token",
    ):
        assert rows[label], f"company A has no {label}"
    statuses = {row["status"] for row in rows["procurement.Document"]}
    assert statuses == {
        "draft", "pending", "approved", "rejected", "in_revision", "cancelled", "partly_paid", "paid", "partly_applied",
        "applied",
    }
    assert {row["kind"] for row in rows["procurement.Document"]} == set(DocumentKind.values)
    assert any(row["credit_note_id"] for row in rows["payments.Payment"])
    dumped = json.dumps(rows, default=str).lower()
    assert all(marker.lower() in dumped for marker in world.a_markers)
    assert all(MARK in marker.lower() for marker in world.a_markers)
    b_dumped = json.dumps(company_rows(world.b.pk), default=str).lower()
    assert MARK not in b_dumped
    assert set(world.a_ids) >= {kind for _, kind in REFERENCE_FIELDS.items()} | set(ID_RESOURCES.values())
