"""Reconciliation: what procuresync says QuickBooks should hold for one company, against what it holds.

The desired state, per document of the kind the company sends (Bills or PurchaseOrders):

- approved (Approved / Partly Paid / Paid) and not Historical / Internal: in QuickBooks, exactly
  once, holding the payload ``payload_for(document_snapshot(...))`` builds — the same code the
  delivery sends, so there is no second mapping to drift;
- revised since an approval (In Revision, or Pending again): QuickBooks keeps the last approved
  revision, so it must exist (once), but its fields are not compared;
- cancelled, rejected, or never approved: not in QuickBooks.

QuickBooks is read in bulk, never per document, and nothing here writes: the result is a list of
``Difference`` rows, each with the fix that fits (applied by ``quickbooks.reconciliation_runs``).

- ``report``: the kinds of difference, the fixes, the rows and the report a run keeps;
- ``desired``: what QuickBooks should hold of each document, and how our copies are recognised;
- ``reading``: the bulk queries;
- ``compare``: the payload we would send against the row QuickBooks holds;
- ``engine``: ``reconcile``, and the checks of each document;
- ``settlement``: what QuickBooks applied to our bills against the payments here, and the statuses.
"""

from quickbooks.reconciliation.engine import reconcile
from quickbooks.reconciliation.report import APPLICABLE_FIXES, Difference, DifferenceKind, Fix, Progress, Report

__all__ = ["APPLICABLE_FIXES", "Difference", "DifferenceKind", "Fix", "Progress", "Report", "reconcile"]
