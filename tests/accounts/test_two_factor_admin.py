"""An Admin resets a colleague's two-factor authentication (phone and recovery codes lost), and User
Management shows who has it on, who has it off, and who must still set it up."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import two_factor
from accounts.audit import Action
from accounts.models import AuditEntry, User
from procuresync.errors import NotFound, RoleRequired, ValidationFailed
from tests.accounts.test_two_factor import SETUP, messages_of, password_login, turned_on, verified_client


def logged_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def row_of(page: str, user: User) -> str:
    found = re.search(rf'<tr id="user-{user.pk}">.*?</tr>', page, re.S)
    assert found, page
    return found.group(0)


def resets() -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(action=Action.TWO_FACTOR_DISABLED.value))


def test_given_users_with_and_without_two_factor_then_user_management_shows_each_and_offers_reset_where_on(
    admin: User, approver: User, creator: User
) -> None:
    device, _ = turned_on(admin)
    turned_on(creator)
    two_factor.set_company_requirement(actor=admin, required=True)

    page = verified_client(admin, device).get("/users/").content.decode()

    on, missing, own = row_of(page, creator), row_of(page, approver), row_of(page, admin)
    assert "2FA on" in on and f"/users/{creator.pk}/two-factor/reset/" in on
    assert 'data-confirm="Reset two-factor authentication of creator?' in on
    assert "2FA off" in missing and "required, not set up" in missing and "Reset two-factor" not in missing
    assert "2FA on" in own and "Reset two-factor" not in own  # their own: turned off on Your account


def test_given_an_approver_who_lost_their_phone_when_an_admin_resets_their_two_factor_then_they_set_it_up_again(
    admin: User, approver: User
) -> None:
    device, codes = turned_on(approver)
    admins_device, _ = turned_on(admin)  # required of the Admin too, who has it on
    two_factor.set_company_requirement(actor=admin, required=True)
    approvers_browser = verified_client(approver, device)

    done = verified_client(admin, admins_device).post(f"/users/{approver.pk}/two-factor/reset/", follow=True)
    next_login, _ = password_login(approver)

    said = " ".join(messages_of(done))
    assert "Two-factor authentication of approver is reset" in said
    assert "requires it for their role, so they set up a new one on their next page" in said
    assert "2FA off" in row_of(done.content.decode(), approver)
    assert not TOTPDevice.objects.filter(user=approver).exists()
    assert not StaticDevice.objects.filter(user=approver).exists()
    with pytest.raises(ValidationFailed):
        two_factor.check_code(approver, codes[0])  # the recovery codes went with the phone
    assert approvers_browser.get("/invoices/")["Location"] == f"{SETUP}?next=%2Finvoices%2F"
    assert next_login.get("/invoices/")["Location"] == f"{SETUP}?next=%2Finvoices%2F"
    (entry,) = resets()
    assert (entry.actor, entry.target, entry.company_id) == (admin, "approver", admin.company_id)
    assert entry.details == {"by": "admin reset"}


def test_given_a_user_without_two_factor_when_an_admin_resets_it_then_it_says_there_is_nothing_to_reset(
    admin: User, creator: User
) -> None:
    done = logged_in(admin).post(f"/users/{creator.pk}/two-factor/reset/", follow=True)

    assert "creator has no two-factor authentication to reset; nothing changed." in " ".join(messages_of(done))
    assert resets() == []


def test_given_an_admin_when_they_reset_their_own_two_factor_then_it_is_refused_and_stays_on(admin: User) -> None:
    device, _ = turned_on(admin)

    done = verified_client(admin, device).post(f"/users/{admin.pk}/two-factor/reset/", follow=True)

    assert "turn it off on Your account" in " ".join(messages_of(done))
    assert two_factor.has_two_factor(admin)
    assert resets() == []


def test_given_an_admin_of_another_company_when_they_reset_our_users_two_factor_then_there_is_no_such_user(
    outsider: User, approver: User
) -> None:
    turned_on(approver)

    page = logged_in(outsider).post(f"/users/{approver.pk}/two-factor/reset/")
    with pytest.raises(NotFound, match="No such user"):
        two_factor.reset_by_admin(actor=outsider, user=approver)

    assert page.status_code == 404
    assert two_factor.has_two_factor(approver) and resets() == []


def test_given_a_user_without_the_admin_role_then_they_cannot_reset_anyones_two_factor(
    approver: User, creator: User
) -> None:
    turned_on(creator)

    with pytest.raises(RoleRequired, match="Admin role"):
        two_factor.reset_by_admin(actor=approver, user=creator)
    assert logged_in(approver).post(f"/users/{creator.pk}/two-factor/reset/").status_code == 403
    assert two_factor.has_two_factor(creator)
