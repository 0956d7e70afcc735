"""What Admins do with the QuickBooks integration: connect, choose settings, import lists, map vendors.

Sending documents is the export wing's (``quickbooks.export.services``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from accounts.audit import Action, record
from accounts.models import User
from accounts.roles import Permission, require
from procurement.models import CustomField, Document, DocumentKind, ListKind, ListOption
from procurement.selectors import supplier_get
from procurement.workflow import APPROVED_STATUSES
from procuresync.errors import ValidationFailed
from quickbooks import oauth
from quickbooks.client import QboClient
from quickbooks.config import qbo_config
from quickbooks.connection import client_for, client_with, connection_of, refresh_company_settings
from quickbooks.errors import NotConnected, QboError, QboNotFound, QuickBooksError
from quickbooks.export.services import documents_resume
from quickbooks.export.vendors import link_by_hand, vendor_imported, vendors_match_all
from quickbooks.models import Connection, ConnectionStatus, DocumentSync, SyncStatus, VendorLink
from quickbooks.progress_models import LIST_WORDS
from quickbooks.selectors import vendor_taken_by
from quickbooks.tax import import_tax_codes

# ------------------------------------------------------------------------- connecting

log = logging.getLogger(__name__)


def connection_start(*, actor: User, redirect_uri: str) -> str:
    """The Intuit authorization URL to send the Admin to (state stored for the callback)."""
    require(actor, Permission.INTEGRATION_MANAGE)
    config = qbo_config()
    if not config.configured:
        raise ValidationFailed(
            "QuickBooks is not configured on this server: set QBO_CLIENT_ID and QBO_CLIENT_SECRET "
            "(or start the bundled emulator with scripts/start.sh)."
        )
    return oauth.authorization_url(connection=connection_of(actor.tenant_id), redirect_uri=redirect_uri, config=config)


REALM_TAKEN = (
    "This QuickBooks company is already connected to another procuresync company. "
    "Disconnect it there first, or choose another QuickBooks company."
)


def connection_complete(*, actor: User, code: str, state: str, realm_id: str, redirect_uri: str) -> Connection:
    """Intuit sent the Admin back: exchange the code, read the QuickBooks company, then connect.

    Nothing is stored until QuickBooks has answered for the company: the callback's realmId is
    trusted only once CompanyInfo and Preferences were read with the new tokens. Refused when
    another procuresync company holds that QuickBooks company (one live company per realm) or when
    the home currencies differ; a refusal leaves the connection as it was.
    """
    require(actor, Permission.INTEGRATION_MANAGE)
    connection = connection_of(actor.tenant_id)
    if not oauth.check_state(connection=connection, state=state):
        raise ValidationFailed("The QuickBooks sign-in expired or did not start here; press Connect again.")
    if not code or not realm_id:
        raise ValidationFailed("QuickBooks did not send an authorization code; press Connect again.")
    # The state is single use, also when this callback is refused below or arrives twice at once.
    if not Connection.objects.filter(pk=connection.pk, oauth_state=state).update(oauth_state=""):
        raise ValidationFailed("The QuickBooks sign-in expired or did not start here; press Connect again.")
    _refuse_if_realm_taken(connection, realm_id)  # before the code is spent
    tokens = oauth.exchange_code(code=code, redirect_uri=redirect_uri)
    client = client_with(realm_id, oauth.IssuedToken(tokens.access_token))  # nothing stored yet
    try:
        info = client.company_info()
    except QboError as exc:
        raise QuickBooksError(
            f"QuickBooks was not connected: reading the QuickBooks company failed ({exc.message}). "
            "Press Connect again.",
            code="quickbooks_connect_failed",
        ) from exc
    _read_company_settings(connection, client)
    previous_realm = connection.realm_id
    with transaction.atomic():
        connection = Connection.objects.select_for_update().get(pk=connection.pk)
        _refuse_if_realm_taken(connection, realm_id)  # again, now that the answer is in
        # Disconnecting keeps the realm, so a company that ever connected is reconnecting.
        reconnecting = bool(connection.realm_id) or connection.connected_at is not None
        realm_before = connection.realm_id
        oauth.store_tokens(connection, tokens)
        connection.realm_id = realm_id
        connection.qbo_company_name = str(info.get("CompanyName", ""))[:200]
        connection.country = company_country(info)
        connection.status = ConnectionStatus.CONNECTED
        connection.connected_at = connection.connected_at if previous_realm == realm_id else timezone.now()
        connection.last_error = ""
        connection.save()
        details = {"realm_id": realm_id, "quickbooks_company": connection.qbo_company_name}
        if realm_before and realm_before != realm_id:
            details["previous_realm_id"] = realm_before
        record(
            Action.QBO_RECONNECTED if reconnecting else Action.QBO_CONNECTED,
            actor=actor,
            target=f"QuickBooks realm {realm_id}",
            details=details,
        )
    if previous_realm and previous_realm != realm_id:
        # Another QuickBooks company: links into the old one mean nothing there.
        DocumentSync.objects.filter(company_id=connection.company_id).exclude(realm_id=realm_id).exclude(
            realm_id=""
        ).update(qbo_id="", sync_token="", synced_revision=None, status=SyncStatus.HISTORICAL)
    mark_existing_documents(connection)
    documents_resume(connection)
    log.info("QuickBooks: %s connected to “%s” (realm %s)", connection.company, connection.qbo_company_name, realm_id)
    return connection


def company_country(info: dict[str, Any]) -> str:
    """CompanyInfo.Country ("US", "GB", "CA"…; older companies may say "USA")."""
    return str(info.get("Country") or (info.get("CompanyAddr") or {}).get("Country") or "")[:10].upper()


def _refuse_if_realm_taken(connection: Connection, realm_id: str) -> None:
    """One live procuresync company per QuickBooks company; the other company is not named."""
    taken = (
        Connection.objects.filter(realm_id=realm_id)
        .exclude(company_id=connection.company_id)
        .exclude(status=ConnectionStatus.NOT_CONNECTED)
    )
    if taken.exists():
        raise QuickBooksError(REALM_TAKEN, code="quickbooks_realm_taken")


_SETTINGS_FIELDS = ["book_close_date", "book_close_checked_at", "multicurrency", "home_currency"]


def _read_company_settings(connection: Connection, client: QboClient) -> None:
    """Read Preferences (closing date, currencies) of the QuickBooks company being connected, and
    refuse a home currency other than the company's. On a refusal the cached settings of the
    connection are put back as they were."""
    before = {name: getattr(connection, name) for name in _SETTINGS_FIELDS}

    def put_back() -> None:
        for name, value in before.items():
            setattr(connection, name, value)
        connection.save(update_fields=_SETTINGS_FIELDS)

    try:
        refresh_company_settings(connection, client)
    except QboError as exc:
        put_back()
        raise QuickBooksError(
            f"QuickBooks was not connected: reading the QuickBooks company's settings failed ({exc.message}). "
            "Press Connect again.",
            code="quickbooks_connect_failed",
        ) from exc
    ours = connection.company.home_currency.upper()
    theirs = connection.home_currency.upper()
    if theirs != ours:
        put_back()
        raise QuickBooksError(
            f"QuickBooks was not connected: this QuickBooks company keeps its books in "
            f"{theirs or 'an unknown currency'}, and your procuresync company's home currency is {ours}. "
            "Amounts would be booked at the wrong value. Choose a QuickBooks company whose home currency "
            f"is {ours}.",
            code="quickbooks_currency_mismatch",
        )


def connection_disconnect(*, actor: User) -> Connection:
    require(actor, Permission.INTEGRATION_MANAGE)
    connection = connection_of(actor.tenant_id)
    was_connected = connection.status != ConnectionStatus.NOT_CONNECTED
    oauth.revoke(connection=connection)
    with transaction.atomic():
        # token_version moves too, so a refresh in flight does not store its answer afterwards.
        Connection.objects.filter(pk=connection.pk).update(
            status=ConnectionStatus.NOT_CONNECTED,
            access_token="",
            refresh_token="",
            access_expires_at=None,
            oauth_state="",
            last_error="",
            token_version=F("token_version") + 1,
        )
        if was_connected:  # pressing Disconnect twice disconnects once
            record(
                Action.QBO_DISCONNECTED,
                actor=actor,
                target=f"QuickBooks realm {connection.realm_id}",
                details={"realm_id": connection.realm_id, "quickbooks_company": connection.qbo_company_name},
            )
    connection.refresh_from_db()
    return connection


def mark_existing_documents(connection: Connection) -> None:
    """Documents approved before connecting are Historical (never sent by themselves); documents
    of the kind not sent are Internal."""
    company_id = connection.company_id
    known = DocumentSync.objects.filter(company_id=company_id).values("document_id")
    documents = Document.objects.filter(company_id=company_id).exclude(pk__in=known)
    rows = [
        DocumentSync(
            document_id=pk,
            company_id=company_id,
            status=SyncStatus.HISTORICAL if connection.sends(kind) else SyncStatus.INTERNAL,
        )
        for pk, kind, status in documents.values_list("pk", "kind", "status")
        if not connection.sends(kind) or status in APPROVED_STATUSES
    ]
    DocumentSync.objects.bulk_create(rows, batch_size=1000)
    DocumentSync.objects.filter(company_id=company_id, qbo_id="").exclude(
        document__kind__in=connection.sent_kinds
    ).update(status=SyncStatus.INTERNAL)
    # Back to the kind that is sent: a document that had failed is Failed again, with its message
    # (kept while it was Internal), so "Retry all failed" finds it.
    back = DocumentSync.objects.filter(
        company_id=company_id, status=SyncStatus.INTERNAL, document__kind__in=connection.sent_kinds
    )
    back.exclude(error_code="").update(status=SyncStatus.FAILED)
    back.filter(error_code="").update(status=SyncStatus.NOT_SENT)


# ------------------------------------------------------------------------- settings and lists

# The settings an Admin chooses on Integrations, each as the audit trail shows it: accounts and
# fields by name, since an id says nothing to whoever reads the trail.
_SETTINGS_SHOWN: dict[str, Callable[[Connection], object]] = {
    "document_kind": lambda c: c.get_document_kind_display(),
    "auto_send": lambda c: c.auto_send,
    "import_payments": lambda c: c.import_payments,
    "default_ap_account": lambda c: c.default_ap_account.name if c.default_ap_account else None,
    "default_expense_account": lambda c: c.default_expense_account.name if c.default_expense_account else None,
    "location_field": lambda c: c.location_field.name if c.location_field else None,
}


def _settings_snapshot(connection: Connection) -> dict[str, tuple[object, object]]:
    """Each setting as (stored value, shown value): changes are found on the stored values (two
    accounts may share a name) and told with the shown ones."""
    return {
        name: (connection.serializable_value(name), shown(connection))
        for name, shown in _SETTINGS_SHOWN.items()
    }


def connection_update_settings(
    *,
    actor: User,
    document_kind: str,
    auto_send: bool,
    import_payments: bool,
    default_ap_account_id: int | None = None,
    default_expense_account_id: int | None = None,
    location_field_id: int | None = None,
) -> Connection:
    require(actor, Permission.INTEGRATION_MANAGE)
    errors: dict[str, list[str]] = {}
    if document_kind not in (DocumentKind.PURCHASE_ORDER, DocumentKind.INVOICE):
        errors["document_kind"] = ["Choose Purchase Orders or Invoices."]
    options = ListOption.objects.filter(company_id=actor.tenant_id, kind=ListKind.ACCOUNT)
    if default_ap_account_id and not options.filter(pk=default_ap_account_id, detail="Accounts Payable").exists():
        errors["default_ap_account"] = ["Choose an Accounts Payable account imported from QuickBooks."]
    if default_expense_account_id and not options.filter(pk=default_expense_account_id).exists():
        errors["default_expense_account"] = ["Choose an account imported from QuickBooks."]
    if location_field_id and not CustomField.objects.filter(company_id=actor.tenant_id, pk=location_field_id).exists():
        errors["location_field"] = ["Choose one of your document custom fields."]
    if errors:
        raise ValidationFailed("The settings were not saved.", fields=errors)
    connection = connection_of(actor.tenant_id)
    before = _settings_snapshot(connection)
    kind_changed = connection.document_kind != document_kind
    connection.document_kind = document_kind
    connection.auto_send = auto_send
    connection.import_payments = import_payments
    connection.default_ap_account_id = default_ap_account_id
    connection.default_expense_account_id = default_expense_account_id
    connection.location_field_id = location_field_id
    after = _settings_snapshot(connection)
    changes = {
        name: {"old": before[name][1], "new": after[name][1]} for name in before if before[name][0] != after[name][0]
    }
    with transaction.atomic():
        connection.save()
        if changes:
            record(Action.SETTINGS_CHANGED, actor=actor, target="QuickBooks settings", details={"changes": changes})
    if kind_changed and connection.status != ConnectionStatus.NOT_CONNECTED:
        mark_existing_documents(connection)
    return connection


_LISTS: list[tuple[str, str, str]] = [
    # (QBO entity, our list, QBO field holding the name)
    ("Account", ListKind.ACCOUNT, "FullyQualifiedName"),
    ("Class", ListKind.CLASS, "FullyQualifiedName"),
    ("Department", ListKind.LOCATION, "FullyQualifiedName"),
    ("Customer", ListKind.CUSTOMER_PROJECT, "FullyQualifiedName"),
    ("Item", ListKind.ITEM, "FullyQualifiedName"),
    ("TaxCode", ListKind.TAX_CODE, "Name"),
    ("Term", ListKind.TERM, "Name"),
]


def _detail(entity: str, row: dict[str, Any]) -> str:
    if entity == "Account":
        return str(row.get("AccountType", ""))
    if entity == "Item":
        return str(row.get("Type", ""))
    if entity == "Term" and row.get("DueDays") is not None:
        return f"{row['DueDays']} days"
    return ""


# What a list import is doing, for its progress: (step in words, steps done, steps in all).
Progress = Callable[[str, int, int], None]


def lists_import(*, actor: User, client: QboClient | None = None, progress: Progress | None = None) -> dict[str, int]:
    """Import or refresh QuickBooks' lists as the choices on lines and documents; link vendors.
    ``progress`` hears of each step as it starts (``quickbooks.progress`` runs this in the background)."""
    require(actor, Permission.INTEGRATION_MANAGE)
    connection = connection_of(actor.tenant_id)
    if connection.status != ConnectionStatus.CONNECTED:
        raise NotConnected("Connect QuickBooks first.")
    client = client or client_for(connection)
    # The edition decides how tax is sent (``quickbooks.tax``); a company's country may have been
    # set after it connected, so it is read again with the lists.
    connection.country = company_country(client.company_info())
    refresh_company_settings(connection, client)  # home currency and multicurrency may have changed
    counts: dict[str, int] = {}
    tax_codes: list[dict[str, Any]] = []
    steps = len(_LISTS) + 1 + (1 if connection.computes_tax else 0)  # the lists, tax rates, vendors
    tell = progress or (lambda _what, _done, _total: None)
    for done, (entity, kind, name_field) in enumerate(_LISTS):
        tell(f"Reading {LIST_WORDS.get(entity, entity)}", done, steps)
        rows = list(client.query_all(entity, "Active IN (true, false)" if entity != "TaxCode" else ""))
        if entity == "TaxCode":
            tax_codes = rows
        existing = {o.external_id: o for o in ListOption.objects.filter(company_id=actor.tenant_id, kind=kind)}
        by_name = {o.name.lower(): o for o in existing.values() if not o.external_id}
        for row in rows:
            name = str(row.get(name_field) or row.get("Name") or row.get("DisplayName") or "")[:200]
            if not name:
                continue
            qbo_id = str(row["Id"])
            option = existing.get(qbo_id) or by_name.get(name.lower())
            active = bool(row.get("Active", True))
            if option is None:
                # A typed-in option with the same name (case-insensitive) would clash; reuse it above.
                ListOption.objects.update_or_create(
                    company_id=actor.tenant_id,
                    kind=kind,
                    name=name,
                    defaults={"external_id": qbo_id, "is_active": active, "detail": _detail(entity, row)},
                )
            else:
                option.name, option.external_id, option.is_active = name, qbo_id, active
                option.detail = _detail(entity, row)
                option.save(update_fields=["name", "external_id", "is_active", "detail"])
        counts[entity] = len(rows)
    if connection.computes_tax:
        # TaxCode and TaxRate are read only and not in CDC (qbo-api.md §1.7): refreshed here.
        tell("Reading tax rates", steps - 2, steps)
        tax_rates = list(client.query_all("TaxRate"))
        import_tax_codes(actor.tenant_id, tax_codes, tax_rates)
        counts["TaxRate"] = len(tax_rates)
    tell("Linking suppliers to vendors", steps - 1, steps)
    counts["vendors matched"] = sum(vendors_match_all(connection=connection, client=client).values())
    connection.lists_imported_at = timezone.now()
    if connection.default_ap_account_id is None:
        # With a single A/P account there is nothing to choose; Bills need one (QBO's default too).
        payables = list(
            ListOption.objects.filter(
                company_id=actor.tenant_id, kind=ListKind.ACCOUNT, detail="Accounts Payable", is_active=True
            )[:2]
        )
        if len(payables) == 1:
            connection.default_ap_account = payables[0]
    connection.save(update_fields=["lists_imported_at", "default_ap_account", "country"])
    record(Action.LISTS_IMPORTED, actor=actor, target="QuickBooks lists", details={"counts": counts})
    return counts


def vendor_map(*, actor: User, supplier_id: int, vendor_id: str) -> VendorLink:
    """Link a supplier to the QuickBooks vendor an Admin chose, after checking it exists, is active
    and stands for no other supplier.

    A vendor the list import kept (the ones Integrations offers) is checked here, without a call to
    QuickBooks. Any other id (added in QuickBooks since the import, or named by an API caller) is
    read from QuickBooks, and kept for the next choice."""
    require(actor, Permission.INTEGRATION_MANAGE)
    supplier = supplier_get(user=actor, supplier_id=supplier_id)
    connection = connection_of(actor.tenant_id)
    if connection.status != ConnectionStatus.CONNECTED:
        raise NotConnected("Connect QuickBooks first.")
    vendor = vendor_imported(connection=connection, vendor_id=vendor_id)
    if vendor is None:
        try:
            vendor = client_for(connection).read("Vendor", vendor_id)
        except QboError as exc:
            if isinstance(exc, QboNotFound) or exc.qbo_status in {400, 404}:
                raise ValidationFailed(
                    f"QuickBooks has no vendor with id {vendor_id}; check the id in QuickBooks.", field="vendor_id"
                ) from exc
            raise QuickBooksError(f"Could not check vendor {vendor_id} in QuickBooks: {exc.message}") from exc
    if vendor.get("Active", True) is False:
        # QuickBooks takes no new bill for an inactive vendor: every document would fail.
        raise ValidationFailed(
            f"The QuickBooks vendor “{vendor.get('DisplayName', vendor_id)}” is inactive in QuickBooks; "
            "make it active there and import the lists again, or choose another vendor.",
            field="vendor_id",
        )
    taken = vendor_taken_by(connection, str(vendor["Id"]), other_than=supplier)
    if taken is not None:
        raise ValidationFailed(
            f"The QuickBooks vendor “{vendor.get('DisplayName', vendor_id)}” is already linked to "
            f"{taken.name}; a vendor can stand for one supplier only.",
            field="vendor_id",
        )
    return link_by_hand(connection=connection, supplier=supplier, vendor=vendor)
