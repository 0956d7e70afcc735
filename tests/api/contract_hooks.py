"""Schemathesis hooks for the contract run (the CLI loads them through SCHEMATHESIS_HOOKS).

Test data, not leniency: a generated body names a supplier, invoice or list option by a random id,
which is almost never one of the demo company's, so every create would be refused (422) and the
stateful phase would never reach submit → approve → revise. ``map_body`` puts the demo company's
real ids where a body names one, the way an integrator's client would, and changes nothing else:
a value of the wrong type (a negative case) is left as it was generated, so the case stays one.

``map_case`` goes one step further for the stateful phase's valid cases only: a document body
that keeps the business rules no schema can say (a date in this century, the supplier's own
currency, a due date after the issue date, a positive quantity, a supplier code), so scenarios
walk the workflow through the schema's links. The coverage and fuzzing phases keep their wholly
random bodies. Schemathesis re-validates a case after a hook, so its mode stays truthful.
"""

from __future__ import annotations

import itertools
import os
from functools import cache
from typing import Any

import httpx
import schemathesis

INT64_MAX = 2**63 - 1
LIST_REFERENCES = ("account", "class", "customer_project", "item", "tax_code")
DOCUMENT_BODIES = tuple(
    f"/{kind}/{suffix}" for kind in ("invoices", "purchase-orders", "credit-notes") for suffix in ("", "{id}/")
)


@cache
def _ids() -> dict[str, list[int]]:
    """The demo company's suppliers (in its home currency) and payable invoices, read once."""
    base, token = os.environ["CONTRACT_BASE_URL"], os.environ["CONTRACT_TOKEN"]
    headers = {"Authorization": f"Token {token}"}

    def ids(path: str, keep: Any) -> list[int]:
        rows = httpx.get(f"{base}/api/v1/{path}", headers=headers, timeout=30).json()["results"]
        return [row["id"] for row in rows if keep(row)] or [1]

    return {
        "supplier": ids("suppliers/?active=true", lambda row: row["currency"] == "USD"),
        "invoice": ids("invoices/", lambda row: row["status"] in ("approved", "partly_paid")),
    }


def _an_id(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and abs(value) <= INT64_MAX


@schemathesis.hook
def map_body(context: schemathesis.HookContext, body: Any) -> Any:
    if not isinstance(body, dict) or context.operation is None:
        return body
    path = context.operation.path
    if path.endswith(DOCUMENT_BODIES):
        if _an_id(body.get("supplier")):
            body["supplier"] = _ids()["supplier"][body["supplier"] % len(_ids()["supplier"])]
        for reference in ("purchase_order", "credited_invoice"):  # another supplier's, most likely
            if _an_id(body.get(reference)):
                body[reference] = None
        lines = body.get("lines")
        for line in lines if isinstance(lines, list) else []:
            for name in LIST_REFERENCES:
                if isinstance(line, dict) and _an_id(line.get(name)):
                    line[name] = None
    if path.endswith("/payments/") and _an_id(body.get("invoice")):
        body["invoice"] = _ids()["invoice"][body["invoice"] % len(_ids()["invoice"])]
    return body


_codes = itertools.count(1)


@schemathesis.hook
def map_case(context: schemathesis.HookContext, case: schemathesis.Case) -> schemathesis.Case:
    meta = case.meta
    stateful_and_valid = meta is not None and meta.phase.name == "stateful" and meta.generation.mode.is_positive
    if not stateful_and_valid or not isinstance(case.body, dict) or not case.path.endswith(DOCUMENT_BODIES):
        return case
    body = case.body
    body.update(issue_date="2026-11-02", due_date=None, currency="", exchange_rate=None)
    body.update(discount_type="", discount_value="0", supplier_unique_code=f"CT-{os.getpid()}-{next(_codes)}")
    lines = body.get("lines")
    for line in lines if isinstance(lines, list) else []:
        if isinstance(line, dict):
            line.update(quantity="1", discount_type="", discount_value="0", tax_rate="0")
            line["description"] = str(line.get("description") or "").strip() or "Contract test line"
    return case
