"""Every form of the pages under hostile input: 100,000-character strings, NUL characters, emoji,
negative and 10^20 amounts, impossible dates, ids that are not numbers, fields left out and choices
that do not exist.

Each form has a table: field -> the hostile values posted to it, each with (part of) the message the
page must show *beside that field*. Every case checks three things: the page answers as it does for
any refusal (re-rendered with 200 or 400, or a redirect with a flash message for the one-button
forms), the message is on the page, and the database is exactly as before (``db_snapshot``).

The tests run on SQLite; ``_nul_refused_like_postgresql`` makes the database refuse NUL in text as
PostgreSQL does, so a NUL that slips past the forms fails here as it would in production.
``test_given_the_apps_forms_then_every_form_and_field_has_hostile_cases`` fails when a form (or a
field) is added to an app's forms.py without a table here.
"""

from __future__ import annotations

import datetime as dt
import importlib
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import pytest
from django import forms
from django.apps import apps
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.db import DataError, connection
from django.test import Client
from django.utils.html import escape

from accounts.forms import RolesForm, UserCreateForm
from accounts.models import User
from payments.forms import PaymentFilterForm, PaymentForm, PaymentImportForm
from payments.models import Method, Payment
from payments.services import payment_record
from procurement.forms import DocumentForm, LineForm, NotesForm, SupplierForm, TransitionForm
from procurement.models import CustomField, Document, DocumentKind, ListKind, ListOption, Supplier
from procurement.services import custom_field_create, document_create, list_option_create, numbering_set_prefix
from procuresync.errors import ValidationFailed
from quickbooks.forms import SettingsForm, VendorMapForm
from quickbooks.models import Connection, ConnectionStatus
from tests.conftest import credit_note_data
from tests.pages.conftest import document_form

if TYPE_CHECKING:
    from django.test.client import _MonkeyPatchedWSGIResponse as TestResponse  # the test client's response

# ------------------------------------------------------------------------------ hostile values


class _Missing:
    def __repr__(self) -> str:
        return "missing"


MISSING: Any = _Missing()  # the field is left out of the POST altogether
LONG = "x" * 100_000
NUL = "Paper\x00Co"
NUL_ID = "1\x00"
EMOJI = "💥🧾"
HUGE = "100000000000000000000"  # 10^20
TODAY = dt.date.today()

# The messages (or the telling part of them) the pages show.
REQUIRED = "This field is required."
NO_NUL = "Null characters are not allowed."
NUMBER = "Enter a number."
DATE = "Enter a valid date."
DATE_RANGE = "between 1900-01-01 and 2099-12-31"
CHOICE = "Select a valid choice."
DIGITS = "no more than 18 digits in total"
EMAIL = "Enter a valid email address."
AMOUNT_LIMIT = "at most 9,999,999,999,999"


def at_most(length: int) -> str:
    return f"at most {length} characters"


class H(NamedTuple):
    """One hostile value for a field and what the page says about it; ``also`` changes other
    fields of the same form (e.g. a discount value needs a discount type to mean anything)."""

    value: Any
    says: str
    also: Mapping[str, Any] = {}


Table = dict[str, list[H]]


def _label(value: Any) -> str:
    if isinstance(value, list):
        return "[" + ",".join(_label(v) for v in value) + "]"
    if value is MISSING:
        return "missing"
    if isinstance(value, str):
        if "\x00" in value:
            return "NUL"
        if value == LONG:
            return "100k-chars"
        if len(value) > 30:
            return f"{len(value)}-chars"
        if value == EMOJI:
            return "emoji"
    return repr(value)


def cases(table: Table) -> list[Any]:
    return [
        pytest.param(
            field,
            hostile,
            id=f"{field}={_label(hostile.value)}"
            + (f"+{'+'.join(f'{k}={v}' for k, v in hostile.also.items())}" if hostile.also else ""),
        )
        for field, values in table.items()
        for hostile in values
    ]


def put(body: dict[str, Any], key: str, value: Any) -> None:
    if value is MISSING:
        body.pop(key, None)
    else:
        body[key] = value


# ------------------------------------------------------------------------------ the tables

# A choice of one of the company's rows (a ModelChoiceField).
_ID_GARBAGE = [
    H("abc", CHOICE),
    H(HUGE, CHOICE),
    H("-1", CHOICE),
    H(NUL_ID, NO_NUL),
    H(EMOJI, CHOICE),
    H("999999", CHOICE),
]

# The header of an invoice (new and edit pages). ``cf_text`` / ``cf_location`` stand for the two
# custom fields of the company: a free-text one and one whose value comes from the Location list.
DOCUMENT_FORM: Table = {
    "supplier": [*_ID_GARBAGE, H(LONG, CHOICE), H(MISSING, REQUIRED)],
    "issue_date": [
        H("0000-01-01", DATE),
        H("9999-12-31", DATE_RANGE),
        H("0001-01-01", DATE_RANGE),
        H("2026-02-30", DATE),
        H(LONG, DATE),
        H(NUL, DATE),
        H(EMOJI, DATE),
        H(MISSING, REQUIRED),
    ],
    "due_date": [
        H("0000-01-01", DATE),
        H("9999-12-31", DATE_RANGE),
        H("2026-02-30", DATE),
        H(LONG, DATE),
        H(NUL, DATE),
        H(EMOJI, DATE),
    ],
    "supplier_unique_code": [
        H(LONG, at_most(100)),
        H(NUL, NO_NUL),
        H("X" * 22, at_most(21)),
        H(MISSING, "Enter the supplier's own invoice number"),
        H("   ", "Enter the supplier's own invoice number"),
    ],
    "purchase_order": _ID_GARBAGE,
    "currency": [
        H(LONG, at_most(3)),
        H(NUL, NO_NUL),
        H(EMOJI, "must use USD"),
        H("EURO", at_most(3)),
        H("12$", "must use USD"),
    ],
    "exchange_rate": [
        H("-1", "greater than or equal to 0"),
        H("0", "greater than zero"),
        H(HUGE, DIGITS),
        H("1e20", DIGITS),
        H("1.123456789", "8 decimal places"),
        H("2", "its exchange rate is 1"),
        H("NaN", NUMBER),
        H("Infinity", NUMBER),
        H(EMOJI, NUMBER),
        H(NUL, NUMBER),
        H(LONG, NUMBER),
    ],
    "discount_type": [H("gift", CHOICE), H(NUL, CHOICE), H(EMOJI, CHOICE), H(LONG, CHOICE)],
    "discount_value": [
        H("-1", "cannot be negative", {"discount_type": "amount"}),
        H("101", "cannot exceed 100%", {"discount_type": "percent"}),
        H("50.01", "larger than the amount", {"discount_type": "amount"}),
        H(HUGE, DIGITS, {"discount_type": "amount"}),
        H("1e20", DIGITS, {"discount_type": "amount"}),
        H("NaN", NUMBER, {"discount_type": "amount"}),
        H(EMOJI, NUMBER),
        H(NUL, NUMBER),
        H(LONG, NUMBER),
    ],
    "notes": [H(LONG, at_most(4000)), H(NUL, NO_NUL)],
    "cf_text": [H(LONG, at_most(200)), H("x" * 201, at_most(200)), H(NUL, NO_NUL)],
    "cf_location": [H("Atlantis", CHOICE), H(NUL, CHOICE), H(EMOJI, CHOICE), H(LONG, CHOICE)],
}

# A choice of one of the company's list options (a TypedChoiceField of ids).
_OPTION_GARBAGE = [
    H("abc", CHOICE),
    H(HUGE, CHOICE),
    H("-1", CHOICE),
    H("999999", CHOICE),
    H(NUL_ID, CHOICE),
    H(EMOJI, CHOICE),
]

# The first line of the lines formset (new and edit pages).
LINE_FORM: Table = {
    "description": [H(LONG, at_most(500)), H(NUL, NO_NUL), H("   ", "Describe what is bought on this line.")],
    "item": _OPTION_GARBAGE,
    "quantity": [
        H(MISSING, REQUIRED),
        H("-1", "greater than zero"),
        H("0", "greater than zero"),
        H(HUGE, DIGITS),
        H("1e20", DIGITS),
        H("99999999999999", AMOUNT_LIMIT),
        H("1.00001", "4 decimal places"),
        H("NaN", NUMBER),
        H("Infinity", NUMBER),
        H(EMOJI, NUMBER),
        H(NUL, NUMBER),
        H(LONG, NUMBER),
    ],
    "unit_price": [
        H(MISSING, REQUIRED),
        H("-0.01", "cannot be negative"),
        H(HUGE, DIGITS),
        H("-1e20", DIGITS),
        H("99999999999999", AMOUNT_LIMIT),
        H("NaN", NUMBER),
        H(EMOJI, NUMBER),
        H(NUL, NUMBER),
        H(LONG, NUMBER),
        # Each within the limit, together far beyond what an amount column holds.
        H("9999999999999", "quantity × unit price", {"quantity": "9999999999999"}),
    ],
    "discount_type": [H("gift", CHOICE), H(NUL, CHOICE), H(EMOJI, CHOICE), H(LONG, CHOICE)],
    "discount_value": [
        H("-1", "cannot be negative", {"discount_type": "amount"}),
        H("101", "cannot exceed 100%", {"discount_type": "percent"}),
        H("50.01", "larger than the amount", {"discount_type": "amount"}),
        H(HUGE, DIGITS, {"discount_type": "percent"}),
        H("NaN", NUMBER, {"discount_type": "percent"}),
        H(EMOJI, NUMBER),
        H(NUL, NUMBER),
    ],
    "account": _OPTION_GARBAGE,
    "line_class": _OPTION_GARBAGE,
    "customer_project": _OPTION_GARBAGE,
    "tax_code": _OPTION_GARBAGE,
    "tax_rate": [
        H("-1", "between 0 and 100"),
        H("101", "between 0 and 100"),
        H(HUGE, "no more than 7 digits"),
        H("NaN", NUMBER),
        H(EMOJI, NUMBER),
        H(NUL, NUMBER),
        H(LONG, NUMBER),
    ],
}

# The lines formset's own bookkeeping fields, as a tampering client would send them.
LINES_MANAGEMENT: Table = {
    "lines-TOTAL_FORMS": [
        H("abc", "ManagementForm data is missing or has been tampered with"),
        H("-1", "Add at least one line."),
        H(NUL_ID, "ManagementForm data is missing or has been tampered with"),
        H(MISSING, "ManagementForm data is missing or has been tampered with"),
        H(HUGE, "Please submit at most 1000 forms."),
    ],
    "lines-INITIAL_FORMS": [
        H("abc", "ManagementForm data is missing or has been tampered with"),
        H(MISSING, "ManagementForm data is missing or has been tampered with"),
    ],
}

NOTES_FORM: Table = {"notes": [H(LONG, at_most(4000)), H(NUL, NO_NUL)]}

TRANSITION_FORM: Table = {"comment": [H(LONG, at_most(2000)), H(NUL, NO_NUL)]}

SUPPLIER_FORM: Table = {
    "name": [H(LONG, at_most(200)), H(NUL, NO_NUL), H(MISSING, REQUIRED), H("   ", REQUIRED)],
    "currency": [
        H(LONG, at_most(3)),
        H(NUL, NO_NUL),
        H(EMOJI, "three-letter"),
        H("12$", "three-letter"),
        H("ÄÖÜ", "three-letter"),
        H(MISSING, REQUIRED),
    ],
    "email": [
        H("not-an-email", EMAIL),
        H(EMOJI, EMAIL),
        H(NUL, NO_NUL),
        H("a" * 250 + "@example.com", at_most(254)),
        H(LONG, at_most(254)),
    ],
    "tax_id": [H(LONG, at_most(50)), H(NUL, NO_NUL)],
    "address": [H(LONG, at_most(1000)), H(NUL, NO_NUL)],
}

PAYMENT_FORM: Table = {
    "amount": [
        H(MISSING, REQUIRED),
        H("-5", "greater than or equal to 0.01"),
        H("0", "greater than or equal to 0.01"),
        H(HUGE, DIGITS),
        H("1e20", DIGITS),
        H("1.005", "2 decimal places"),
        H("9999999999999999.99", "overpay"),
        H("NaN", NUMBER),
        H(EMOJI, NUMBER),
        H(NUL, NUMBER),
        H(LONG, NUMBER),
    ],
    "paid_on": [
        H(MISSING, REQUIRED),
        H("0000-01-01", DATE),
        H("9999-12-31", DATE_RANGE),
        H("0001-01-01", DATE_RANGE),
        H("2026-02-30", DATE),
        H(NUL, DATE),
        H(EMOJI, DATE),
        H(LONG, DATE),
    ],
    "method": [H(MISSING, REQUIRED), H("barter", CHOICE), H(NUL, CHOICE), H(EMOJI, CHOICE), H(LONG, CHOICE)],
    "reference": [H(LONG, at_most(100)), H(NUL, NO_NUL)],
}

# A filter: a bad value is ignored (the list shows as if it were empty), and said beside the field.
PAYMENT_FILTER_FORM: Table = {
    "date_from": [H("0000-01-01", DATE), H("2026-02-30", DATE), H(NUL, DATE), H(EMOJI, DATE), H(LONG, DATE)],
    "date_to": [H("0000-01-01", DATE), H("2026-02-30", DATE), H(NUL, DATE), H(EMOJI, DATE), H(LONG, DATE)],
    "supplier": [H("abc", CHOICE), H(HUGE, CHOICE), H(NUL_ID, NO_NUL), H(EMOJI, CHOICE)],
    "method": [H("barter", CHOICE), H(NUL, CHOICE), H(LONG, CHOICE)],
    "status": [H("lost", CHOICE), H(NUL, CHOICE), H(LONG, CHOICE)],
}

PAYMENT_IMPORT_FORM: Table = {
    "date_from": [
        H(MISSING, "Enter the first day of the range."),
        H("0000-01-01", "Enter the first day as a date"),
        H("2026-02-30", "Enter the first day as a date"),
        H("9999-12-31", DATE_RANGE),
        H("0001-01-01", DATE_RANGE),
        H(NUL, "Enter the first day as a date"),
        H(EMOJI, "Enter the first day as a date"),
        H(LONG, "Enter the first day as a date"),
    ],
    "date_to": [
        H(MISSING, "Enter the last day of the range."),
        H("0000-01-01", "Enter the last day as a date"),
        H("2026-02-30", "Enter the last day as a date"),
        H("9999-12-31", DATE_RANGE),
        H(NUL, "Enter the last day as a date"),
        H(EMOJI, "Enter the last day as a date"),
        H(LONG, "Enter the last day as a date"),
    ],
}

ROLES_FORM: Table = {
    "roles": [H(["Superuser"], CHOICE), H(["Admin\x00"], CHOICE), H([EMOJI], CHOICE), H([LONG], CHOICE)]
}

_USERNAME_RULE = "letters, digits and @/./+/-/_"
USER_CREATE_FORM: Table = {
    "username": [
        H(MISSING, REQUIRED),
        H("   ", REQUIRED),
        H(LONG, at_most(150)),
        H(NUL, NO_NUL),
        H(EMOJI, _USERNAME_RULE),
        H("dana smith", _USERNAME_RULE),
        H("dana/../root", _USERNAME_RULE),
    ],
    "first_name": [H(LONG, at_most(150)), H(NUL, NO_NUL)],
    "last_name": [H(LONG, at_most(150)), H(NUL, NO_NUL)],
    "email": [
        H("not-an-email", EMAIL),
        H(EMOJI, EMAIL),
        H(NUL, NO_NUL),
        H("a" * 250 + "@example.com", at_most(254)),
    ],
    "password": [H(MISSING, REQUIRED), H(NUL, NO_NUL), H("short", "at least 8 characters"), H(LONG, at_most(1024))],
    "roles": [H(["Superuser"], CHOICE), H([NUL], CHOICE)],
}

SETTINGS_FORM: Table = {
    "document_kind": [H(MISSING, REQUIRED), H("garbage", CHOICE), H(NUL, CHOICE), H(EMOJI, CHOICE), H(LONG, CHOICE)],
    "default_ap_account": _ID_GARBAGE,
    "default_expense_account": _ID_GARBAGE,
    "location_field": _ID_GARBAGE,
}

_NO_SUPPLIER = "Choose one of your suppliers."
_VENDOR_ID = "A QuickBooks vendor id is a number"
VENDOR_MAP_FORM: Table = {
    "supplier": [
        H(MISSING, _NO_SUPPLIER),
        H("abc", _NO_SUPPLIER),
        H(HUGE, _NO_SUPPLIER),
        H("-1", _NO_SUPPLIER),
        H(NUL_ID, _NO_SUPPLIER),
        H(EMOJI, _NO_SUPPLIER),
    ],
    "vendor_id": [
        H(MISSING, "Enter the QuickBooks vendor id"),
        H(LONG, at_most(20)),
        H(NUL, NO_NUL),
        H(EMOJI, _VENDOR_ID),
        H("-5", _VENDOR_ID),
        H("58a", _VENDOR_ID),
    ],
}

# The header fields only a credit note's page has (new and edit pages).
CREDIT_NOTE_FORM: Table = {"credited_invoice": _ID_GARBAGE}

# Django's login form (templates/registration/login.html). Wrong credentials, however long, get
# Django's one message for the whole form (it never tells which of the two was wrong).
_NO_LOGIN = "Please enter a correct username and password."
LOGIN_FORM: Table = {
    "username": [H(MISSING, REQUIRED), H(NUL, NO_NUL), H(LONG, _NO_LOGIN), H(EMOJI, _NO_LOGIN)],
    "password": [H(MISSING, REQUIRED), H(NUL, NO_NUL), H(LONG, _NO_LOGIN)],
}

# Every form class of the apps' forms.py -> its table, and the fields with no hostile value at all.
FORM_TABLES: dict[type[forms.Form], Table] = {
    DocumentForm: {**DOCUMENT_FORM, **CREDIT_NOTE_FORM},
    LineForm: LINE_FORM,
    NotesForm: NOTES_FORM,
    TransitionForm: TRANSITION_FORM,
    SupplierForm: SUPPLIER_FORM,
    PaymentForm: PAYMENT_FORM,
    PaymentFilterForm: PAYMENT_FILTER_FORM,
    PaymentImportForm: PAYMENT_IMPORT_FORM,
    RolesForm: ROLES_FORM,
    UserCreateForm: USER_CREATE_FORM,
    SettingsForm: SETTINGS_FORM,
    VendorMapForm: VENDOR_MAP_FORM,
    AuthenticationForm: LOGIN_FORM,
}
NOTHING_HOSTILE: dict[type[forms.Form], dict[str, str]] = {
    SupplierForm: {"is_active": "a checkbox: any value sent reads as ticked"},
    SettingsForm: {"auto_send": "a checkbox", "import_payments": "a checkbox"},
}
# The company's custom fields (the form adds one field per custom field).
DYNAMIC_FIELDS: dict[type[forms.Form], set[str]] = {DocumentForm: {"cf_text", "cf_location"}}

# ------------------------------------------------------------------------------ the database


def db_snapshot() -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table of ours (and the API tokens and queued tasks): all a refusal must leave."""
    labels = {"accounts", "procurement", "payments", "quickbooks", "authtoken", "django_dramatiq"}
    return {
        model._meta.label: list(model._default_manager.order_by("pk").values_list())
        for model in apps.get_models()
        if model._meta.app_label in labels and not model._meta.proxy
    }


@contextmanager
def unchanged(*, audited: bool = False) -> Iterator[None]:
    """``audited``: the refusal is itself on record (a failed login): the audit trail may grow."""
    before = db_snapshot()
    yield
    after = db_snapshot()
    changed = {table for table in before if before[table] != after[table]}
    if audited:
        changed.discard("accounts.AuditEntry")
    assert not changed, f"a refused request changed {sorted(changed)}"


@pytest.fixture(autouse=True)
def _nul_refused_like_postgresql(db: None) -> Iterator[None]:
    """PostgreSQL refuses NUL in text; SQLite stores it. Refuse it here too, so it cannot slip by."""

    def refuse_nul(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        for row in (params if many else [params]) or []:
            values = row.values() if isinstance(row, dict) else (row or ())
            if any(isinstance(value, str) and "\x00" in value for value in values):
                raise DataError("A string literal cannot contain NUL (0x00) characters.")
        return execute(sql, params, many, context)

    with connection.execute_wrapper(refuse_nul):
        yield


# ------------------------------------------------------------------------------ the world the forms act on


@pytest.fixture
def custom_fields(admin: User, creator: User) -> dict[str, CustomField]:
    list_option_create(actor=creator, kind=ListKind.LOCATION, name="Head office")
    return {
        "cf_text": custom_field_create(actor=admin, name="Project"),
        "cf_location": custom_field_create(actor=admin, name="Location", choices_from=ListKind.LOCATION),
    }


@pytest.fixture
def line_options(creator: User) -> dict[str, ListOption]:
    """One option in each list a line chooses from, so the selects are not empty."""
    return {kind: list_option_create(actor=creator, kind=kind, name=f"Our {kind}") for kind in ListKind.values}


@pytest.fixture
def live_connection(company: Any) -> Connection:
    """A connected company as far as the pages can tell; nothing here talks to QuickBooks."""
    return Connection.objects.create(
        company=company, status=ConnectionStatus.CONNECTED, realm_id="9130", import_payments=True
    )


@pytest.fixture
def active_payment(payer: User, approved_invoice: Document) -> Payment:
    return payment_record(
        actor=payer, invoice=approved_invoice, amount=Decimal("10.00"), paid_on=TODAY, method=Method.CHEQUE
    )


def login(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def text(response: TestResponse) -> str:
    return response.content.decode()


def flashed(response: TestResponse) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []


def assert_beside(response: TestResponse, form: forms.BaseForm, field: str, says: str, *, status: int) -> None:
    """The page came back with ``status``, the field carries a message saying ``says``, and every
    message of the field is on the page."""
    assert response.status_code == status, text(response)[:2000]
    messages = [str(m) for m in form.errors.get(field, [])]
    assert any(says in m for m in messages), f"{field}: {messages} (all errors: {dict(form.errors)})"
    page = text(response)
    for message in messages:
        assert escape(message) in page, f"{message!r} is not on the page"


A4 = {"description": "A4 paper", "quantity": "10", "unit_price": "5.00"}


def _invoice_page(
    page: str, request: pytest.FixtureRequest, custom_fields: dict[str, CustomField]
) -> tuple[str, dict[str, Any]]:
    """The URL and a valid body of the new-invoice page or of a draft invoice's edit page."""
    request.getfixturevalue("line_options")
    cf = {f"cf_{field.pk}": "" for field in custom_fields.values()}
    if page == "new":
        supplier: Supplier = request.getfixturevalue("supplier")
        url, body = "/invoices/new/", document_form(supplier.pk, [dict(A4)])
    else:
        draft: Document = request.getfixturevalue("draft_invoice")
        url = f"/invoices/{draft.pk}/edit/"
        body = document_form(draft.supplier_id, [dict(A4)], initial_lines=1, supplier_unique_code="SUP-1001")
    body.update(cf)
    return url, body


# ------------------------------------------------------------------------------ documents and lines


@pytest.mark.parametrize("page", ["new", "edit"])
@pytest.mark.parametrize(("field", "hostile"), cases(DOCUMENT_FORM))
def test_given_an_invoice_form_when_a_header_field_is_hostile_then_it_says_why_beside_it_and_saves_nothing(
    page: str,
    field: str,
    hostile: H,
    request: pytest.FixtureRequest,
    creator: User,
    custom_fields: dict[str, CustomField],
) -> None:
    url, body = _invoice_page(page, request, custom_fields)
    name = f"cf_{custom_fields[field].pk}" if field in custom_fields else field
    put(body, name, hostile.value)
    for other, value in hostile.also.items():
        put(body, other, value)
    client = login(creator)

    with unchanged():
        response = client.post(url, body)

    assert_beside(response, response.context["editor"].form, name, hostile.says, status=200)


@pytest.mark.parametrize("page", ["new", "edit"])
@pytest.mark.parametrize(("field", "hostile"), cases(CREDIT_NOTE_FORM))
def test_given_a_credit_note_form_when_a_header_field_is_hostile_then_it_says_why_beside_it_and_saves_nothing(
    page: str, field: str, hostile: H, creator: User, supplier: Supplier, approved_invoice: Document
) -> None:
    body = document_form(supplier.pk, [dict(A4)], supplier_unique_code="CR-1", credited_invoice=approved_invoice.pk)
    url = "/credit-notes/new/"
    if page == "edit":
        draft = document_create(actor=creator, kind=DocumentKind.CREDIT_NOTE, data=credit_note_data(supplier))
        url = f"/credit-notes/{draft.pk}/edit/"
        body.update({"lines-INITIAL_FORMS": 1, "supplier_unique_code": draft.supplier_unique_code})
    put(body, field, hostile.value)
    client = login(creator)

    with unchanged():
        response = client.post(url, body)

    assert_beside(response, response.context["editor"].form, field, hostile.says, status=200)


@pytest.mark.parametrize("page", ["new", "edit"])
@pytest.mark.parametrize(("field", "hostile"), cases(LINE_FORM))
def test_given_an_invoice_form_when_a_line_field_is_hostile_then_it_says_why_beside_it_and_saves_nothing(
    page: str,
    field: str,
    hostile: H,
    request: pytest.FixtureRequest,
    creator: User,
    custom_fields: dict[str, CustomField],
) -> None:
    url, body = _invoice_page(page, request, custom_fields)
    put(body, f"lines-0-{field}", hostile.value)
    for other, value in hostile.also.items():
        put(body, f"lines-0-{other}", value)
    client = login(creator)

    with unchanged():
        response = client.post(url, body)

    assert_beside(response, response.context["editor"].lines.forms[0], field, hostile.says, status=200)


@pytest.mark.parametrize(
    "lines",
    [
        [{"quantity": "1", "unit_price": "6000000000000"}, {"quantity": "1", "unit_price": "6000000000000"}],
        [{"quantity": "1", "unit_price": "9000000000000", "tax_rate": "100"}],
    ],
    ids=["two-lines-each-within-bounds", "one-line-doubled-by-tax"],
)
def test_given_lines_each_within_bounds_when_the_total_is_not_then_the_page_says_so_and_saves_nothing(
    lines: list[dict[str, str]], creator: User, supplier: Supplier
) -> None:
    body = document_form(supplier.pk, [{"description": "Gold", **line} for line in lines])
    client = login(creator)

    with unchanged():
        response = client.post("/invoices/new/", body)

    assert response.status_code == 200
    assert any(f"The document's total is {AMOUNT_LIMIT}" in e for e in response.context["editor"].errors)
    assert f"The document&#x27;s total is {AMOUNT_LIMIT}" in text(response)


@pytest.mark.parametrize(("field", "hostile"), cases(LINES_MANAGEMENT))
def test_given_an_invoice_form_when_the_lines_bookkeeping_is_tampered_with_then_it_says_so_and_saves_nothing(
    field: str,
    hostile: H,
    request: pytest.FixtureRequest,
    creator: User,
    custom_fields: dict[str, CustomField],
) -> None:
    url, body = _invoice_page("new", request, custom_fields)
    put(body, field, hostile.value)
    client = login(creator)

    with unchanged():
        response = client.post(url, body)

    assert response.status_code == 200
    editor = response.context["editor"]
    errors = [str(e) for e in editor.lines.non_form_errors()] + editor.errors
    assert any(hostile.says in e for e in errors), errors
    assert all(escape(e) in text(response) for e in errors)


@pytest.mark.parametrize(("field", "hostile"), cases(NOTES_FORM))
def test_given_a_pending_invoice_when_its_notes_are_hostile_then_the_notes_field_says_why_and_nothing_is_saved(
    field: str, hostile: H, creator: User, pending_invoice: Document
) -> None:
    client = login(creator)

    with unchanged():
        response = client.post(f"/invoices/{pending_invoice.pk}/edit/", {field: hostile.value})

    assert_beside(response, response.context["form"], field, hostile.says, status=200)


@pytest.mark.parametrize("action", ["approve", "reject"])
@pytest.mark.parametrize(("field", "hostile"), cases(TRANSITION_FORM))
def test_given_a_pending_invoice_when_approved_or_rejected_with_a_hostile_comment_then_it_says_why_and_stays(
    action: str, field: str, hostile: H, approver: User, pending_invoice: Document
) -> None:
    client = login(approver)

    with unchanged():
        response = client.post(f"/invoices/{pending_invoice.pk}/{action}/", {field: hostile.value}, follow=True)

    assert response.redirect_chain[-1][0] == f"/invoices/{pending_invoice.pk}/"
    assert any(hostile.says in m for m in flashed(response)), flashed(response)


# ------------------------------------------------------------------------------ suppliers


@pytest.mark.parametrize("page", ["new", "edit"])
@pytest.mark.parametrize(("field", "hostile"), cases(SUPPLIER_FORM))
def test_given_the_supplier_form_when_a_field_is_hostile_then_it_says_why_beside_it_and_saves_nothing(
    page: str, field: str, hostile: H, creator: User, supplier: Supplier
) -> None:
    body = {"name": "Ink Ltd", "currency": "USD", "email": "", "tax_id": "", "address": "", "is_active": "on"}
    put(body, field, hostile.value)
    url = "/suppliers/new/" if page == "new" else f"/suppliers/{supplier.pk}/edit/"
    client = login(creator)

    with unchanged():
        response = client.post(url, body)

    assert_beside(response, response.context["form"], field, hostile.says, status=200)


# ------------------------------------------------------------------------------ payments


@pytest.mark.parametrize(("field", "hostile"), cases(PAYMENT_FORM))
def test_given_an_approved_invoice_when_a_payment_field_is_hostile_then_it_says_why_beside_it_and_records_nothing(
    field: str, hostile: H, payer: User, approved_invoice: Document
) -> None:
    body = {"amount": "10.00", "paid_on": TODAY.isoformat(), "method": "cheque", "reference": "CHK 7"}
    put(body, field, hostile.value)
    client = login(payer)

    with unchanged():
        response = client.post(f"/payments/record/{approved_invoice.pk}/", body)

    assert_beside(response, response.context["payment_form"], field, hostile.says, status=400)


@pytest.mark.parametrize(("field", "hostile"), cases(PAYMENT_FILTER_FORM))
def test_given_the_payments_page_when_a_filter_is_hostile_then_it_is_ignored_and_said_beside_it(
    field: str, hostile: H, payer: User, active_payment: Payment
) -> None:
    client = login(payer)

    with unchanged():
        response = client.get("/payments/", {field: hostile.value})

    assert_beside(response, response.context["form"], field, hostile.says, status=200)
    assert list(response.context["page_obj"]) == [active_payment]  # the bad filter filters nothing out


@pytest.mark.parametrize(("field", "hostile"), cases(PAYMENT_IMPORT_FORM))
def test_given_a_connected_company_when_the_import_range_is_hostile_then_it_says_why_and_starts_nothing(
    field: str, hostile: H, payer: User, live_connection: Connection
) -> None:
    body = {"import-date_from": (TODAY - dt.timedelta(days=30)).isoformat(), "import-date_to": TODAY.isoformat()}
    put(body, f"import-{field}", hostile.value)
    client = login(payer)

    with unchanged():
        response = client.post("/payments/import/", body)

    assert_beside(response, response.context["import_form"], field, hostile.says, status=400)


def test_given_an_active_payment_when_cancelled_with_a_hostile_reason_then_it_says_why_and_stays_active(
    payer: User, active_payment: Payment
) -> None:
    client = login(payer)
    for reason, says in [(NUL, "control characters"), (LONG, at_most(200))]:
        with unchanged():
            response = client.post(f"/payments/{active_payment.pk}/cancel/", {"reason": reason}, follow=True)

        assert response.redirect_chain[-1][0] == f"/invoices/{active_payment.invoice_id}/"
        assert any(says in m for m in flashed(response)), flashed(response)


# ------------------------------------------------------------------------------ users


@pytest.mark.parametrize(("field", "hostile"), cases(USER_CREATE_FORM))
def test_given_the_add_user_form_when_a_field_is_hostile_then_it_says_why_beside_it_and_adds_no_one(
    field: str, hostile: H, admin: User
) -> None:
    body = {
        "username": "dana",
        "first_name": "Dana",
        "last_name": "",
        "email": "",
        "password": "a-long-password",
        "roles": ["Create"],
    }
    put(body, field, hostile.value)
    client = login(admin)

    with unchanged():
        response = client.post("/users/new/", body)

    assert_beside(response, response.context["form"], field, hostile.says, status=200)


@pytest.mark.parametrize(("field", "hostile"), cases(ROLES_FORM))
def test_given_a_users_row_when_hostile_roles_are_sent_then_the_row_says_why_and_no_role_changes(
    field: str, hostile: H, admin: User, approver: User
) -> None:
    client = login(admin)

    with unchanged():
        response = client.post(f"/users/{approver.pk}/roles/", {field: hostile.value}, HTTP_HX_REQUEST="true")

    assert response.status_code == 200
    error = response.context["error"]
    assert hostile.says in error and not response.context["saved"]
    assert escape(error) in text(response)


def test_given_a_users_row_when_hostile_roles_are_sent_without_htmx_then_the_flash_says_why(
    admin: User, approver: User
) -> None:
    client = login(admin)

    with unchanged():
        response = client.post(f"/users/{approver.pk}/roles/", {"roles": ["Superuser"]}, follow=True)

    assert any(CHOICE in m for m in flashed(response)), flashed(response)
    assert not any("saved" in m for m in flashed(response))


@pytest.mark.parametrize("value", ["maybe", NUL, LONG, EMOJI, MISSING], ids=_label)
def test_given_a_users_row_when_the_active_switch_is_hostile_then_it_says_why_and_the_user_stays(
    value: Any, admin: User, approver: User
) -> None:
    body: dict[str, Any] = {}
    put(body, "active", value)
    client = login(admin)

    with unchanged():
        response = client.post(f"/users/{approver.pk}/active/", body, follow=True)

    assert any("Deactivate or Reactivate" in m for m in flashed(response)), flashed(response)


@pytest.mark.parametrize(("field", "hostile"), cases(LOGIN_FORM))
def test_given_the_login_page_when_a_field_is_hostile_then_it_says_why_beside_it(
    field: str, hostile: H, creator
) -> None:
    body = {"username": "creator", "password": "correct-horse-battery"}
    put(body, field, hostile.value)

    with unchanged(audited=True):
        response = Client().post("/login/", body)

    form = response.context["form"]
    assert_beside(response, form, field if hostile.says != _NO_LOGIN else "__all__", hostile.says, status=200)
    assert not response.context["user"].is_authenticated


# ------------------------------------------------------------------------------ integrations


@pytest.mark.parametrize(("field", "hostile"), cases(SETTINGS_FORM))
def test_given_a_connection_when_a_setting_is_hostile_then_it_says_why_beside_it_and_saves_nothing(
    field: str, hostile: H, admin: User, live_connection: Connection, custom_fields: dict[str, CustomField]
) -> None:
    body = {
        "document_kind": "invoice",
        "auto_send": "on",
        "import_payments": "on",
        "default_ap_account": "",
        "default_expense_account": "",
        "location_field": "",
    }
    put(body, field, hostile.value)
    client = login(admin)

    with unchanged():
        response = client.post("/integrations/settings/", body)

    assert_beside(response, response.context["settings_form"], field, hostile.says, status=400)


@pytest.mark.parametrize(("field", "hostile"), cases(VENDOR_MAP_FORM))
def test_given_a_connection_when_a_vendor_link_is_hostile_then_it_says_why_and_links_nothing(
    field: str, hostile: H, admin: User, supplier: Supplier, live_connection: Connection
) -> None:
    body = {"supplier": str(supplier.pk), "vendor_id": "58"}
    put(body, field, hostile.value)
    client = login(admin)

    with unchanged():
        response = client.post("/integrations/vendors/", body, follow=True)

    assert response.redirect_chain[-1][0] == "/integrations/#vendors"
    assert any(hostile.says in m for m in flashed(response)), flashed(response)


# ------------------------------------------------------------------------------ lists, filters and ids in URLs


@pytest.mark.parametrize(
    "query",
    [
        {"q": LONG},
        {"q": NUL},
        {"q": EMOJI},
        {"status": "lost"},
        {"status": NUL},
        {"sync": NUL},
        {"page": "abc"},
        {"page": HUGE},
        {"page": "-1"},
    ],
    ids=lambda q: "&".join(f"{k}={_label(v)}" for k, v in q.items()),
)
@pytest.mark.parametrize("url", ["/invoices/", "/purchase-orders/", "/suppliers/", "/payments/"])
def test_given_a_list_page_when_its_filters_are_hostile_then_it_still_answers(
    url: str, query: dict[str, str], admin: User, draft_invoice: Document
) -> None:
    admin.role_payment = True
    admin.save()
    client = login(admin)

    with unchanged():
        response = client.get(url, query)

    assert response.status_code == 200


@pytest.mark.parametrize("bad_id", ["abc", "-1", HUGE, "1.5"])
@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("get", "/invoices/{id}/"),
        ("get", "/invoices/{id}/edit/"),
        ("post", "/invoices/{id}/approve/"),
        ("get", "/purchase-orders/{id}/"),
        ("get", "/suppliers/{id}/edit/"),
        ("post", "/payments/record/{id}/"),
        ("post", "/payments/{id}/cancel/"),
        ("get", "/payments/import/{id}/"),
        ("post", "/users/{id}/roles/"),
        ("post", "/users/{id}/active/"),
        ("post", "/users/{id}/two-factor/reset/"),
        ("post", "/integrations/documents/{id}/send/"),
        ("get", "/integrations/reconciliation/{id}/"),
        ("get", "/integrations/reconciliation/?run={id}"),
    ],
)
def test_given_an_id_that_is_no_id_in_a_url_then_the_page_is_not_found(
    method: str, url: str, bad_id: str, admin: User
) -> None:
    for role in ("role_create", "role_approve", "role_payment"):
        setattr(admin, role, True)
    admin.save()
    client = login(admin)

    with unchanged():
        response = getattr(client, method)(url.format(id=bad_id))

    assert response.status_code == 404


# ------------------------------------------------------------------------------ what is not hostile


def test_given_emoji_and_accents_in_free_text_when_saved_then_they_are_kept_as_typed(
    creator: User, supplier: Supplier, custom_fields: dict[str, CustomField]
) -> None:
    """Emoji are garbage in a number, a date or an id, and welcome in a name or a note."""
    client = login(creator)
    response = client.post("/suppliers/new/", {"name": "Café ☕ 🧾", "currency": "eur", "address": "Zürich 🇨🇭"})
    assert response.status_code == 302
    saved = Supplier.objects.get(name="Café ☕ 🧾")
    assert (saved.currency, saved.address) == ("EUR", "Zürich 🇨🇭")

    body = document_form(
        supplier.pk, [{"description": "Tinte 🖋", "quantity": "1", "unit_price": "2"}], notes="Dringend 🔥"
    )
    body[f"cf_{custom_fields['cf_text'].pk}"] = "Été 🌞"
    assert client.post("/invoices/new/", body).status_code == 302
    invoice = Document.objects.get(kind=DocumentKind.INVOICE)
    assert invoice.notes == "Dringend 🔥"
    assert invoice.lines.get().description == "Tinte 🖋"
    assert invoice.custom_values.get().value == "Été 🌞"


# ------------------------------------------------------------------------------ services with no page yet

# Custom fields, list options and numbering prefixes are set up by services (the demo data, the
# QuickBooks lists import) with no page of their own yet; their inputs get the same treatment.
SERVICE_CASES: dict[str, tuple[Callable[[dict[str, User]], Any], str, str]] = {
    "list option name 100k chars": (
        lambda u: list_option_create(actor=u["creator"], kind=ListKind.CLASS, name=LONG),
        "name",
        at_most(200),
    ),
    "list option name with NUL": (
        lambda u: list_option_create(actor=u["creator"], kind=ListKind.CLASS, name=NUL),
        "name",
        "control characters",
    ),
    "list option name blank": (
        lambda u: list_option_create(actor=u["creator"], kind=ListKind.CLASS, name="  "),
        "name",
        "Enter the name",
    ),
    "list option of an unknown list": (
        lambda u: list_option_create(actor=u["creator"], kind="garbage", name="X"),
        "kind",
        "Unknown list",
    ),
    "custom field name 100k chars": (lambda u: custom_field_create(actor=u["admin"], name=LONG), "name", at_most(100)),
    "custom field name with NUL": (
        lambda u: custom_field_create(actor=u["admin"], name=NUL),
        "name",
        "control characters",
    ),
    "custom field name blank": (
        lambda u: custom_field_create(actor=u["admin"], name=" "),
        "name",
        "Enter the field's name.",
    ),
    "custom field from an unknown list": (
        lambda u: custom_field_create(actor=u["admin"], name="Zone", choices_from=EMOJI),
        "choices_from",
        "Unknown list",
    ),
    "numbering prefix 100k chars": (
        lambda u: numbering_set_prefix(actor=u["admin"], kind=DocumentKind.INVOICE, prefix=LONG),
        "prefix",
        "at most 15 characters",
    ),
    "numbering prefix with NUL": (
        lambda u: numbering_set_prefix(actor=u["admin"], kind=DocumentKind.INVOICE, prefix="IN\x00V-"),
        "prefix",
        "control characters",
    ),
    "numbering prefix with a line break": (
        lambda u: numbering_set_prefix(actor=u["admin"], kind=DocumentKind.INVOICE, prefix="INV\n"),
        "prefix",
        "control characters",
    ),
    "numbering prefix of an unknown kind": (
        lambda u: numbering_set_prefix(actor=u["admin"], kind="garbage", prefix="X-"),
        "kind",
        "Unknown document kind",
    ),
}


@pytest.mark.parametrize("case", SERVICE_CASES)
def test_given_a_setup_service_when_its_input_is_hostile_then_it_names_the_field_and_saves_nothing(
    case: str, admin: User, creator: User
) -> None:
    call, field, says = SERVICE_CASES[case]

    with unchanged(), pytest.raises(ValidationFailed) as refused:
        call({"admin": admin, "creator": creator})

    assert any(says in m for m in refused.value.fields.get(field, [])), refused.value.fields


def test_given_a_list_option_when_added_again_in_other_case_then_the_existing_one_is_returned(creator: User) -> None:
    first = list_option_create(actor=creator, kind=ListKind.CLASS, name="Marketing")

    with unchanged():
        again = list_option_create(actor=creator, kind=ListKind.CLASS, name="  MARKETING ")

    assert again == first


# ------------------------------------------------------------------------------ the tables cover every form


def _app_form_classes() -> set[type[forms.BaseForm]]:
    """Every form class defined in a forms.py of one of our apps."""
    root = Path(settings.BASE_DIR).resolve()
    found: set[type[forms.BaseForm]] = set()
    for app in apps.get_app_configs():
        path = Path(app.path).resolve()
        if not (path.parent == root and (path / "forms.py").exists()):  # our apps, not Django's
            continue
        module = importlib.import_module(f"{app.name}.forms")
        found |= {
            obj
            for obj in vars(module).values()
            if isinstance(obj, type) and issubclass(obj, forms.BaseForm) and obj.__module__ == module.__name__
        }
    return found


def test_given_the_apps_forms_then_every_form_and_field_has_hostile_cases() -> None:
    found = _app_form_classes()
    assert len(found) >= 12  # the finder finds (guards against it silently finding nothing)
    missing = found - FORM_TABLES.keys()
    assert not missing, f"forms with no hostile cases: {sorted(f.__name__ for f in missing)}"
    for form, table in FORM_TABLES.items():
        fields = set(form.base_fields) | DYNAMIC_FIELDS.get(form, set())
        exempt = NOTHING_HOSTILE.get(form, {})
        assert not fields - set(table) - set(exempt), f"{form.__name__}: fields with no hostile values"
        assert not set(table) - fields, f"{form.__name__}: the table names fields the form does not have"
        assert all(table.values()), f"{form.__name__}: a field with an empty list of values"
