"""What QuickBooks should hold of each document, decided from procuresync's side alone.

Kept apart from reading and comparing so that the rule can be read, and held against what the
delivery does, in one place: an approved document is sent, a revised one keeps its last approved
revision in QuickBooks, a cancelled, rejected or never approved one must not be there.

A document is looked for under every DocNumber it may have been sent with (its own, and the one a
create whose answer was lost used), and a copy is ours only if it carries our marker in
PrivateNote, so that another program's bill with the same number is not taken for ours.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

from procurement.models import SUPPLIER_CODE_KINDS, Document
from procurement.workflow import APPROVED_STATUSES, FINAL_STATUSES
from quickbooks.models import DocumentSync, SyncStatus


class Want(enum.Enum):
    PRESENT = "present"  # in QuickBooks with our payload
    HELD = "held"  # in QuickBooks with the last approved revision (not compared field by field)
    ABSENT = "absent"  # not in QuickBooks
    SKIP = "skip"  # not ours to judge (Historical, Internal)


def desired_state(document: Document, sync: DocumentSync | None) -> Want:
    if document.status in FINAL_STATUSES:
        return Want.ABSENT
    if document.status in APPROVED_STATUSES:
        if sync is not None and sync.status in (SyncStatus.HISTORICAL, SyncStatus.INTERNAL):
            return Want.SKIP
        return Want.PRESENT
    # Draft, Pending, In Revision. A revision number above 0 means it was approved before (only an
    # approved document can be revised): QuickBooks keeps that revision until the next approval.
    return Want.HELD if document.revision > 0 else Want.ABSENT


@dataclass
class Doc:
    """A document to check: its sync, what QuickBooks should hold of it, the numbers it may be
    found under there, and the marker our copies carry."""

    document: Document
    sync: DocumentSync | None
    want: Want
    doc_numbers: set[str]
    marker: str


def doc_number(document: Document) -> str:
    """The DocNumber a document is sent with (``mapping``: the Supplier Unique Code of an invoice,
    our number for a PO); used to look for copies of documents we do not build a payload for."""
    return document.supplier_unique_code if document.kind in SUPPLIER_CODE_KINDS else document.number


def sync_of(document: Document) -> DocumentSync | None:
    try:
        return document.qbo_sync
    except DocumentSync.DoesNotExist:
        return None


def is_marked(row: dict[str, Any], marker: str) -> bool:
    """Does the row carry our marker (exactly, or followed by a space / line a person added)?"""
    note = str(row.get("PrivateNote") or "")
    if not note.startswith(marker):
        return False
    rest = note[len(marker) :]
    return rest == "" or rest[0].isspace()
