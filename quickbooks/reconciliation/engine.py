"""The reconciliation engine: reads QuickBooks once for the whole company, then checks every
document against what it holds, so that the number of requests grows with the thousands of
documents, not with each one.

QuickBooks is read by ``DocNumber IN (...)`` first, which also finds extra copies (ours carry
``our_marker`` in PrivateNote, which QBO cannot filter on, so it is compared on the rows), then the
links not found that way (a number changed in QuickBooks) by ``Id IN (...)``. Copies another
procuresync company sent to the same QuickBooks company are left out, as they are not ours.

Nothing here writes: the result is a list of ``Difference`` rows, each with the fix that fits.
"Send ours again" is offered only for the copy we are linked to (or none at all): a copy we are not
linked to is put right in QuickBooks by a person, since sending again would create one more.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from procurement.models import Document
from procurement.workflow import FINAL_STATUSES
from quickbooks.client import QboClient
from quickbooks.errors import NotMappable
from quickbooks.export.mapping import QBO_WHAT, entity_for, our_marker, payload_for
from quickbooks.export.snapshots import document_snapshot
from quickbooks.models import Connection, DocumentSync, SyncStatus, VendorLink
from quickbooks.reconciliation.compare import compare, edited_since_written, money
from quickbooks.reconciliation.desired import Doc, Want, desired_state, doc_number, is_marked, sync_of
from quickbooks.reconciliation.reading import read_in
from quickbooks.reconciliation.report import Difference, DifferenceKind, Fix, Progress, Report
from quickbooks.reconciliation.settlement import check_payments, check_statuses
from quickbooks.selectors import qbo_txn_link

PROGRESS_EVERY = 200  # documents between progress reports


def reconcile(connection: Connection, client: QboClient, *, progress: Progress | None = None) -> Report:
    """Compare what QuickBooks should hold for the connection's company with what it holds: each
    kind it sends (bills, or purchase orders; vendor credits with bills) in turn."""
    first_call = client.calls
    report = Report()
    plans = [(kind, _documents_to_check(connection, kind)) for kind in connection.sent_kinds]
    total = sum(len(docs) for _, docs in plans)

    def tell(phase: str) -> None:
        if progress is not None:
            progress(phase, report.documents_checked, total, client.calls - first_call)

    tell("Reading QuickBooks")
    for kind, docs in plans:
        _reconcile_kind(connection, client, entity_for(kind), docs, report, tell)
    report.api_calls = client.calls - first_call
    tell("Done")
    return report


def _documents_to_check(connection: Connection, kind: str) -> list[Doc]:
    documents = (
        Document.objects.filter(company_id=connection.company_id, kind=kind)
        .select_related("supplier", "company", "qbo_sync")
        .order_by("pk")
    )
    docs: list[Doc] = []
    for document in documents:
        sync = sync_of(document)
        want = desired_state(document, sync)
        if want is Want.SKIP:
            continue
        numbers = {doc_number(document)}
        if sync is not None and sync.create_attempt:
            numbers.add(str(sync.create_attempt.get("doc_number") or ""))
        docs.append(Doc(document, sync, want, {n for n in numbers if n}, our_marker(document.kind, document.number)))
    return docs


def _reconcile_kind(
    connection: Connection,
    client: QboClient,
    entity: str,
    docs: list[Doc],
    report: Report,
    tell: Callable[[str], None],
) -> None:
    realm = connection.realm_id
    home = (connection.home_currency or connection.company.home_currency).upper()
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
    tell("Comparing documents")

    vendors = dict(
        VendorLink.objects.filter(company_id=connection.company_id, realm_id=realm).values_list("supplier_id", "qbo_id")
    )
    found_bill_of: dict[int, str] = {}  # document id → the bill it is linked to (found in QuickBooks)
    for d in docs:
        report.differences += _check_document(connection, d, rows, by_number, vendors, home, entity, found_bill_of)
        report.documents_checked += 1
        if report.documents_checked % PROGRESS_EVERY == 0:
            tell("Comparing documents")

    if entity == "Bill":
        if connection.import_payments:  # switched off, QuickBooks' payments are not mirrored here
            tell("Reading bill payments")
            report.differences += check_payments(connection, client, docs, rows, found_bill_of)
        report.differences += check_statuses(connection, docs, rows, found_bill_of)


def _copies(
    d: Doc, rows: dict[str, dict[str, Any]], by_number: dict[str, list[dict[str, Any]]]
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
    d: Doc,
    rows: dict[str, dict[str, Any]],
    by_number: dict[str, list[dict[str, Any]]],
    vendors: dict[int, str],
    home: str,
    entity: str,
    found_bill_of: dict[int, str],
) -> list[Difference]:
    document, sync = d.document, d.sync
    realm = connection.realm_id
    what = QBO_WHAT[entity]
    linked_row, gone, marked = _copies(d, rows, by_number)
    copies = ([linked_row] if linked_row is not None else []) + marked
    if linked_row is not None:
        found_bill_of[document.pk] = str(linked_row["Id"])

    def diff(kind: DifferenceKind, message: str, fix: Fix, qbo_id: str = "", **extra: Any) -> Difference:
        url = qbo_txn_link(entity, qbo_id, realm_id=realm) if qbo_id else ""
        return Difference(document.pk, document.number, kind, message, fix, qbo_id=qbo_id, qbo_url=url, **extra)

    out: list[Difference] = []
    status = document.get_status_display()
    if d.want is Want.ABSENT:
        why = status if document.status in FINAL_STATUSES else f"{status} and was never approved"
        for row in copies:
            row_id = str(row["Id"])
            ours_to_remove = row is linked_row and document.status in FINAL_STATUSES
            out.append(
                diff(
                    DifferenceKind.SHOULD_NOT_BE,
                    f"{document.number} is {why}, but QuickBooks holds it as {what} {row_id} "
                    f"(number {row.get('DocNumber') or '—'}, total {money(row.get('TotalAmt')):,.2f}).",
                    Fix.SEND_AGAIN if ours_to_remove else Fix.OPEN_IN_QBO,
                    row_id,
                )
            )
        return out

    # Present or held: QuickBooks must have it, once.
    sendable = d.want is Want.PRESENT
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
