"""The audit trail: an entry for each security-relevant action an Admin or a person starts (users and
roles, QuickBooks connected / disconnected / reconnected, settings with old and new values, the bulk
actions), the Admin page with its filters and CSV download, each company seeing only its own, and
entries that cannot be changed or deleted."""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any
from unittest import mock

import pytest
from django.test import Client
from django.utils import timezone

from accounts.audit import Action, record
from accounts.models import AuditEntry, Company, User
from accounts.roles import Role
from accounts.services import user_create, user_set_active, user_set_roles
from procurement.models import Document, ListKind, ListOption
from quickbooks.export.services import documents_retry_failed
from quickbooks.inbound.payments_import import import_start
from quickbooks.models import (
    Connection,
    ConnectionStatus,
    DocumentSync,
    ReconciliationRun,
    ReconciliationState,
    SyncStatus,
)
from quickbooks.reconciliation_runs import nightly_set, run_fix, run_fix_all
from quickbooks.services import (
    connection_complete,
    connection_disconnect,
    connection_start,
    connection_update_settings,
    lists_import,
)
from tests.conftest import PASSWORD
from tests.quickbooks import conftest as quickbooks_fixtures

# The QuickBooks tests' live emulator, with the product pointed at it.
emulator = quickbooks_fixtures.emulator
qbo_settings = quickbooks_fixtures.qbo_settings


def the_entry(action: Action) -> AuditEntry:
    entries = list(AuditEntry.objects.filter(action=action.value))
    assert len(entries) == 1, [(e.action, e.target) for e in entries]
    return entries[0]


def logged_in(user: User, **headers: str) -> Client:
    client = Client(**headers)
    client.force_login(user)
    return client


def connect(admin: User) -> Connection:
    """What an Admin does: press Connect, consent on Intuit's page, come back."""
    url = connection_start(actor=admin, redirect_uri=quickbooks_fixtures.REDIRECT_URI)
    answer = quickbooks_fixtures.consent(url)
    return connection_complete(
        actor=admin,
        code=answer["code"],
        state=answer["state"],
        realm_id=answer["realmId"],
        redirect_uri=quickbooks_fixtures.REDIRECT_URI,
    )


def live_connection(company: Company) -> Connection:
    """A connected company, as far as procuresync's own records go (nothing here talks to QuickBooks)."""
    return Connection.objects.create(
        company=company, status=ConnectionStatus.CONNECTED, realm_id="9130", import_payments=True
    )


# ------------------------------------------------------------------------------ users and roles


def test_given_an_admin_when_they_add_a_user_then_the_trail_says_who_added_whom_with_which_roles(admin, company):
    user_create(actor=admin, company=company, username="dana", password=PASSWORD, roles={Role.CREATE, Role.PAYMENT})

    entry = the_entry(Action.USER_ADDED)  # the one: set-up code creating the admin names no one
    assert (entry.actor, entry.actor_name, entry.company) == (admin, "admin", company)
    assert entry.target == "dana"
    assert entry.details == {"roles": ["Create", "Payment"]}


def test_given_an_admin_when_they_change_someones_roles_then_the_old_and_new_roles_are_recorded(admin, creator):
    user_set_roles(actor=admin, user=creator, roles={Role.CREATE, Role.APPROVE})
    user_set_roles(actor=admin, user=creator, roles={Role.CREATE, Role.APPROVE})  # saved again: no change

    entry = the_entry(Action.ROLES_CHANGED)
    assert (entry.actor, entry.company_id, entry.target) == (admin, admin.company_id, "creator")
    assert entry.details == {"old": ["Create"], "new": ["Create", "Approve"]}


def test_given_an_admin_when_they_deactivate_and_reactivate_a_user_then_both_are_recorded(admin, creator):
    user_set_active(actor=admin, user=creator, active=False)
    user_set_active(actor=admin, user=creator, active=True)

    for action in (Action.USER_DEACTIVATED, Action.USER_REACTIVATED):
        entry = the_entry(action)
        assert (entry.actor, entry.company_id, entry.target) == (admin, admin.company_id, "creator")


def test_given_a_request_when_an_admin_deactivates_a_user_on_the_page_then_address_and_browser_are_recorded(
    admin, creator
):
    client = logged_in(admin, HTTP_USER_AGENT="Firefox/128.0", REMOTE_ADDR="203.0.113.7")

    client.post(f"/users/{creator.pk}/active/", {"active": "0"})

    entry = the_entry(Action.USER_DEACTIVATED)
    assert (entry.ip_address, entry.user_agent, entry.actor) == ("203.0.113.7", "Firefox/128.0", admin)


# ------------------------------------------------------------------------------ QuickBooks


def test_given_a_company_never_connected_when_the_admin_connects_then_quickbooks_connected_names_the_realm(
    qbo_settings, admin, company
):
    connection = connect(admin)

    entry = the_entry(Action.QBO_CONNECTED)
    assert (entry.actor, entry.company) == (admin, company)
    assert entry.target == f"QuickBooks realm {connection.realm_id}"
    assert entry.details["realm_id"] == connection.realm_id
    assert not AuditEntry.objects.filter(action=Action.QBO_RECONNECTED.value).exists()


def test_given_a_connected_company_when_the_admin_disconnects_and_connects_again_then_both_are_recorded(
    qbo_settings, admin, company
):
    first = connect(admin)
    connection_disconnect(actor=admin)
    connection_disconnect(actor=admin)  # pressed twice: disconnected once
    second = connect(admin)

    disconnected = the_entry(Action.QBO_DISCONNECTED)
    assert (disconnected.actor, disconnected.company, disconnected.details["realm_id"]) == (
        admin,
        company,
        first.realm_id,
    )
    reconnected = the_entry(Action.QBO_RECONNECTED)
    assert (reconnected.actor, reconnected.company) == (admin, company)
    assert reconnected.details["realm_id"] == second.realm_id
    assert reconnected.details["previous_realm_id"] == first.realm_id  # the emulator gave a new company


def test_given_a_connected_company_when_the_admin_imports_the_lists_then_the_trail_counts_them(
    qbo_settings, admin, company
):
    connect(admin)

    lists_import(actor=admin)

    entry = the_entry(Action.LISTS_IMPORTED)
    assert (entry.actor, entry.company, entry.target) == (admin, company, "QuickBooks lists")
    assert entry.details["counts"]["Account"] > 0


def test_given_the_integrations_settings_when_an_admin_changes_them_then_old_and_new_values_are_recorded_by_name(
    qbo_settings, admin, company
):
    connect(admin)
    lists_import(actor=admin)
    connection = Connection.objects.get(company=company)
    expense = ListOption.objects.filter(company=company, kind=ListKind.ACCOUNT, detail="Expense").first()
    assert expense is not None
    unchanged = {
        "import_payments": connection.import_payments,
        "default_ap_account_id": connection.default_ap_account_id,
    }

    for _ in range(2):  # the second save changes nothing and records nothing
        connection_update_settings(
            actor=admin,
            document_kind="purchase_order",
            auto_send=False,
            default_expense_account_id=expense.pk,
            **unchanged,
        )

    entry = the_entry(Action.SETTINGS_CHANGED)
    assert (entry.actor, entry.company) == (admin, company)
    assert entry.details == {
        "changes": {
            "document_kind": {"old": "Invoice", "new": "Purchase order"},
            "auto_send": {"old": True, "new": False},
            "default_expense_account": {"old": None, "new": expense.name},
        }
    }


def test_given_reconciliation_when_an_admin_switches_the_nightly_run_on_then_the_setting_change_is_recorded(admin):
    live_connection(admin.company)

    nightly_set(actor=admin, on=True)

    entry = the_entry(Action.SETTINGS_CHANGED)
    assert (entry.actor, entry.company_id) == (admin, admin.company_id)
    assert entry.details == {"changes": {"reconcile_nightly": {"old": False, "new": True}}}


# ------------------------------------------------------------------------------ bulk actions


def test_given_failed_documents_when_someone_presses_retry_all_failed_then_the_trail_counts_them(
    admin, approved_invoice
):
    live_connection(admin.company)
    DocumentSync.objects.update_or_create(
        document=approved_invoice, defaults={"company_id": admin.company_id, "status": SyncStatus.FAILED}
    )

    assert documents_retry_failed(actor=admin) == 1
    assert documents_retry_failed(actor=admin) == 0  # nothing left to retry: nothing recorded

    entry = the_entry(Action.RETRY_ALL_FAILED)
    assert (entry.actor, entry.company_id, entry.details) == (admin, admin.company_id, {"documents": 1})


def test_given_a_connected_company_when_a_payer_imports_payments_for_a_range_then_the_range_is_recorded(payer):
    live_connection(payer.company)
    today = timezone.localdate()
    first = today - dt.timedelta(days=30)

    run = import_start(actor=payer, date_from=first, date_to=today)

    entry = the_entry(Action.PAYMENTS_IMPORTED)
    assert (entry.actor, entry.company_id) == (payer, payer.company_id)
    assert entry.details == {"from": first.isoformat(), "to": today.isoformat(), "import": run.pk}


def status_difference(invoice: Document) -> dict[str, Any]:
    return {
        "document_id": invoice.pk,
        "number": invoice.number,
        "kind": "status",
        "message": "The status disagrees with the payments.",
        "fix": "recompute_status",
        "qbo_id": "",
        "qbo_url": "",
        "payment_ids": [],
        "gone_from_qbo": False,
        "fixed": "",
    }


def test_given_a_reconciliation_when_an_admin_applies_a_fix_then_the_trail_says_what_was_fixed(
    admin, approved_invoice
):
    live_connection(admin.company)
    run = ReconciliationRun.objects.create(
        company_id=admin.company_id, state=ReconciliationState.DONE, rows=[status_difference(approved_invoice)]
    )

    run_fix(actor=admin, run=run, index=0)
    assert run_fix_all(actor=admin, run=run).fixed == 0  # already fixed: nothing more recorded

    entry = the_entry(Action.RECONCILIATION_FIXED)
    assert (entry.actor, entry.company_id, entry.target) == (admin, admin.company_id, f"Reconciliation {run.pk}")
    assert entry.details["fixes"] == [
        {
            "document": approved_invoice.number,
            "difference": "Status here disagrees with the payments",
            "fix": "Status recomputed",
        }
    ]


# ------------------------------------------------------------------------------ the Admin page


def test_given_two_companies_when_each_admin_opens_the_audit_trail_then_each_sees_only_its_own(
    admin, creator, outsider, other_company
):
    user_set_roles(actor=admin, user=creator, roles={Role.CREATE, Role.APPROVE})
    spy = user_create(actor=outsider, company=other_company, username="globex-clerk", password=PASSWORD, roles=set())

    ours = logged_in(admin).get("/audit/").content.decode()
    theirs = logged_in(outsider).get("/audit/").content.decode()
    their_csv = logged_in(outsider).get("/audit/csv/")
    their_rows = list(csv.reader(io.StringIO(b"".join(their_csv.streaming_content).decode())))

    assert "<td>Roles changed</td>" in ours and "<td>creator</td>" in ours and spy.username not in ours
    assert f"<td>{spy.username}</td>" in theirs and "<td>Roles changed</td>" not in theirs
    their_targets = {row[3] for row in their_rows[1:]}
    assert spy.username in their_targets and "creator" not in their_targets


def test_given_a_user_without_the_admin_role_when_they_open_the_audit_trail_then_it_is_refused(creator):
    client = logged_in(creator)

    assert client.get("/audit/").status_code == 403
    assert client.get("/audit/csv/").status_code == 403


def test_given_an_admin_then_the_menu_offers_the_audit_trail_and_others_do_not_see_it(admin, creator):
    assert 'href="/audit/"' in logged_in(admin).get("/users/").content.decode()
    assert 'href="/audit/"' not in logged_in(creator).get("/", follow=True).content.decode()


def recorded_on(when: dt.datetime, action: Action, actor: User, target: str) -> None:
    with mock.patch("django.utils.timezone.now", return_value=when):
        record(action, actor=actor, target=target)


@pytest.fixture
def october(admin: User, creator: User) -> None:
    """Entries across October 2025 by two people (times in UTC, the settings' time zone)."""
    utc = dt.UTC
    recorded_on(dt.datetime(2025, 10, 1, 9, 0, tzinfo=utc), Action.ROLES_CHANGED, admin, "payer")
    recorded_on(dt.datetime(2025, 10, 15, 12, 0, tzinfo=utc), Action.USER_DEACTIVATED, admin, "old-clerk")
    recorded_on(dt.datetime(2025, 10, 31, 23, 30, tzinfo=utc), Action.RETRY_ALL_FAILED, creator, "Failed documents")


def test_given_entries_when_the_admin_filters_by_dates_action_person_and_target_then_only_those_show(
    admin, october
):
    client = logged_in(admin)

    def targets(query: str) -> list[str]:
        body = client.get(f"/audit/?{query}").content.decode()
        return [t for t in ("payer", "old-clerk", "Failed documents") if f"<td>{t}</td>" in body]

    assert targets("date_from=2025-10-10&date_to=2025-10-31") == ["old-clerk", "Failed documents"]
    assert targets("action=user+deactivated") == ["old-clerk"]
    assert targets("person=CREAT") == ["Failed documents"]
    assert targets("target=clerk") == ["old-clerk"]


def test_given_filters_when_the_admin_downloads_csv_then_the_same_filters_apply_with_a_header_row(admin, october):
    response = logged_in(admin).get("/audit/csv/?date_from=2025-10-10&date_to=2025-10-31&person=admin")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))

    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment" in response["Content-Disposition"]
    assert rows[0] == ["when", "who", "action", "target", "details", "address", "browser"]
    assert rows[1:] == [["2025-10-15T12:00:00+00:00", "admin", "user deactivated", "old-clerk", "{}", "", ""]]


def test_given_the_page_then_the_download_link_carries_the_filters(admin, october):
    body = logged_in(admin).get("/audit/?target=clerk&page=1").content.decode()

    assert 'href="/audit/csv/?target=clerk"' in body


def test_given_a_bad_filter_date_when_the_admin_filters_then_they_are_told_and_nothing_breaks(admin, october):
    client = logged_in(admin)

    impossible = client.get("/audit/?date_from=2026-02-30")
    far_off = client.get("/audit/?date_to=9999-12-31")
    backwards = client.get("/audit/?date_from=2026-11-30&date_to=2026-11-01")
    nul = client.get("/audit/?person=ad%00min")

    assert impossible.status_code == far_off.status_code == backwards.status_code == nul.status_code == 200
    assert "From: Enter the first day as a date, e.g. 2026-11-01. This filter is not applied." in (
        impossible.content.decode()
    )
    assert "To: Enter a date between 1900-01-01 and 2099-12-31." in far_off.content.decode()
    assert "To: The last day is before the first day." in backwards.content.decode()
    assert "Person: Null characters are not allowed." in nul.content.decode()
    assert "old-clerk" in impossible.content.decode()  # the other filters (none) still show everything


def test_given_a_bad_filter_date_when_the_admin_downloads_csv_then_they_are_sent_back_to_correct_it(admin):
    response = logged_in(admin).get("/audit/csv/?date_from=not-a-date", follow=True)

    assert response.redirect_chain[-1][0] == "/audit/?date_from=not-a-date"
    assert "The audit trail was not downloaded: correct the filters first." in response.content.decode()


def test_given_htmx_filtering_then_only_the_results_are_answered(admin, october):
    body = logged_in(admin).get("/audit/?target=clerk", HTTP_HX_REQUEST="true").content.decode()

    assert "<html" not in body and "old-clerk" in body


# ------------------------------------------------------------------------------ append-only


def test_given_an_entry_then_it_cannot_be_changed_or_deleted(admin):
    entry = record(Action.ROLES_CHANGED, actor=admin, target="creator")

    entry.target = "someone else"
    with pytest.raises(PermissionError):
        entry.save()
    with pytest.raises(PermissionError):
        entry.delete()
    with pytest.raises(PermissionError):
        AuditEntry.objects.filter(pk=entry.pk).update(target="someone else")
    with pytest.raises(PermissionError):
        AuditEntry.objects.filter(pk=entry.pk).delete()
    assert AuditEntry.objects.get(pk=entry.pk).target == "creator"
