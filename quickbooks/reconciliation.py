"""Reconciliation: what procuresync says QuickBooks should hold for one company, against what it holds.

The desired state, per document of the kind the company sends (Bills or PurchaseOrders):

- approved (Approved / Partly Paid / Paid) and not Historical / Internal: in QuickBooks, exactly
  once, holding the payload ``payload_for(document_snapshot(...))`` builds — the same code the
  delivery sends, so there is no second mapping to drift;
- revised since an approval (In Revision, or Pending again): QuickBooks keeps the last approved
  revision, so it must exist (once), but its fields are not compared;
- cancelled, rejected, or never approved: not in QuickBooks.

QuickBooks is read in bulk, never per document: the transactions by ``DocNumber IN (...)`` (which
also finds extra copies: ours carry ``our_marker`` in PrivateNote, which QBO cannot filter on, so it
is compared on the rows), the links not found that way by ``Id IN (...)``, then the bill payments
linked to our bills (and those we hold as active) by ``Id IN (...)``. Each query takes at most 1,000
values, is sent as a POST (a thousand ids do not fit in a URL) and is paged.

What QuickBooks applied to each bill is computed by ``quickbooks.inbound.feed.parts_of``, the code
the payments import uses, and compared with the payments here, part by part.

Nothing here writes: the result is a list of ``Difference`` rows, each with the fix that fits.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import models
from django.db.models import Sum

from payments.models import Payment, PaymentStatus, Source
from payments.services import payment_status_for
from procurement.models import Document, DocumentKind, Status
from procurement.workflow import APPROVED_STATUSES, FINAL_STATUSES
from quickbooks.client import MAX_RESULTS, QboClient, quote
from quickbooks.errors import NotMappable
from quickbooks.export.mapping import entity_for, our_marker, payload_for
from quickbooks.export.snapshots import document_snapshot
from quickbooks.inbound.feed import parts_of
from quickbooks.models import Connection, DocumentSync, SyncStatus, VendorLink
from quickbooks.selectors import qbo_bill_link, qbo_txn_link

ID_CHUNK = 1000  # ids per "Id IN (...)" query: QBO's page size
NUMBER_CHUNK = 990  # numbers per "DocNumber IN (...)" query: a page, less room for extra copies
CENT = Decimal("0.01")
CLOCK_SKEW = dt.timedelta(minutes=2)
PROGRESS_EVERY = 200  # documents between progress reports


class DifferenceKind(models.TextChoices):
    """What is different, in the words the Reconciliation page shows."""

    MISSING = "missing", "Missing in QuickBooks"
    DELETED = "deleted", "Deleted in QuickBooks"
    DUPLICATE = "duplicate", "More than one copy in QuickBooks"
    DOC_NUMBER = "doc_number", "Number differs"
    VENDOR = "vendor", "Vendor differs"
    DATE = "date", "Date differs"
    CURRENCY = "currency", "Currency differs"
    LINES = "lines", "Lines differ"
    TOTAL = "total", "Total differs"
    OTHER = "other", "Other fields differ"
    EDITED = "edited", "Edited in QuickBooks since we wrote it"
    SHOULD_NOT_BE = "should_not_be", "In QuickBooks but should not be"
    PAYMENT_NOT_HERE = "payment_not_here", "Payment active in QuickBooks, not here"
    PAYMENT_GONE = "payment_gone", "Payment active here, voided or deleted in QuickBooks"
    PAYMENT_AMOUNT = "payment_amount", "Payment amount differs"
    STATUS = "status", "Status here disagrees with the payments"


class Fix(models.TextChoices):
    """What one click does about a difference."""

    SEND_AGAIN = "send_again", "Send ours again"
    IMPORT_PAYMENTS = "import_payments", "Import payments"
    RECOMPUTE_STATUS = "recompute_status", "Recompute the status"
    OPEN_IN_QBO = "open_in_qbo", "Open in QuickBooks"
    NONE = "none", "Nothing to click"


# Fixes procuresync applies itself (the others need a person in QuickBooks, or nothing can be done).
APPLICABLE_FIXES = frozenset({Fix.SEND_AGAIN, Fix.IMPORT_PAYMENTS, Fix.RECOMPUTE_STATUS})


@dataclass(frozen=True)
class Difference:
    document_id: int
    number: str
    kind: DifferenceKind
    message: str
    fix: Fix
    qbo_id: str = ""
    qbo_url: str = ""
    payment_ids: tuple[str, ...] = ()  # bill payments an "Import payments" fix refreshes
    gone_from_qbo: bool = False  # "Send ours again" must clear the link first

    def as_row(self) -> dict[str, Any]:
        return {
            "document_id": self.document_id,
            "number": self.number,
            "kind": self.kind.value,
            "message": self.message,
            "fix": self.fix.value,
            "qbo_id": self.qbo_id,
            "qbo_url": self.qbo_url,
            "payment_ids": list(self.payment_ids),
            "gone_from_qbo": self.gone_from_qbo,
            "fixed": "",
        }


@dataclass
class Report:
    documents_checked: int = 0
    api_calls: int = 0
    differences: list[Difference] = field(default_factory=list)

    @property
    def calls_per_thousand(self) -> float | None:
        if not self.documents_checked:
            return None
        return round(self.api_calls * 1000 / self.documents_checked, 1)


# (phase, documents checked, documents in all, QuickBooks calls so far)
Progress = Callable[[str, int, int, int], None]


class _Want(enum.Enum):
    PRESENT = "present"  # in QuickBooks with our payload
    HELD = "held"  # in QuickBooks with the last approved revision (not compared field by field)
    ABSENT = "absent"  # not in QuickBooks
    SKIP = "skip"  # not ours to judge (Historical, Internal)


def desired_state(document: Document, sync: DocumentSync | None) -> _Want:
    if document.status in FINAL_STATUSES:
        return _Want.ABSENT
    if document.status in APPROVED_STATUSES:
        if sync is not None and sync.status in (SyncStatus.HISTORICAL, SyncStatus.INTERNAL):
            return _Want.SKIP
        return _Want.PRESENT
    # Draft, Pending, In Revision. A revision number above 0 means it was approved before (only an
    # approved document can be revised): QuickBooks keeps that revision until the next approval.
    return _Want.HELD if document.revision > 0 else _Want.ABSENT


def _doc_number(document: Document) -> str:
    """The DocNumber a document is sent with (``mapping``: the Supplier Unique Code of an invoice,
    our number for a PO); used to look for copies of documents we do not build a payload for."""
    return document.supplier_unique_code if document.kind == DocumentKind.INVOICE else document.number


def is_marked(row: dict[str, Any], marker: str) -> bool:
    """Does the row carry our marker (exactly, or followed by a space / line a person added)?"""
    note = str(row.get("PrivateNote") or "")
    if not note.startswith(marker):
        return False
    rest = note[len(marker) :]
    return rest == "" or rest[0].isspace()


# ---------------------------------------------------------------------------------------- reading


def _query(client: QboClient, entity: str, where: str, *, at_most: int | None = None) -> Iterator[dict[str, Any]]:
    """Every row of ``entity`` matching ``where``, page by page, sent as POST (application/text)
    so that a thousand values never meet a URL length limit. ``at_most``: no more rows can match
    (one per Id asked for), so a full page needs no empty page after it."""
    start, seen = 1, 0
    while True:
        sql = f"SELECT * FROM {entity} WHERE {where} ORDERBY Id STARTPOSITION {start} MAXRESULTS {MAX_RESULTS}"
        answer = client.request("POST", "query", body=sql, content_type="application/text")
        page = (answer.get("QueryResponse") or {}).get(entity, [])
        yield from page
        seen += len(page)
        if len(page) < MAX_RESULTS or (at_most is not None and seen >= at_most):
            return
        start += MAX_RESULTS


def read_in(client: QboClient, entity: str, field_name: str, values: Iterable[str]) -> dict[str, dict[str, Any]]:
    """Rows of ``entity`` whose ``field_name`` is one of ``values``, by Id.

    Ids are asked 1,000 a query (one row each at most). Numbers are asked 990 a query: one row
    each in the usual case, so a page is not full and needs no second one, with room for a few
    extra copies before it does.
    """
    by_id = field_name == "Id"
    chunk = ID_CHUNK if by_id else NUMBER_CHUNK
    wanted = sorted({v for v in values if v})
    rows: dict[str, dict[str, Any]] = {}
    for start in range(0, len(wanted), chunk):
        part = wanted[start : start + chunk]
        listed = ", ".join(quote(v) for v in part)
        for row in _query(client, entity, f"{field_name} IN ({listed})", at_most=len(part) if by_id else None):
            rows[str(row.get("Id"))] = row
    return rows


# ---------------------------------------------------------------------------------------- comparing


def _money(value: object) -> Decimal:
    try:
        return Decimal(str(value if value is not None else 0)).quantize(CENT)
    except InvalidOperation:
        return Decimal("0")


def _number(value: object) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value)).normalize()
    except InvalidOperation:
        return None


def _ref(obj: dict[str, Any] | None, key: str) -> str:
    value = (obj or {}).get(key)
    return str(value.get("value", "")) if isinstance(value, dict) else ""


def _ref_name(obj: dict[str, Any] | None, key: str) -> str:
    value = (obj or {}).get(key)
    return str(value.get("name", "")) if isinstance(value, dict) else ""


_LINE_REFS = (
    ("AccountRef", "account"),
    ("ItemRef", "product"),
    ("ClassRef", "class"),
    ("CustomerRef", "customer"),
    ("TaxCodeRef", "tax code"),
)

TAX_CODE = 4  # position of TaxCodeRef in _LINE_REFS


def _line_view(line: dict[str, Any]) -> tuple[Any, ...]:
    kind = str(line.get("DetailType", ""))
    detail = line.get(kind) or {}
    refs = tuple(_ref(detail, key) for key, _ in _LINE_REFS)
    return (
        kind,
        str(line.get("Description") or ""),
        _money(line.get("Amount")),
        refs,
        _number(detail.get("Qty")),
        _number(detail.get("UnitPrice")),
    )


def _describe_line(view: tuple[Any, ...]) -> str:
    _kind, description, amount, refs, qty, unit_price = view
    parts = [f"“{description}”", f"{amount:,.2f}"]
    if qty is not None:
        parts.append(f"{qty:f} × {unit_price:f}" if unit_price is not None else f"qty {qty:f}")
    parts += [f"{label} {value}" for (_, label), value in zip(_LINE_REFS, refs, strict=True) if value]
    return " ".join(parts)


def compare(payload: dict[str, Any], row: dict[str, Any], *, home_currency: str) -> list[tuple[DifferenceKind, str]]:
    """The fields QuickBooks holds that differ from what we would send, as (kind, message) with
    both values. Only what we send is compared: QuickBooks' own fields (Balance, links to
    payments) are not differences."""
    out: list[tuple[DifferenceKind, str]] = []

    def both(what: str, theirs: object, ours: object) -> str:
        return f"{what}: QuickBooks has {theirs or '(none)'}, procuresync {ours or '(none)'}."

    ours_number, theirs_number = str(payload.get("DocNumber") or ""), str(row.get("DocNumber") or "")
    if ours_number != theirs_number:
        out.append((DifferenceKind.DOC_NUMBER, both("Number", theirs_number, ours_number)))

    ours_vendor, theirs_vendor = _ref(payload, "VendorRef"), _ref(row, "VendorRef")
    if ours_vendor != theirs_vendor:
        name = _ref_name(row, "VendorRef")
        theirs_text = f"vendor {theirs_vendor}" + (f" “{name}”" if name else "")
        ours_text = f"vendor {ours_vendor}" if ours_vendor else "vendor not linked yet"
        out.append((DifferenceKind.VENDOR, both("Vendor", theirs_text, ours_text)))

    for key, what in (("TxnDate", "Date"), ("DueDate", "Due date")):
        ours_date = str(payload.get(key) or "")
        theirs_date = str(row.get(key) or "")[:10]
        if key == "DueDate" and not ours_date:
            continue  # QuickBooks fills in a due date from the terms when none is sent
        if ours_date != theirs_date:
            out.append((DifferenceKind.DATE, both(what, theirs_date, ours_date)))

    ours_currency = _ref(payload, "CurrencyRef") or home_currency
    theirs_currency = _ref(row, "CurrencyRef") or home_currency
    if ours_currency.upper() != theirs_currency.upper():
        out.append((DifferenceKind.CURRENCY, both("Currency", theirs_currency, ours_currency)))
    elif "ExchangeRate" in payload and _number(row.get("ExchangeRate")) != _number(payload["ExchangeRate"]):
        out.append((DifferenceKind.CURRENCY, both("Exchange rate", row.get("ExchangeRate"), payload["ExchangeRate"])))

    ours_lines = [_line_view(line) for line in payload.get("Line", [])]
    theirs_lines = [
        _line_view(line)
        for line in row.get("Line", []) or []
        if str(line.get("DetailType", "")) in ("AccountBasedExpenseLineDetail", "ItemBasedExpenseLineDetail")
    ]
    if len(ours_lines) != len(theirs_lines):
        out.append((DifferenceKind.LINES, both("Lines", f"{len(theirs_lines)} line(s)", f"{len(ours_lines)} line(s)")))
    else:
        for number, (theirs_line, ours_line) in enumerate(zip(theirs_lines, ours_lines, strict=True), start=1):
            if not ours_line[3][TAX_CODE]:
                # QuickBooks puts its default tax code (e.g. NON) on lines sent without one.
                refs = list(theirs_line[3])
                refs[TAX_CODE] = ""
                theirs_line = (*theirs_line[:3], tuple(refs), *theirs_line[4:])
            if theirs_line != ours_line:
                message = both(f"Line {number}", _describe_line(theirs_line), _describe_line(ours_line))
                out.append((DifferenceKind.LINES, message))

    ours_total = sum((_money(line.get("Amount")) for line in payload.get("Line", [])), Decimal("0"))
    theirs_total = _money(row.get("TotalAmt"))
    if ours_total != theirs_total:
        out.append((DifferenceKind.TOTAL, both("Total", f"{theirs_total:,.2f}", f"{ours_total:,.2f}")))

    others = [("APAccountRef", "A/P account"), ("DepartmentRef", "Location")]
    for key, what in others:
        ours_ref, theirs_ref = _ref(payload, key), _ref(row, key)
        if key == "APAccountRef" and not ours_ref:
            continue  # QuickBooks' default A/P account, whichever it is
        if ours_ref != theirs_ref:
            out.append((DifferenceKind.OTHER, both(what, theirs_ref, ours_ref)))
    ours_pos = sorted(str(t.get("TxnId")) for t in payload.get("LinkedTxn", []) if t.get("TxnType") == "PurchaseOrder")
    theirs_pos = sorted(
        str(t.get("TxnId")) for t in row.get("LinkedTxn", []) or [] if t.get("TxnType") == "PurchaseOrder"
    )
    if ours_pos != theirs_pos:
        out.append((DifferenceKind.OTHER, both("Linked purchase order", ", ".join(theirs_pos), ", ".join(ours_pos))))
    marker = str(payload.get("PrivateNote") or "")
    if marker and not is_marked(row, marker):
        out.append((DifferenceKind.OTHER, both("Memo", f"“{row.get('PrivateNote') or ''}”", f"“{marker}”")))
    return out


def _parse_time(value: object) -> dt.datetime | None:
    try:
        parsed = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def edited_since_written(sync: DocumentSync, row: dict[str, Any]) -> str:
    """Why QuickBooks' copy is newer than what we wrote ("" if it is not): its SyncToken, or
    (with no SyncToken stored) its LastUpdatedTime after we sent it."""
    theirs = str(row.get("SyncToken", ""))
    if sync.sync_token.isdigit() and theirs.isdigit():
        if int(theirs) > int(sync.sync_token):
            return f"SyncToken {theirs}, we wrote {sync.sync_token}"
        return ""
    updated = _parse_time((row.get("MetaData") or {}).get("LastUpdatedTime"))
    if updated and sync.sent_at and updated > sync.sent_at + CLOCK_SKEW:
        return f"last updated {updated:%Y-%m-%d %H:%M}, we sent it {sync.sent_at:%Y-%m-%d %H:%M}"
    return ""


# ---------------------------------------------------------------------------------------- the engine


@dataclass
class _Doc:
    document: Document
    sync: DocumentSync | None
    want: _Want
    doc_numbers: set[str]
    marker: str


def _sync_of(document: Document) -> DocumentSync | None:
    try:
        return document.qbo_sync
    except DocumentSync.DoesNotExist:
        return None


def reconcile(connection: Connection, client: QboClient, *, progress: Progress | None = None) -> Report:
    """Compare what QuickBooks should hold for the connection's company with what it holds."""
    first_call = client.calls
    report = Report()

    def tell(phase: str, total: int) -> None:
        if progress is not None:
            progress(phase, report.documents_checked, total, client.calls - first_call)

    kind = connection.document_kind
    entity = entity_for(kind)
    realm = connection.realm_id
    home = (connection.home_currency or connection.company.home_currency).upper()
    documents = (
        Document.objects.filter(company_id=connection.company_id, kind=kind)
        .select_related("supplier", "company", "qbo_sync")
        .order_by("pk")
    )
    docs: list[_Doc] = []
    for document in documents:
        sync = _sync_of(document)
        want = desired_state(document, sync)
        if want is _Want.SKIP:
            continue
        numbers = {_doc_number(document)}
        if sync is not None and sync.create_attempt:
            numbers.add(str(sync.create_attempt.get("doc_number") or ""))
        docs.append(_Doc(document, sync, want, {n for n in numbers if n}, our_marker(document.kind, document.number)))
    total = len(docs)
    tell("Reading QuickBooks", total)

    # 1. Ours and their copies, by number; then the links whose number was changed in QuickBooks.
    rows = read_in(client, entity, "DocNumber", (n for d in docs for n in d.doc_numbers))
    linked = {d.sync.qbo_id for d in docs if d.sync is not None and d.sync.qbo_id and not d.sync.deleted_in_qbo}
    rows.update(read_in(client, entity, "Id", linked - set(rows)))
    # Copies another procuresync company (once connected to this QuickBooks company) sent.
    foreign = set(
        DocumentSync.objects.filter(realm_id=realm, qbo_entity=entity)
        .exclude(company_id=connection.company_id)
        .exclude(qbo_id="")
        .values_list("qbo_id", flat=True)
    )
    by_number: dict[str, list[dict[str, Any]]] = {}
    for row_id, row in rows.items():
        if row_id not in foreign:
            by_number.setdefault(str(row.get("DocNumber") or "").casefold(), []).append(row)
    tell("Comparing documents", total)

    vendors = dict(
        VendorLink.objects.filter(company_id=connection.company_id, realm_id=realm).values_list("supplier_id", "qbo_id")
    )
    found_bill_of: dict[int, str] = {}  # document id → the bill it is linked to (found in QuickBooks)
    for d in docs:
        report.differences += _check_document(connection, d, rows, by_number, vendors, home, entity, found_bill_of)
        report.documents_checked += 1
        if report.documents_checked % PROGRESS_EVERY == 0:
            tell("Comparing documents", total)

    if entity == "Bill":
        if connection.import_payments:  # switched off, QuickBooks' payments are not mirrored here
            tell("Reading bill payments", total)
            report.differences += _check_payments(connection, client, docs, rows, found_bill_of)
        report.differences += _check_statuses(connection, docs, rows, found_bill_of)
    report.api_calls = client.calls - first_call
    tell("Done", total)
    return report


def _copies(
    d: _Doc, rows: dict[str, dict[str, Any]], by_number: dict[str, list[dict[str, Any]]]
) -> tuple[dict[str, Any] | None, bool, list[dict[str, Any]]]:
    """(the linked row if QuickBooks has it, whether the link points to nothing, other marked copies)."""
    sync = d.sync
    link = sync.qbo_id if sync is not None and sync.qbo_id and not sync.deleted_in_qbo else ""
    linked_row = rows.get(link) if link else None
    marked: dict[str, dict[str, Any]] = {}
    for number in sorted(d.doc_numbers):
        for row in by_number.get(number.casefold(), []):
            row_id = str(row.get("Id"))
            if row_id != link and is_marked(row, d.marker):
                marked.setdefault(row_id, row)
    return linked_row, bool(link) and linked_row is None, list(marked.values())


def _check_document(
    connection: Connection,
    d: _Doc,
    rows: dict[str, dict[str, Any]],
    by_number: dict[str, list[dict[str, Any]]],
    vendors: dict[int, str],
    home: str,
    entity: str,
    found_bill_of: dict[int, str],
) -> list[Difference]:
    document, sync = d.document, d.sync
    realm = connection.realm_id
    what = "bill" if entity == "Bill" else "purchase order"
    linked_row, gone, marked = _copies(d, rows, by_number)
    copies = ([linked_row] if linked_row is not None else []) + marked
    if linked_row is not None:
        found_bill_of[document.pk] = str(linked_row["Id"])

    def diff(kind: DifferenceKind, message: str, fix: Fix, qbo_id: str = "", **extra: Any) -> Difference:
        url = qbo_txn_link(entity, qbo_id, realm_id=realm) if qbo_id else ""
        return Difference(document.pk, document.number, kind, message, fix, qbo_id=qbo_id, qbo_url=url, **extra)

    out: list[Difference] = []
    status = document.get_status_display()
    if d.want is _Want.ABSENT:
        why = status if document.status in FINAL_STATUSES else f"{status} and was never approved"
        for row in copies:
            row_id = str(row["Id"])
            ours_to_remove = row is linked_row and document.status in FINAL_STATUSES
            out.append(
                diff(
                    DifferenceKind.SHOULD_NOT_BE,
                    f"{document.number} is {why}, but QuickBooks holds it as {what} {row_id} "
                    f"(number {row.get('DocNumber') or '—'}, total {_money(row.get('TotalAmt')):,.2f}).",
                    Fix.SEND_AGAIN if ours_to_remove else Fix.OPEN_IN_QBO,
                    row_id,
                )
            )
        return out

    # Present or held: QuickBooks must have it, once.
    sendable = d.want is _Want.PRESENT
    if gone:
        assert sync is not None
        if sendable and not marked:
            fix, then = Fix.SEND_AGAIN, "Send ours again to create it anew."
        elif marked:
            fix, then = Fix.OPEN_IN_QBO, f"Another copy, {what} {marked[0]['Id']}, is still there."
        else:
            fix, then = Fix.NONE, f"It is {status}: it can be sent again once it is approved."
        out.append(
            diff(
                DifferenceKind.DELETED,
                f"{document.number} was sent as {what} {sync.qbo_id}, which QuickBooks no longer has. {then}",
                fix,
                sync.qbo_id,
                gone_from_qbo=True,
            )
        )
    elif not copies and sendable:
        sync_status = sync.get_status_display() if sync is not None else SyncStatus.NOT_SENT.label
        reason = f" ({sync.error_message})" if sync is not None and sync.error_message else ""
        out.append(
            diff(
                DifferenceKind.MISSING,
                f"{document.number} is {status}, but QuickBooks has no {what} for it. "
                f"Here it is {sync_status}{reason}.",
                Fix.SEND_AGAIN,
            )
        )
    if len(copies) > 1:
        ids = ", ".join(str(r["Id"]) for r in copies)
        for row in copies[1:]:
            out.append(
                diff(
                    DifferenceKind.DUPLICATE,
                    f"QuickBooks holds {len(copies)} {what}s for {document.number} ({ids}); "
                    f"{what} {copies[0]['Id']} is the one procuresync keeps. Delete {what} {row['Id']} in QuickBooks.",
                    Fix.OPEN_IN_QBO,
                    str(row["Id"]),
                )
            )
    if not sendable or not copies:
        return out

    # Field by field, against the payload the delivery would send now.
    held = copies[0]
    held_id = str(held["Id"])
    try:
        vendor_ref = vendors.get(document.supplier_id, "")
        payload = payload_for(document_snapshot(document=document, connection=connection, vendor_ref=vendor_ref))
    except NotMappable as exc:
        out.append(
            diff(
                DifferenceKind.OTHER,
                f"{document.number} cannot be compared: {exc.message}",
                Fix.NONE,
                held_id,
            )
        )
        return out
    fields = compare(payload, held, home_currency=home)
    if not fields:
        return out
    note = ""
    if sync is not None and held is linked_row and sync.synced_revision != document.revision:
        sent = "an unknown revision" if sync.synced_revision is None else f"revision {sync.synced_revision}"
        note = f" (QuickBooks holds {sent}; revision {document.revision} was not sent yet)"
    # Ours is written over the copy we are linked to; a copy we are not linked to (a create whose
    # answer was lost) is put right in QuickBooks, since sending would create another one.
    fix = Fix.SEND_AGAIN if held is linked_row else Fix.OPEN_IN_QBO
    for kind, message in fields:
        out.append(diff(kind, f"{message.rstrip('.')}{note}.", fix, held_id))
    edited = ""
    if sync is not None and held is linked_row and sync.synced_revision == document.revision:
        edited = edited_since_written(sync, held)
    if edited:
        out.append(
            diff(
                DifferenceKind.EDITED,
                f"{what.capitalize()} {held_id} was changed in QuickBooks after procuresync wrote it ({edited}); "
                f"{len(fields)} field(s) now differ from {document.number}.",
                Fix.SEND_AGAIN,
                held_id,
            )
        )
    return out


def _check_payments(
    connection: Connection,
    client: QboClient,
    docs: list[_Doc],
    rows: dict[str, dict[str, Any]],
    found_bill_of: dict[int, str],
) -> list[Difference]:
    """What QuickBooks applied to our bills, part by part, against the payments here."""
    realm = connection.realm_id
    invoices = {d.document.pk: d.document for d in docs}
    invoice_of_bill = {bill_id: doc_id for doc_id, bill_id in found_bill_of.items()}
    here = list(
        Payment.objects.filter(
            company_id=connection.company_id,
            source=Source.QUICKBOOKS,
            qbo_realm_id=realm,
            invoice_id__in=list(invoices),
        ).values("invoice_id", "qbo_txn_id", "qbo_line_key", "amount", "status", "cancelled_by_id", "cancel_reason")
    )
    linked_payments = {
        str(t.get("TxnId"))
        for bill_id in invoice_of_bill
        for t in rows[bill_id].get("LinkedTxn", []) or []
        if str(t.get("TxnType", "")).startswith("BillPayment")
    }
    active_here = {p["qbo_txn_id"] for p in here if p["status"] == PaymentStatus.ACTIVE}
    bill_payments = read_in(client, "BillPayment", "Id", linked_payments | active_here)

    expected: dict[tuple[str, str], tuple[int, Decimal]] = {}
    for txn_id, bp in bill_payments.items():
        parts, _ = parts_of(bp, invoice_of_bill)
        for part in parts:
            expected[(txn_id, part.line_key)] = (part.invoice_id, part.amount)
    mine = {(p["qbo_txn_id"], p["qbo_line_key"]): p for p in here}
    out: list[Difference] = []

    def diff(invoice_id: int, kind: DifferenceKind, message: str, fix: Fix, txn_id: str) -> Difference:
        number = invoices[invoice_id].number
        url = qbo_txn_link("BillPayment", txn_id, realm_id=realm)
        return Difference(invoice_id, number, kind, message, fix, qbo_id=txn_id, qbo_url=url, payment_ids=(txn_id,))

    for (txn_id, key), (invoice_id, amount) in sorted(expected.items()):
        number = invoices[invoice_id].number
        ours = mine.get((txn_id, key))
        what = "a supplier credit" if ":credit:" in key else "a payment"
        if ours is None:
            out.append(
                diff(
                    invoice_id,
                    DifferenceKind.PAYMENT_NOT_HERE,
                    f"QuickBooks bill payment {txn_id} applies {amount:,.2f} ({what}) to {number}; "
                    "procuresync has no such payment.",
                    Fix.IMPORT_PAYMENTS,
                    txn_id,
                )
            )
        elif ours["status"] == PaymentStatus.CANCELLED:
            by_person = ours["cancelled_by_id"] is not None
            reason = f" ({ours['cancel_reason']})" if ours["cancel_reason"] else ""
            then = (
                " A person cancelled it here, so importing keeps it cancelled: void or delete it in QuickBooks, "
                "or record it again here."
                if by_person
                else ""
            )
            out.append(
                diff(
                    invoice_id,
                    DifferenceKind.PAYMENT_NOT_HERE,
                    f"QuickBooks bill payment {txn_id} applies {amount:,.2f} to {number}; here it is cancelled"
                    f"{reason}.{then}",
                    Fix.OPEN_IN_QBO if by_person else Fix.IMPORT_PAYMENTS,
                    txn_id,
                )
            )
        elif _money(ours["amount"]) != amount:
            out.append(
                diff(
                    invoice_id,
                    DifferenceKind.PAYMENT_AMOUNT,
                    f"Bill payment {txn_id} on {number}: QuickBooks applies {amount:,.2f}, "
                    f"procuresync has {_money(ours['amount']):,.2f}.",
                    Fix.IMPORT_PAYMENTS,
                    txn_id,
                )
            )
    for (txn_id, key), payment in sorted(mine.items()):
        if payment["status"] != PaymentStatus.ACTIVE or (txn_id, key) in expected:
            continue
        theirs = bill_payments.get(txn_id)
        if theirs is None:
            why = "was deleted in QuickBooks"
        elif not theirs.get("Line"):
            why = "was voided in QuickBooks"
        else:
            why = "no longer applies to this bill in QuickBooks"
        out.append(
            diff(
                payment["invoice_id"],
                DifferenceKind.PAYMENT_GONE,
                f"Payment of {_money(payment['amount']):,.2f} on {invoices[payment['invoice_id']].number} is "
                "active here, "
                f"but QuickBooks bill payment {txn_id} {why}.",
                Fix.IMPORT_PAYMENTS,
                txn_id,
            )
        )
    return out


def _check_statuses(
    connection: Connection, docs: list[_Doc], rows: dict[str, dict[str, Any]], found_bill_of: dict[int, str]
) -> list[Difference]:
    """Each approved invoice's status against its active payments here (Approved / Partly Paid / Paid)."""
    approved = [d.document for d in docs if d.document.status in APPROVED_STATUSES]
    paid = dict(
        Payment.objects.filter(invoice_id__in=[d.pk for d in approved], status=PaymentStatus.ACTIVE)
        .values_list("invoice_id")
        .annotate(s=Sum("amount"))
        .values_list("invoice_id", "s")
    )
    out: list[Difference] = []
    for document in approved:
        amount = _money(paid.get(document.pk))
        expected = payment_status_for(total=document.total, paid=amount)
        if expected == document.status:
            continue
        bill_id = found_bill_of.get(document.pk, "")
        balance = ""
        if bill_id:
            row = rows[bill_id]
            balance = (
                f" In QuickBooks {_money(row.get('TotalAmt')) - _money(row.get('Balance')):,.2f} is applied to "
                f"bill {bill_id}."
            )
        out.append(
            Difference(
                document.pk,
                document.number,
                DifferenceKind.STATUS,
                f"{document.number} is {document.get_status_display()}, but its active payments here add up to "
                f"{amount:,.2f} of {document.total:,.2f} {document.currency}, which makes it "
                f"{Status(expected).label}.{balance}",
                Fix.RECOMPUTE_STATUS,
                qbo_id=bill_id,
                qbo_url=qbo_bill_link(bill_id, realm_id=connection.realm_id) if bill_id else "",
            )
        )
    return out
