"""Procurement pages live in ``views_documents`` (invoices, credit notes, purchase orders) and
``views_suppliers``."""

from procurement.views_documents import (
    document_action,
    document_create,
    document_detail,
    document_edit,
    document_list,
    home,
)
from procurement.views_suppliers import supplier_create, supplier_edit, supplier_list

__all__ = [
    "document_action",
    "document_create",
    "document_detail",
    "document_edit",
    "document_list",
    "home",
    "supplier_create",
    "supplier_edit",
    "supplier_list",
]
