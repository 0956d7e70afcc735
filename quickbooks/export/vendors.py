"""Suppliers ↔ QuickBooks vendors: matched by name, then email or tax id; mapped by hand; or created.

A supplier whose name already exists as a vendor in QuickBooks is linked, never duplicated (QBO
refuses a second DisplayName anyway, with fault 6240).

QuickBooks' vendors are kept here too (``ImportedVendor``), so an Admin links a supplier by choosing
one: every list import reads them all, and a delivery that finds or creates one adds it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from procurement.models import Supplier
from quickbooks.client import QboClient, quote, request_id
from quickbooks.errors import NotMappable, QboDuplicate
from quickbooks.models import Connection, ImportedVendor, VendorLink


def _link(supplier: Supplier, realm_id: str, vendor: dict[str, Any], how: str) -> VendorLink:
    try:
        with transaction.atomic():
            return _upsert_link(supplier, realm_id, vendor, how)
    except IntegrityError:
        # A concurrent worker linked the same supplier first; or (rare: two suppliers whose names
        # became one vendor) the vendor stands for another supplier of this company already.
        link = VendorLink.objects.filter(supplier=supplier).first()
        if link is not None:
            return link
        taken = (
            VendorLink.objects.filter(company_id=supplier.company_id, realm_id=realm_id, qbo_id=str(vendor["Id"]))
            .select_related("supplier")
            .first()
        )
        other = f"the supplier {taken.supplier.name}" if taken else "another supplier"
        raise NotMappable(
            f"The QuickBooks vendor “{vendor.get('DisplayName', vendor['Id'])}” already stands for {other}; "
            f"map {supplier.name} to a vendor by hand on Integrations."
        ) from None


def _upsert_link(supplier: Supplier, realm_id: str, vendor: dict[str, Any], how: str) -> VendorLink:
    link, _ = VendorLink.objects.update_or_create(
        supplier=supplier,
        defaults={
            "company_id": supplier.company_id,
            "realm_id": realm_id,
            "qbo_id": str(vendor["Id"]),
            "qbo_name": vendor.get("DisplayName", ""),
            "how": how,
            "currency": vendor_currency(vendor),
        },
    )
    return link


def vendor_currency(vendor: dict[str, Any]) -> str:
    """The vendor's CurrencyRef ("" when QuickBooks does not say)."""
    return str((vendor.get("CurrencyRef") or {}).get("value", ""))[:3].upper()


def _imported(connection: Connection, vendor: dict[str, Any]) -> ImportedVendor:
    return ImportedVendor(
        company_id=connection.company_id,
        realm_id=connection.realm_id,
        qbo_id=str(vendor["Id"]),
        name=str(vendor.get("DisplayName") or vendor["Id"])[:500],
        email=str((vendor.get("PrimaryEmailAddr") or {}).get("Address") or "")[:254],
        currency=vendor_currency(vendor),
        active=vendor.get("Active", True) is not False,
        read_at=timezone.now(),
    )


_VENDOR_FIELDS = ["name", "email", "currency", "active", "read_at"]


def vendor_remember(*, connection: Connection, vendor: dict[str, Any]) -> None:
    """Keep (or refresh) one vendor QuickBooks answered with, so it can be chosen on Integrations."""
    row = _imported(connection, vendor)
    ImportedVendor.objects.update_or_create(
        company_id=row.company_id,
        realm_id=row.realm_id,
        qbo_id=row.qbo_id,
        defaults={name: getattr(row, name) for name in _VENDOR_FIELDS},
    )


def vendors_remember_all(*, connection: Connection, vendors: list[dict[str, Any]]) -> None:
    """Keep every vendor of a full read (active and inactive), and forget those QuickBooks no
    longer has: only merging removes a vendor in QuickBooks, and the merged one cannot be linked."""
    rows = [_imported(connection, vendor) for vendor in vendors]
    ImportedVendor.objects.bulk_create(
        rows,
        batch_size=500,
        update_conflicts=True,
        unique_fields=["company", "realm_id", "qbo_id"],
        update_fields=_VENDOR_FIELDS,
    )
    seen = {row.qbo_id for row in rows}
    kept = ImportedVendor.objects.filter(company_id=connection.company_id, realm_id=connection.realm_id)
    gone = [pk for pk, qbo_id in kept.values_list("pk", "qbo_id") if qbo_id not in seen]
    for start in range(0, len(gone), 500):  # by primary key, in chunks: no query with thousands of ids
        ImportedVendor.objects.filter(pk__in=gone[start : start + 500]).delete()


def match_vendor(supplier: Supplier, vendors: list[dict[str, Any]]) -> tuple[dict[str, Any], str] | None:
    """The vendor this supplier is, by name first, then email, then tax id."""
    name = supplier.name.strip().lower()
    for vendor in vendors:
        if str(vendor.get("DisplayName", "")).strip().lower() == name:
            return vendor, "name"
    if supplier.email:
        for vendor in vendors:
            email = (vendor.get("PrimaryEmailAddr") or {}).get("Address", "")
            if email and email.lower() == supplier.email.lower():
                return vendor, "email"
    if supplier.tax_id:
        for vendor in vendors:
            if vendor.get("TaxIdentifier") and vendor["TaxIdentifier"] == supplier.tax_id:
                return vendor, "tax id"
    return None


def payload_digest(payload: dict[str, Any]) -> str:
    """A short, stable digest of a request body (keys sorted), for request ids that follow the body."""
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def vendor_links(connection: Connection, supplier_ids: Iterable[int]) -> dict[int, VendorLink]:
    """The links of these suppliers to vendors of the connected QuickBooks company, in one query: a
    batch's documents have a few suppliers, so ``ensure_vendor`` and ``check_currency`` share them."""
    links = VendorLink.objects.filter(
        company_id=connection.company_id, realm_id=connection.realm_id, supplier_id__in=set(supplier_ids)
    )
    return {link.supplier_id: link for link in links}


def ensure_vendor(
    *, connection: Connection, client: QboClient, supplier: Supplier, links: dict[int, VendorLink] | None = None
) -> str:
    """The QBO vendor id for ``supplier``, linking or creating the vendor if needed. ``links``: the
    suppliers' links read beforehand (``vendor_links``); a supplier not in it is looked up as usual,
    and the link found or made is added to it."""
    link = links.get(supplier.pk) if links is not None else None
    if link is None:
        link = VendorLink.objects.filter(
            company_id=connection.company_id, supplier=supplier, realm_id=connection.realm_id
        ).first()
        if link is None:
            link = _find_or_create(connection, client, supplier)
        if links is not None and link.realm_id == connection.realm_id and link.company_id == connection.company_id:
            links[supplier.pk] = link
    return link.qbo_id


def _find_or_create(connection: Connection, client: QboClient, supplier: Supplier) -> VendorLink:
    found = client.query(
        f"SELECT * FROM Vendor WHERE DisplayName = {quote(supplier.name)} AND Active IN (true, false)"
    ).get("Vendor", [])
    if found:
        vendor_remember(connection=connection, vendor=found[0])
        return _link(supplier, connection.realm_id, found[0], "name")
    payload: dict[str, Any] = {"DisplayName": supplier.name, "CompanyName": supplier.name}
    if supplier.email:
        payload["PrimaryEmailAddr"] = {"Address": supplier.email}
    if supplier.tax_id:
        payload["TaxIdentifier"] = supplier.tax_id
    if connection.multicurrency and supplier.currency:
        payload["CurrencyRef"] = {"value": supplier.currency}
    # The payload is part of the id: the same vendor create replays QBO's first answer, a changed
    # one (the supplier renamed after a refusal) is a new request.
    vendor_write = request_id("vendor", f"vendor:{connection.realm_id}:{supplier.pk}:{payload_digest(payload)}")
    try:
        vendor = client.create("Vendor", payload, request_id=vendor_write)
    except QboDuplicate as exc:
        # Another worker may have created this very vendor a moment ago (two invoices of a new
        # supplier sent at once): if the name is a vendor now, it is ours to link.
        again = client.query(
            f"SELECT * FROM Vendor WHERE DisplayName = {quote(supplier.name)} AND Active IN (true, false)"
        ).get("Vendor", [])
        if again:
            vendor_remember(connection=connection, vendor=again[0])
            return _link(supplier, connection.realm_id, again[0], "name")
        raise QboDuplicate(
            f"QuickBooks already has a customer or employee named “{supplier.name}”, so it cannot be a "
            "vendor too. Map the supplier to a vendor by hand on Integrations.",
            fault_code=exc.fault_code,
        ) from exc
    vendor_remember(connection=connection, vendor=vendor)
    return _link(supplier, connection.realm_id, vendor, "created")


def link_by_hand(*, connection: Connection, supplier: Supplier, vendor: dict[str, Any]) -> VendorLink:
    """Called by ``quickbooks.services.vendor_map`` once it has checked the Admin's choice; a vendor
    read from QuickBooks for it is kept for the next choice."""
    vendor_remember(connection=connection, vendor=vendor)
    return _link(supplier, connection.realm_id, vendor, "by hand")


def vendor_imported(*, connection: Connection, vendor_id: str) -> dict[str, Any] | None:
    """Vendor ``vendor_id`` as the last read of it was kept, in QuickBooks' own shape (None: never
    read here, e.g. added in QuickBooks since the lists were imported)."""
    row = ImportedVendor.objects.filter(
        company_id=connection.company_id, realm_id=connection.realm_id, qbo_id=vendor_id
    ).first()
    if row is None:
        return None
    vendor: dict[str, Any] = {"Id": row.qbo_id, "DisplayName": row.name, "Active": row.active}
    if row.email:
        vendor["PrimaryEmailAddr"] = {"Address": row.email}
    if row.currency:
        vendor["CurrencyRef"] = {"value": row.currency}
    return vendor


def vendors_match_all(*, connection: Connection, client: QboClient) -> dict[str, int]:
    """Keep QuickBooks' vendors (``vendors_remember_all``) and link every unlinked supplier that
    matches an active one; returns counts by how."""
    everyone = list(client.query_all("Vendor", "Active IN (true, false)"))
    vendors_remember_all(connection=connection, vendors=everyone)
    vendors = [vendor for vendor in everyone if vendor.get("Active", True) is not False]
    counts: dict[str, int] = {}
    links = VendorLink.objects.filter(company_id=connection.company_id, realm_id=connection.realm_id)
    pairs = list(links.values_list("supplier_id", "qbo_id"))
    # Links made before vendors' currencies were kept learn them here (a vendor's never changes).
    currencies = {str(v["Id"]): vendor_currency(v) for v in everyone}
    for link in links.filter(currency=""):
        if currencies.get(link.qbo_id):
            VendorLink.objects.filter(pk=link.pk).update(currency=currencies[link.qbo_id])
    linked = {supplier_id for supplier_id, _ in pairs}
    taken = {qbo_id for _, qbo_id in pairs}
    for supplier in Supplier.objects.filter(company_id=connection.company_id).exclude(pk__in=linked):
        match = match_vendor(supplier, vendors)
        if match and str(match[0]["Id"]) not in taken:  # a vendor stands for one supplier
            taken.add(str(match[0]["Id"]))
            _link(supplier, connection.realm_id, match[0], match[1])
            counts[match[1]] = counts.get(match[1], 0) + 1
    return counts
