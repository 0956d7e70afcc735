"""A company's connection as a ready client, and what we cache from QuickBooks (the closing date)."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.utils import timezone

from accounts.models import Company
from quickbooks.client import QboClient, TokenSource
from quickbooks.config import qbo_config
from quickbooks.limits import limiter_for
from quickbooks.models import Connection
from quickbooks.oauth import ConnectionTokens, http_client

CLOSE_DATE_MAX_AGE = dt.timedelta(minutes=5)


def connection_of(company: Company | int) -> Connection:
    """The company's connection row, made on first use (a company that never connected has one
    in "Not connected")."""
    company_id = company if isinstance(company, int) else company.pk
    connection, _ = Connection.objects.get_or_create(company_id=company_id)
    return connection


def client_for(connection: Connection) -> QboClient:
    return client_with(connection.realm_id, ConnectionTokens(connection.pk, qbo_config()))


def client_with(realm_id: str, tokens: TokenSource) -> QboClient:
    """A client for ``realm_id`` on any token source (``client_for`` reads them from the row; a
    connection being made uses the tokens just issued, before anything is stored)."""
    config = qbo_config()
    return QboClient(
        base_url=config.api_base_url.removesuffix("/").removesuffix("/v3"),
        realm_id=realm_id,
        tokens=tokens,
        http=http_client(),
        retry_scale=settings.QBO_RETRY_SCALE,
        limiter=limiter_for(realm_id),
    )


def refresh_company_settings(connection: Connection, client: QboClient) -> None:
    """Read the closing date and currency settings from Preferences (BookCloseDate is read-only in QBO)."""
    preferences = client.preferences()
    accounting = preferences.get("AccountingInfoPrefs", {}) or {}
    currency = preferences.get("CurrencyPrefs", {}) or {}
    raw = accounting.get("BookCloseDate")
    connection.book_close_date = dt.date.fromisoformat(str(raw)[:10]) if raw else None
    connection.book_close_checked_at = timezone.now()
    connection.multicurrency = bool(currency.get("MultiCurrencyEnabled", False))
    home = currency.get("HomeCurrency", {}) or {}
    connection.home_currency = str(home.get("value", "")) if isinstance(home, dict) else ""
    connection.save(update_fields=["book_close_date", "book_close_checked_at", "multicurrency", "home_currency"])


def closing_date(connection: Connection, client: QboClient) -> dt.date | None:
    checked = connection.book_close_checked_at
    if checked is None or timezone.now() - checked > CLOSE_DATE_MAX_AGE:
        refresh_company_settings(connection, client)
    return connection.book_close_date


def closed_books_message(*, document_date: dt.date, close_date: dt.date, number: str) -> str:
    """The one message for a document in a closed period, naming both dates and what to do."""
    return (
        f"{number} is dated {document_date:%d %b %Y}, on or before QuickBooks' closing date "
        f"{close_date:%d %b %Y}, so QuickBooks will not accept it. Revise the document and change its "
        f"date to after {close_date:%d %b %Y}, or ask your accountant to reopen the period in QuickBooks "
        f"(Settings → Advanced → Close the books), then press Retry."
    )


def closed_books_held_message(*, held_date: dt.date, close_date: dt.date, number: str) -> str:
    """When the date QuickBooks holds is closed, changing ours does not help: only reopening does."""
    return (
        f"QuickBooks holds {number} dated {held_date:%d %b %Y}, on or before its closing date "
        f"{close_date:%d %b %Y}, so QuickBooks will not change or remove it. Ask your accountant to reopen "
        "the period in QuickBooks (Settings → Advanced → Close the books), then press Retry."
    )


def forget_closing_date(company_id: int) -> None:
    """The next delivery reads the closing date afresh (after a Retry, the books may be reopened)."""
    Connection.objects.filter(company_id=company_id).update(book_close_checked_at=None)
