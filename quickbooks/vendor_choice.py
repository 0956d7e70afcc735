"""Integrations → vendors: the QuickBooks vendors an Admin may choose for one supplier.

Read only, from the vendors the last list import kept (``ImportedVendor``): searching never calls
QuickBooks. Choosing one posts to ``quickbooks.services.vendor_map``, which checks it again.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q

from accounts.models import User
from accounts.roles import Permission, require
from procurement.models import Supplier
from procurement.selectors import supplier_get
from quickbooks.models import Connection, ConnectionStatus, ImportedVendor, VendorLink

CHOICES_SHOWN = 20
QUERY_MAX = 100  # characters of the search kept; no vendor name is found by more


@dataclass(frozen=True)
class VendorChoice:
    vendor: ImportedVendor
    currency: str  # the vendor's currency; QuickBooks' home currency when the vendor says none
    currency_differs: bool  # documents of this supplier would be in another currency than the vendor's
    linked_here: bool  # already this supplier's vendor


@dataclass(frozen=True)
class VendorChoices:
    supplier: Supplier
    query: str
    choices: list[VendorChoice]
    more: bool  # more vendors matched than are shown: type more of the name
    imported: bool  # any vendor kept at all (no: the lists were never imported)
    connected: bool


def clean_query(raw: str) -> str:
    """What was typed in the search box, as searched: no NUL (PostgreSQL refuses it), trimmed, cut."""
    return raw.replace("\x00", "").strip()[:QUERY_MAX]


def vendor_choices(*, user: User, supplier_id: int, query: str) -> VendorChoices:
    """Active imported vendors whose name or email contains ``query`` (any case), at most
    ``CHOICES_SHOWN`` by name; vendors linked to another supplier are not offered (a vendor stands
    for one supplier of a company)."""
    require(user, Permission.INTEGRATION_MANAGE)
    supplier = supplier_get(user=user, supplier_id=supplier_id)
    query = clean_query(query)
    connection = Connection.objects.filter(company_id=user.tenant_id).first()
    if connection is None or connection.status == ConnectionStatus.NOT_CONNECTED or not connection.realm_id:
        return VendorChoices(supplier, query, [], more=False, imported=False, connected=False)
    kept = ImportedVendor.objects.filter(company_id=user.tenant_id, realm_id=connection.realm_id)
    others = VendorLink.objects.filter(company_id=user.tenant_id, realm_id=connection.realm_id).exclude(
        supplier=supplier
    )
    found = kept.filter(active=True).exclude(qbo_id__in=others.values("qbo_id"))
    if query:
        found = found.filter(Q(name__icontains=query) | Q(email__icontains=query))
    rows = list(found.order_by("name", "qbo_id")[: CHOICES_SHOWN + 1])
    linked = VendorLink.objects.filter(supplier=supplier, realm_id=connection.realm_id).values_list("qbo_id", flat=True)
    here = set(linked)
    home = connection.home_currency.upper()
    ours = supplier.currency.upper()
    choices = []
    for vendor in rows[:CHOICES_SHOWN]:
        currency = vendor.currency or home
        choices.append(
            VendorChoice(
                vendor=vendor,
                currency=currency,
                currency_differs=bool(currency and ours and currency != ours),
                linked_here=vendor.qbo_id in here,
            )
        )
    return VendorChoices(
        supplier,
        query,
        choices,
        more=len(rows) > CHOICES_SHOWN,
        imported=kept.exists(),
        connected=True,
    )
