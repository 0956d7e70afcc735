"""Password hygiene: Django's validators everywhere a password is chosen, changing one's own
password, and resetting a forgotten one by email, each leaving an entry in the audit trail."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from accounts.audit import Action
from accounts.models import AuditEntry, Company, User
from tests.conftest import PASSWORD, make_user

NEW_PASSWORD = "plum-orchard-lantern"


def logs_in(username: str, password: str) -> bool:
    """Through the login page, as a person would (and as the lockout protection expects)."""
    client = Client()
    client.post("/login/", {"username": username, "password": password})
    return "_auth_user_id" in client.session


def logged_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def entries(action: Action) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(action=action.value).order_by("id"))


def without_csrf_token(page: bytes) -> bytes:
    return re.sub(rb'"X-CSRFToken": "[^"]*"', b"", page)


def reset_link(mail: Any) -> str:
    match = re.search(r"http://testserver(/account/password/reset/\S+/\S+/)", mail.body)
    assert match, f"no reset link in the email:\n{mail.body}"
    return match.group(1)


# ------------------------------------------------------------------------------ changing one's password


@pytest.mark.parametrize(
    ("weak", "reason"),
    [
        ("password", "This password is too common."),
        ("4815162342", "This password is entirely numeric."),
        ("k9#x", "This password is too short. It must contain at least 8 characters."),
        ("Creator1!", "The password is too similar to the username."),
    ],
)
def test_given_a_user_when_they_choose_a_weak_new_password_then_the_page_says_why_and_nothing_changes(
    creator: User, weak: str, reason: str
) -> None:
    response = logged_in(creator).post(
        "/account/password/", {"old_password": PASSWORD, "new_password1": weak, "new_password2": weak}
    )

    assert response.status_code == 200
    assert reason in response.content.decode()
    creator.refresh_from_db()
    assert creator.check_password(PASSWORD)
    assert entries(Action.PASSWORD_CHANGED) == []


def test_given_a_user_when_they_change_their_password_then_the_new_one_works_and_the_old_one_no_longer(
    creator: User,
) -> None:
    client = logged_in(creator)

    response = client.post(
        "/account/password/",
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
        follow=True,
    )

    assert response.redirect_chain[-1][0] == "/account/password/changed/"
    assert "Password changed" in response.content.decode()
    assert client.get("/invoices/").status_code == 200, "the user who changed it stays logged in"
    assert logs_in("creator", NEW_PASSWORD)
    assert not logs_in("creator", PASSWORD)
    [entry] = entries(Action.PASSWORD_CHANGED)
    assert entry.actor == creator and entry.company_id == creator.company_id and entry.target == "creator"


def test_given_a_wrong_current_password_when_changing_then_it_is_refused(creator: User) -> None:
    response = logged_in(creator).post(
        "/account/password/", {"old_password": "not-it", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    )

    assert "Your old password was entered incorrectly" in response.content.decode()
    creator.refresh_from_db()
    assert creator.check_password(PASSWORD)


def test_given_a_visitor_when_they_open_the_change_password_page_then_they_are_asked_to_log_in(db: None) -> None:
    response = Client().get("/account/password/")

    assert response.status_code == 302 and response["Location"].startswith("/login/?next=/account/password/")


# ------------------------------------------------------------------------------ an Admin adding a user


def test_given_an_admin_when_they_add_a_user_with_a_common_password_then_the_field_says_why_and_no_one_is_added(
    admin: User,
) -> None:
    response = logged_in(admin).post("/users/new/", {"username": "dana", "password": "password1", "roles": ["Create"]})

    assert response.status_code == 200
    assert response.context["form"].errors["password"] == ["This password is too common."]
    assert "This password is too common." in response.content.decode()
    assert not User.objects.filter(username="dana").exists()


def test_given_an_admin_when_they_add_a_user_whose_password_is_their_email_then_it_is_refused(admin: User) -> None:
    response = logged_in(admin).post(
        "/users/new/", {"username": "dana", "email": "dana.smith@acme.example", "password": "dana.smith@acme.example"}
    )

    assert "The password is too similar to the email address." in response.context["form"].errors["password"]
    assert not User.objects.filter(username="dana").exists()


# ------------------------------------------------------------------------------ reset by email


@pytest.fixture
def creator_with_email(creator: User) -> User:
    creator.email = "creator@acme.example"
    creator.save(update_fields=["email"])
    return creator


def test_given_the_login_page_then_it_offers_a_reset_for_a_forgotten_password(db: None) -> None:
    page = Client().get("/login/").content.decode()

    assert 'href="/account/password/reset/"' in page and "Forgot your password?" in page


def test_given_a_forgotten_password_when_reset_by_email_then_the_new_one_works_and_the_link_only_once(
    creator_with_email: User, mailoutbox: list[Any]
) -> None:
    visitor = Client()

    asked = visitor.post("/account/password/reset/", {"email": "Creator@Acme.example"})

    assert asked.status_code == 302 and asked["Location"] == "/account/password/reset/sent/"
    [mail] = mailoutbox
    assert mail.to == ["creator@acme.example"] and mail.subject == "Reset your procuresync password"
    assert '"creator" at Acme' in mail.body
    link = reset_link(mail)

    form_page = visitor.get(link, follow=True)
    set_password_url = form_page.redirect_chain[-1][0]
    assert "Choose a new password" in form_page.content.decode()
    weak = visitor.post(set_password_url, {"new_password1": "password", "new_password2": "password"})
    assert "This password is too common." in weak.content.decode()
    done = visitor.post(set_password_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}, follow=True)

    assert done.redirect_chain[-1][0] == "/account/password/reset/done/" and "Password set" in done.content.decode()
    assert logs_in("creator", NEW_PASSWORD)
    assert not logs_in("creator", PASSWORD)
    assert "This link does not work" in Client().get(link, follow=True).content.decode()
    [requested] = entries(Action.PASSWORD_RESET_REQUESTED)
    assert requested.actor is None and requested.target == "Creator@Acme.example"
    assert requested.company_id == creator_with_email.company_id and requested.details == {"users": ["creator"]}
    [reset] = entries(Action.PASSWORD_RESET)
    assert reset.actor == creator_with_email and reset.company_id == creator_with_email.company_id


def test_given_an_unknown_email_when_asking_for_a_reset_then_the_answer_is_the_same_and_no_mail_is_sent(
    creator_with_email: User, mailoutbox: list[Any]
) -> None:
    known = Client().post("/account/password/reset/", {"email": "creator@acme.example"}, follow=True)
    mailoutbox.clear()

    unknown = Client().post("/account/password/reset/", {"email": "nobody@nowhere.example"}, follow=True)

    assert unknown.redirect_chain == known.redirect_chain
    assert without_csrf_token(unknown.content) == without_csrf_token(known.content)
    assert mailoutbox == []
    unknown_entry = entries(Action.PASSWORD_RESET_REQUESTED)[-1]
    assert unknown_entry.target == "nobody@nowhere.example"
    assert unknown_entry.company_id is None and unknown_entry.details == {}


def test_given_a_deactivated_user_when_asking_for_a_reset_then_no_mail_is_sent(
    creator_with_email: User, mailoutbox: list[Any]
) -> None:
    creator_with_email.is_active = False
    creator_with_email.save(update_fields=["is_active"])

    response = Client().post("/account/password/reset/", {"email": "creator@acme.example"})

    assert response["Location"] == "/account/password/reset/sent/"
    assert mailoutbox == []


def test_given_one_email_in_two_companies_when_asking_for_a_reset_then_each_account_gets_a_mail_and_an_entry(
    creator_with_email: User, other_company: Company, mailoutbox: list[Any]
) -> None:
    elsewhere = make_user(other_company, "creator-at-globex")
    elsewhere.email = "creator@acme.example"
    elsewhere.save(update_fields=["email"])

    Client().post("/account/password/reset/", {"email": "creator@acme.example"})

    assert sorted(re.search(r'account "(\S+)"', mail.body).group(1) for mail in mailoutbox) == [  # type: ignore[union-attr]
        "creator",
        "creator-at-globex",
    ]
    by_company = {entry.company_id: entry.details for entry in entries(Action.PASSWORD_RESET_REQUESTED)}
    assert by_company == {
        creator_with_email.company_id: {"users": ["creator"]},
        other_company.pk: {"users": ["creator-at-globex"]},
    }


def test_given_a_malformed_email_when_asking_for_a_reset_then_the_field_says_so(db: None, mailoutbox: list) -> None:
    response = Client().post("/account/password/reset/", {"email": "not an address"})

    assert response.status_code == 200
    assert "Enter a valid email address." in response.content.decode()
    assert mailoutbox == [] and entries(Action.PASSWORD_RESET_REQUESTED) == []
