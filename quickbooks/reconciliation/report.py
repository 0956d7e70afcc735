"""What a reconciliation finds, in the words the Reconciliation page, the API and the CSV show.

A difference is a plain row (``Difference.as_row``) so that a run can keep it as JSON and a fix
applied days later still knows what it is about; the kinds and fixes are ``TextChoices`` because
those rows, the serializers and the filters on the page all spell them the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db import models


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
