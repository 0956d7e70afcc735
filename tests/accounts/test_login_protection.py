"""Login protection: failed logins are counted per username and per address, on the login page and
the API's token endpoint alike; a lockout says when to try again, is the same for a username that
does not exist, and an Admin can lift it. Logging in and out, and API tokens, are audited."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from axes.models import AccessAttempt
from django.test import Client
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from accounts import lockouts
from accounts.audit import Action
from accounts.models import AuditEntry, User
from procuresync.errors import NotFound, RoleRequired
from tests.api.conftest import assert_error
from tests.conftest import PASSWORD

LIMIT = 3
LOCKED_OUT = re.compile(
    r"Too many failed logins\. Try again after (?:\d+ \w+ )?(\d\d):(\d\d) UTC \(in 15 minutes\), "
    r"or ask an Admin to unlock your account\."
)


@pytest.fixture(autouse=True)
def _three_tries_then_fifteen_minutes(settings: Any) -> None:
    settings.AXES_FAILURE_LIMIT = LIMIT
    settings.AXES_COOLOFF_TIME = dt.timedelta(minutes=15)


def log_in(client: Client, username: str, password: str = PASSWORD, address: str = "127.0.0.1") -> Any:
    return client.post("/login/", {"username": username, "password": password}, REMOTE_ADDR=address)


def fail_to_log_in(client: Client, username: str, times: int = LIMIT, address: str = "127.0.0.1") -> list[Any]:
    return [log_in(client, username, "wrong-password", address) for _ in range(times)]


def is_logged_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def lockout_text(response: Any) -> str:
    found = re.search(r'<div class="errorbox" role="alert"><p>(.*?)</p>', response.content.decode())
    assert found, response.content.decode()
    return found.group(1)


def shown_time(message: str) -> dt.datetime:
    """The clock time a lockout message gives, as the next such moment from now."""
    found = LOCKED_OUT.search(message)
    assert found, message
    now = timezone.now()
    shown = now.replace(hour=int(found.group(1)), minute=int(found.group(2)), second=0, microsecond=0)
    return shown if shown >= now else shown + dt.timedelta(days=1)


def without_clock_and_csrf(text: str) -> str:
    return re.sub(r"\d\d:\d\d", "hh:mm", re.sub(r"[A-Za-z0-9]{64}", "<csrf>", text))


def admin_client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def entries(action: Action) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(action=action.value).order_by("id"))


# --- The login page ----------------------------------------------------------------------------


def test_given_a_user_who_mistypes_their_password_too_often_then_the_login_page_says_when_to_try_again(
    creator: User,
) -> None:
    client = Client()

    answers = fail_to_log_in(client, "creator")
    right_password_too_late = log_in(client, "creator")

    assert [a.status_code for a in answers] == [200] * (LIMIT - 1) + [429]
    assert "Please enter a correct username and password" in answers[0].content.decode()
    locked = answers[-1]
    assert "Log in to procuresync" in locked.content.decode()  # the login page, as it looks
    message = lockout_text(locked)
    until = shown_time(message)
    assert timezone.now() + dt.timedelta(minutes=14) < until <= timezone.now() + dt.timedelta(minutes=16)
    assert 14 * 60 < int(locked["Retry-After"]) <= 15 * 60
    assert right_password_too_late.status_code == 429 and not is_logged_in(client)
    assert lockout_text(right_password_too_late) == message  # a refused try does not move the time


def test_given_a_username_that_does_not_exist_when_locked_out_then_the_page_is_the_same_as_for_a_real_user(
    creator: User,
) -> None:
    real = fail_to_log_in(Client(), "creator", LIMIT + 1, address="10.0.0.1")
    unknown = fail_to_log_in(Client(), "no-such-user", LIMIT + 1, address="10.0.0.2")

    assert [a.status_code for a in real] == [a.status_code for a in unknown] == [200] * (LIMIT - 1) + [429, 429]
    for mine, theirs in zip(real[-2:], unknown[-2:], strict=True):
        assert LOCKED_OUT.search(lockout_text(mine))
        assert without_clock_and_csrf(mine.content.decode()) == without_clock_and_csrf(theirs.content.decode())


def test_given_many_usernames_tried_from_one_address_then_that_address_is_locked_out_but_not_the_users(
    creator: User,
) -> None:
    client = Client()
    tries = [log_in(client, name, "guess", address="10.0.0.9") for name in ("alice", "bob", "carol")]

    from_that_address = log_in(client, "creator", address="10.0.0.9")
    from_elsewhere = log_in(Client(), "creator", address="10.0.0.10")

    assert [t.status_code for t in tries] == [200] * (LIMIT - 1) + [429]
    assert from_that_address.status_code == 429 and LOCKED_OUT.search(lockout_text(from_that_address))
    assert from_elsewhere.status_code == 302


def test_given_a_username_of_100k_characters_when_logging_in_then_it_is_refused_like_any_wrong_username(
    creator: User,
) -> None:
    answer = log_in(Client(), "x" * 100_000)

    assert answer.status_code == 200
    assert "Please enter a correct username and password" in answer.content.decode()
    # Counted under what django-axes can store (PostgreSQL refuses more than 255 characters).
    assert AccessAttempt.objects.get().username == "x" * 255


# --- An Admin unlocks ----------------------------------------------------------------------------


def test_given_a_locked_out_user_when_an_admin_unlocks_them_then_they_can_log_in_again(
    admin: User, creator: User
) -> None:
    fail_to_log_in(Client(), "creator")
    page = admin_client(admin).get("/users/").content.decode()
    row = re.search(rf'<tr id="user-{creator.pk}">.*?</tr>', page, re.S)
    assert row and "Locked out" in row.group(0) and f"/users/{creator.pk}/unlock/" in row.group(0)

    done = admin_client(admin).post(f"/users/{creator.pk}/unlock/", follow=True)
    client = Client()
    log_in(client, "creator")

    assert "creator is unlocked and can log in again." in done.content.decode()
    assert "Locked out" not in done.content.decode()
    assert is_logged_in(client)
    (unlocked,) = entries(Action.UNLOCKED)
    assert (unlocked.actor, unlocked.target, unlocked.company_id) == (admin, "creator", admin.company_id)


def test_given_a_user_who_is_not_locked_out_when_an_admin_unlocks_them_then_it_says_so(
    admin: User, creator: User
) -> None:
    done = admin_client(admin).post(f"/users/{creator.pk}/unlock/", follow=True)

    assert "creator is not locked out (any lockout has run out); nothing changed." in done.content.decode()
    assert entries(Action.UNLOCKED) == []


def test_given_an_admin_of_another_company_when_they_unlock_our_user_then_there_is_no_such_user(
    outsider: User, creator: User
) -> None:
    fail_to_log_in(Client(), "creator")

    page = admin_client(outsider).post(f"/users/{creator.pk}/unlock/")
    with pytest.raises(NotFound, match="No such user"):
        lockouts.unlock(actor=outsider, user=creator)

    assert page.status_code == 404
    assert log_in(Client(), "creator", address="10.0.0.3").status_code == 429  # still locked out
    assert entries(Action.UNLOCKED) == []


def test_given_a_user_without_the_admin_role_then_they_cannot_unlock_anyone(creator: User, approver: User) -> None:
    fail_to_log_in(Client(), "approver")

    with pytest.raises(RoleRequired, match="Admin role"):
        lockouts.unlock(actor=creator, user=approver)
    assert admin_client(creator).post(f"/users/{approver.pk}/unlock/").status_code == 403


# --- The API's token endpoint ------------------------------------------------------------------


def ask_for_token(client: APIClient, username: str, password: str = PASSWORD) -> Any:
    return client.post("/api/v1/auth/token", {"username": username, "password": password}, format="json")


def test_given_too_many_wrong_passwords_when_asking_for_a_token_then_429_in_json_says_when_to_try_again(
    creator: User,
) -> None:
    client = APIClient()

    answers = [ask_for_token(client, "creator", "wrong-password") for _ in range(LIMIT)]
    right_password_too_late = ask_for_token(client, "creator")

    assert [a.status_code for a in answers[:-1]] == [401] * (LIMIT - 1)
    for locked in (answers[-1], right_password_too_late):
        error = assert_error(locked, 429, code="locked_out")
        assert LOCKED_OUT.fullmatch(error["message"]), error
        assert 14 * 60 < int(locked["Retry-After"]) <= 15 * 60
    assert "token" not in right_password_too_late.json()
    assert not Token.objects.filter(user=creator).exists()
    (lockout,) = entries(Action.LOCKED_OUT)
    assert (lockout.actor, lockout.company_id) == (creator, creator.company_id)


def test_given_failures_on_the_login_page_then_the_token_endpoint_counts_them_too(creator: User) -> None:
    fail_to_log_in(Client(), "creator", LIMIT - 1)

    answer = ask_for_token(APIClient(), "creator", "still-wrong")

    assert_error(answer, 429, code="locked_out")


def test_given_a_username_that_does_not_exist_when_the_token_endpoint_locks_out_then_the_answer_is_the_same(
    creator: User,
) -> None:
    real = [ask_for_token(APIClient(REMOTE_ADDR="10.0.0.1"), "creator", "guess") for _ in range(LIMIT + 1)]
    unknown = [ask_for_token(APIClient(REMOTE_ADDR="10.0.0.2"), "no-such-user", "guess") for _ in range(LIMIT + 1)]

    assert [a.status_code for a in real] == [a.status_code for a in unknown] == [401] * (LIMIT - 1) + [429, 429]
    for mine, theirs in zip(real, unknown, strict=True):
        assert without_clock_and_csrf(mine.content.decode()) == without_clock_and_csrf(theirs.content.decode())


def test_given_failed_logins_when_the_user_then_gets_a_token_then_those_failures_no_longer_count(
    creator: User,
) -> None:
    fail_to_log_in(Client(), "creator", 1, address="10.0.0.1")  # on the login page, from elsewhere
    ask_for_token(APIClient(), "creator", "wrong-password")
    counted = AccessAttempt.objects.filter(username="creator").count()

    issued = ask_for_token(APIClient(), "creator")
    afterwards = [ask_for_token(APIClient(), "creator", "wrong-password") for _ in range(LIMIT - 1)]

    assert counted == 2 and issued.status_code == 200  # one failure from each address, one short of the limit
    assert [a.status_code for a in afterwards] == [401] * (LIMIT - 1)  # counted afresh: no lockout
    assert not AccessAttempt.objects.filter(username="creator", ip_address="10.0.0.1").exists()


def test_given_a_user_when_they_get_and_then_revoke_their_token_then_both_are_audited_and_the_token_stops_working(
    creator: User,
) -> None:
    client = APIClient()
    first = ask_for_token(client, "creator").json()["token"]
    again = ask_for_token(client, "creator").json()["token"]

    client.credentials(HTTP_AUTHORIZATION=f"Token {first}")
    revoked = client.delete("/api/v1/auth/token")
    afterwards = client.get("/api/v1/me")

    assert first == again
    assert revoked.status_code == 204 and not Token.objects.filter(user=creator).exists()
    assert_error(afterwards, 401)
    (created,) = entries(Action.TOKEN_CREATED)  # once: the second request got the same token
    (gone,) = entries(Action.TOKEN_REVOKED)
    for entry in (created, gone):
        assert (entry.actor, entry.company_id, entry.target) == (creator, creator.company_id, "creator")


def test_given_a_logged_in_browser_session_when_revoking_the_token_then_it_is_gone(creator: User) -> None:
    Token.objects.create(user=creator)
    client = Client()
    client.force_login(creator)

    revoked = client.delete("/api/v1/auth/token")

    assert revoked.status_code == 204 and not Token.objects.filter(user=creator).exists()


def test_given_no_credentials_when_revoking_a_token_then_401_in_the_error_shape(creator: User) -> None:
    token = Token.objects.create(user=creator)

    answer = APIClient().delete("/api/v1/auth/token")

    assert_error(answer, 401, code="not_authenticated")
    assert Token.objects.filter(pk=token.pk).exists()
    assert entries(Action.TOKEN_REVOKED) == []


# --- The audit trail of logging in and out -----------------------------------------------------


def test_given_a_user_who_logs_in_and_out_then_both_are_audited_with_their_address(creator: User) -> None:
    client = Client()
    log_in(client, "creator", address="10.0.0.7")
    client.post("/logout/", REMOTE_ADDR="10.0.0.7")

    for action in (Action.LOGIN, Action.LOGOUT):
        (entry,) = entries(action)
        assert (entry.actor, entry.company_id, entry.ip_address) == (creator, creator.company_id, "10.0.0.7")


def test_given_failed_logins_then_each_is_audited_under_the_company_whose_username_was_typed(
    creator: User,
) -> None:
    log_in(Client(), "creator", "wrong-password")
    log_in(Client(), "no-such-user", "wrong-password")

    ours, unknown = entries(Action.LOGIN_FAILED)
    assert (ours.actor, ours.actor_name, ours.company_id) == (creator, "creator", creator.company_id)
    assert (unknown.actor, unknown.actor_name, unknown.company_id) == (None, "no-such-user", None)
    assert ours.details == unknown.details == {"reason": "username or password not accepted"}


def test_given_a_lockout_then_it_is_audited_once_and_refused_tries_say_locked_out(creator: User) -> None:
    client = Client()
    fail_to_log_in(client, "creator")
    log_in(client, "creator")  # the right password, refused during the lockout

    (lockout,) = entries(Action.LOCKED_OUT)
    assert (lockout.actor, lockout.actor_name, lockout.company_id) == (creator, "creator", creator.company_id)
    assert lockout.details == {"failures": LIMIT, "minutes": 15}
    reasons = [entry.details["reason"] for entry in entries(Action.LOGIN_FAILED)]
    assert reasons == ["username or password not accepted"] * LIMIT + ["locked out"]
    assert entries(Action.LOGIN) == []
