"""Suppliers ↔ QuickBooks vendors: matched by name, then email or tax id; mapped by hand; or created.

A supplier whose name already exists as a vendor in QuickBooks is linked, never duplicated (QBO
refuses a second DisplayName anyway, with fault 6240).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from django.db import IntegrityError, transaction

from procurement.models import Supplier
from quickbooks.client import QboClient, quote, request_id
from quickbooks.errors import NotMappable, QboDuplicate
from quickbooks.models import Connection, VendorLink


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
            "currency": str((vendor.get("CurrencyRef") or {}).get("value", ""))[:3].upper(),
        },
    )
    return link


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


def ensure_vendor(*, connection: Connection, client: QboClient, supplier: Supplier) -> str:
    """The QBO vendor id for ``supplier``, linking or creating the vendor if needed."""
    link = VendorLink.objects.filter(
        company_id=connection.company_id, supplier=supplier, realm_id=connection.realm_id
    ).first()
    if link is not None:
        return link.qbo_id
    found = client.query(
        f"SELECT * FROM Vendor WHERE DisplayName = {quote(supplier.name)} AND Active IN (true, false)"
    ).get("Vendor", [])
    if found:
        return _link(supplier, connection.realm_id, found[0], "name").qbo_id
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
            return _link(supplier, connection.realm_id, again[0], "name").qbo_id
        raise QboDuplicate(
            f"QuickBooks already has a customer or employee named “{supplier.name}”, so it cannot be a "
            "vendor too. Map the supplier to a vendor by hand on Integrations.",
            fault_code=exc.fault_code,
        ) from exc
    return _link(supplier, connection.realm_id, vendor, "created").qbo_id


def link_by_hand(*, connection: Connection, supplier: Supplier, vendor: dict[str, Any]) -> VendorLink:
    """Called by ``quickbooks.services.vendor_map`` once it has checked the Admin's choice."""
    return _link(supplier, connection.realm_id, vendor, "by hand")


def vendors_match_all(*, connection: Connection, client: QboClient) -> dict[str, int]:
    """Link every unlinked supplier that matches a QBO vendor; returns counts by how."""
    vendors = list(client.query_all("Vendor"))
    counts: dict[str, int] = {}
    links = VendorLink.objects.filter(company_id=connection.company_id, realm_id=connection.realm_id)
    pairs = list(links.values_list("supplier_id", "qbo_id"))
    # Links made before vendors' currencies were kept learn them here (a vendor's never changes).
    currencies = {str(v["Id"]): str((v.get("CurrencyRef") or {}).get("value", ""))[:3].upper() for v in vendors}
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
