"""Two-factor authentication: turning it on and off, the code after the password, recovery codes, the
company's requirement for Admin and Approve roles, API tokens that keep working, and a new token
only with the code as well as the password.

Codes are computed here from the device's secret, as the authenticator app would."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django_otp.oath import TOTP, hotp
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from accounts import two_factor
from accounts.audit import Action
from accounts.models import AuditEntry, Company, User
from procuresync.errors import ValidationFailed
from tests.api.conftest import assert_error
from tests.conftest import PASSWORD

SETUP = "/account/two-factor/setup/"
VERIFY = "/account/two-factor/verify/"


def app_code(device: Any) -> str:
    """The code the app shows now, or, when this test already used that one, the next one: the
    server accepts a code one 30-second step ahead, so the test need not wait for the clock."""
    device.refresh_from_db()
    now = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift).t()
    return f"{hotp(device.bin_key, max(now, device.last_t + 1), digits=device.digits):06d}"


def wrong_code(device: Any) -> str:
    now = TOTP(device.bin_key, device.step, device.t0, device.digits).t()
    right = {f"{hotp(device.bin_key, t, digits=device.digits):06d}" for t in range(now - 5, now + 6)}
    return next(code for code in ("000000", "111111", "222222") if code not in right)


def turned_on(user: User) -> tuple[Any, list[str]]:
    pending = two_factor.pending_authenticator(user)
    return two_factor.turn_on(user, app_code(pending))


def password_login(user: User, next_url: str = "") -> tuple[Client, Any]:
    client = Client()
    body = {"username": user.username, "password": PASSWORD, **({"next": next_url} if next_url else {})}
    return client, client.post("/login/", body)


def verified_client(user: User, device: Any) -> Client:
    """A browser that logged in with the password and then the code."""
    client, _ = password_login(user)
    assert client.post(VERIFY, {"code": app_code(device)}).status_code == 302
    return client


def audit(user: User, action: Action) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(actor=user, action=action.value))


def messages_of(response: Any) -> list[str]:
    return [str(message) for message in response.context["messages"]]


# --- Turning it on ------------------------------------------------------------------------------


def test_given_a_user_when_they_enter_the_code_from_their_app_then_two_factor_is_on_with_ten_recovery_codes(
    creator: User,
) -> None:
    client = Client()
    client.force_login(creator)
    page = client.get(SETUP)
    secret = page.context["secret"]
    device = TOTPDevice.objects.get(user=creator)

    done = client.post(SETUP, {"code": app_code(device), "next": "/account/"}, follow=True)

    assert "<svg" in page.content.decode() and secret in page.content.decode()
    assert secret.replace(" ", "") in device.config_url  # the QR code and the typed key are one secret
    assert two_factor.has_two_factor(creator)
    assert done.redirect_chain[-1][0].startswith("/account/two-factor/recovery-codes/")
    assert len(done.context["codes"]) == two_factor.RECOVERY_CODE_COUNT
    assert all(code in done.content.decode() for code in done.context["codes"])
    assert len(audit(creator, Action.TWO_FACTOR_ENABLED)) == 1


def test_given_recovery_codes_shown_when_the_page_is_opened_again_then_they_are_not_shown_twice(
    creator: User,
) -> None:
    client = Client()
    client.force_login(creator)
    client.get(SETUP)
    client.post(SETUP, {"code": app_code(TOTPDevice.objects.get(user=creator))})

    first = client.get("/account/two-factor/recovery-codes/")
    again = client.get("/account/two-factor/recovery-codes/")

    assert first.context["codes"] and again.context["codes"] is None
    assert "shown only once" in again.content.decode()


def test_given_a_wrong_code_when_turning_on_then_it_stays_off_and_the_failure_is_recorded(creator: User) -> None:
    client = Client()
    client.force_login(creator)
    client.get(SETUP)
    device = TOTPDevice.objects.get(user=creator)

    response = client.post(SETUP, {"code": wrong_code(device)})

    assert response.status_code == 200
    assert "That code is not right" in response.content.decode()
    assert not two_factor.has_two_factor(creator)
    assert audit(creator, Action.TWO_FACTOR_FAILED)[0].details["step"] == "turn on"


@pytest.mark.parametrize(
    ("typed", "says"),
    [("", "Enter the 6-digit code"), ("12345", "6 digits"), ("12 34 5x", "6 digits"), ("9" * 500, "not a code")],
)
def test_given_something_that_is_not_a_code_when_turning_on_then_it_says_what_a_code_looks_like(
    creator: User, typed: str, says: str
) -> None:
    client = Client()
    client.force_login(creator)
    client.get(SETUP)

    response = client.post(SETUP, {"code": typed})

    assert says in response.content.decode()
    assert not two_factor.has_two_factor(creator)


def test_given_a_secret_shown_but_never_confirmed_then_login_asks_for_no_code(creator: User) -> None:
    two_factor.pending_authenticator(creator)

    client, _ = password_login(creator)

    assert client.get("/invoices/").status_code == 200


# --- Logging in ---------------------------------------------------------------------------------


def test_given_two_factor_on_when_logging_in_then_the_code_is_asked_before_any_page(creator: User) -> None:
    device, _ = turned_on(creator)
    client, response = password_login(creator, next_url="/invoices/?status=approved")

    held_back = client.get("/invoices/?status=approved")
    asked = client.get(held_back["Location"])
    passed = client.post(held_back["Location"], {"code": app_code(device), "next": asked.context["next"]})

    assert response["Location"] == "/invoices/?status=approved"
    assert held_back.status_code == 302 and held_back["Location"].startswith(VERIFY)
    assert "Enter your code" in asked.content.decode()
    assert passed["Location"] == "/invoices/?status=approved"  # lands where the user was going
    assert client.get("/invoices/?status=approved").status_code == 200


def test_given_a_wrong_code_at_login_then_it_is_refused_recorded_and_the_next_guess_must_wait(
    creator: User,
) -> None:
    device, _ = turned_on(creator)
    client, _ = password_login(creator)

    refused = client.post(VERIFY, {"code": wrong_code(device)})
    too_soon = client.post(VERIFY, {"code": app_code(device)})

    assert "That code is not right" in refused.content.decode()
    assert "Too many wrong codes. Try again in 1 second." in too_soon.content.decode()
    assert client.get("/invoices/").status_code == 302  # still held at the code
    assert audit(creator, Action.TWO_FACTOR_FAILED)[0].details == {"step": "login", "failures": 1}


def test_given_recovery_codes_when_one_is_used_to_log_in_then_it_works_only_once(creator: User) -> None:
    _, codes = turned_on(creator)

    first, _ = password_login(creator)
    used = first.post(VERIFY, {"code": codes[0].upper()}, follow=True)
    second, _ = password_login(creator)
    other = second.post(VERIFY, {"code": codes[1]})
    third, _ = password_login(creator)
    again = third.post(VERIFY, {"code": codes[0]})

    assert used.status_code == 200 and used.redirect_chain[-1][0] == "/invoices/"
    assert "You used a recovery code; 9 left." in " ".join(messages_of(used))
    assert other.status_code == 302
    assert "used already" in again.content.decode()
    assert third.get("/invoices/").status_code == 302
    assert [entry.details["left"] for entry in audit(creator, Action.RECOVERY_CODE_USED)] == [8, 9]


def test_given_new_recovery_codes_then_the_old_ones_no_longer_work(creator: User) -> None:
    _, old = turned_on(creator)

    new = two_factor.renew_recovery_codes(creator)

    assert set(new).isdisjoint(old) and len(new) == two_factor.RECOVERY_CODE_COUNT
    assert two_factor.check_code(creator, new[0]).recovery_codes_left == 9
    with pytest.raises(ValidationFailed, match="used already"):
        two_factor.check_code(creator, old[0])
    assert len(audit(creator, Action.RECOVERY_CODES_RENEWED)) == 1


def test_given_an_unverified_session_when_htmx_asks_for_a_fragment_then_the_whole_page_goes_to_the_code(
    creator: User,
) -> None:
    turned_on(creator)
    client, _ = password_login(creator)

    response = client.get("/invoices/?q=x", HTTP_HX_REQUEST="true")

    assert response["HX-Redirect"].startswith(VERIFY)


# --- Turning it off -----------------------------------------------------------------------------


def test_given_two_factor_on_when_turning_off_with_a_current_code_then_it_is_off(creator: User) -> None:
    device, codes = turned_on(creator)
    client = verified_client(creator, device)

    without = client.post("/account/two-factor/off/", {"code": ""})
    done = client.post("/account/two-factor/off/", {"code": app_code(device)}, follow=True)

    assert "Enter the 6-digit code" in without.content.decode()
    assert "Two-factor authentication is off" in " ".join(messages_of(done))
    assert not two_factor.has_two_factor(creator)
    with pytest.raises(ValidationFailed):
        two_factor.check_code(creator, codes[0])
    assert audit(creator, Action.TWO_FACTOR_DISABLED)[0].details == {"confirmed_with": "code"}


def test_given_the_company_requires_it_when_an_approver_tries_to_turn_it_off_then_it_stays_on(
    admin: User, approver: User
) -> None:
    device, _ = turned_on(approver)
    two_factor.set_company_requirement(actor=admin, required=True)

    with pytest.raises(ValidationFailed, match="company requires two-factor authentication"):
        two_factor.turn_off(approver, app_code(device))
    assert two_factor.has_two_factor(approver)


# --- The company's requirement ------------------------------------------------------------------


def test_given_2fa_required_for_an_approve_role_user_when_the_setting_is_on_then_they_must_set_it_up_first(
    admin: User, approver: User
) -> None:
    two_factor.set_company_requirement(actor=admin, required=True)
    client, _ = password_login(approver)

    held_back = client.get("/invoices/")
    setup_page = client.get(held_back["Location"])
    device = TOTPDevice.objects.get(user=approver)
    client.post(held_back["Location"], {"code": app_code(device), "next": setup_page.context["next"]})

    assert held_back.status_code == 302 and held_back["Location"] == f"{SETUP}?next=%2Finvoices%2F"
    assert "Your company requires two-factor authentication" in setup_page.content.decode()
    assert client.get("/invoices/").status_code == 200  # set up: this session has passed its code


def test_given_2fa_required_when_a_create_only_user_logs_in_then_no_code_is_asked(
    admin: User, creator: User
) -> None:
    two_factor.set_company_requirement(actor=admin, required=True)
    client, _ = password_login(creator)

    assert client.get("/invoices/").status_code == 200


def test_given_one_company_requires_2fa_then_another_companys_admin_is_not_asked(
    admin: User, outsider: User
) -> None:
    two_factor.set_company_requirement(actor=admin, required=True)
    client, _ = password_login(outsider)  # Admin and Approve in Globex

    assert client.get("/invoices/").status_code == 200


def test_given_an_admin_without_2fa_when_they_require_it_then_the_change_is_recorded_and_they_are_sent_to_set_up(
    admin: User, approver: User
) -> None:
    client = Client()
    client.force_login(admin)

    response = client.post("/users/two-factor/", {"require_two_factor": "1"}, follow=True)

    assert response.redirect_chain[0][0] == f"{SETUP}?next=/users/"
    assert "you included" in " ".join(messages_of(response))
    assert "Your company requires two-factor authentication" in response.content.decode()
    entry = audit(admin, Action.SETTINGS_CHANGED)[0]
    assert entry.details == {"setting": "require_two_factor", "old": False, "new": True}
    assert client.get("/users/")["Location"] == f"{SETUP}?next=%2Fusers%2F"


def test_given_an_admin_with_2fa_when_they_require_it_then_the_list_names_who_must_still_set_it_up(
    admin: User, approver: User, creator: User
) -> None:
    device, _ = turned_on(admin)
    client = verified_client(admin, device)

    response = client.post("/users/two-factor/", {"require_two_factor": "1"}, follow=True)

    assert response.redirect_chain[-1][0] == "/users/"
    assert "1 of them will be asked to set it up on their next page: approver." in " ".join(messages_of(response))


@pytest.mark.parametrize("switch", ["", "yes", "2"])
def test_given_a_made_up_switch_value_then_the_setting_is_unchanged(
    admin: User, company: Company, switch: str
) -> None:
    client = Client()
    client.force_login(admin)

    response = client.post("/users/two-factor/", {"require_two_factor": switch}, follow=True)

    company.refresh_from_db()
    assert not company.require_two_factor
    assert "the setting was not changed" in " ".join(messages_of(response))


def test_given_an_approver_then_they_cannot_change_the_requirement(approver: User) -> None:
    client = Client()
    client.force_login(approver)

    assert client.post("/users/two-factor/", {"require_two_factor": "0"}).status_code == 403


# --- The API ------------------------------------------------------------------------------------


def test_given_2fa_required_when_an_approver_calls_the_api_with_a_token_then_it_keeps_working(
    admin: User, approver: User
) -> None:
    token = Token.objects.create(user=approver)
    two_factor.set_company_requirement(actor=admin, required=True)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    with_session, _ = password_login(approver)  # a browser that has not entered its code yet

    assert api.get("/api/v1/invoices/").status_code == 200
    assert with_session.get("/api/v1/me", HTTP_AUTHORIZATION=f"Token {token.key}").status_code == 200


def test_given_an_unverified_session_when_it_calls_the_api_then_403_in_json_saying_why(
    admin: User, approver: User
) -> None:
    two_factor.set_company_requirement(actor=admin, required=True)
    client, _ = password_login(approver)

    response = client.get("/api/v1/invoices/")

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "two_factor_required"
    assert "Authorization: Token" in response.json()["error"]["message"]


def ask_for_token(username: str, code: str | None = None) -> Any:
    body = {"username": username, "password": PASSWORD, **({"code": code} if code is not None else {})}
    return APIClient().post("/api/v1/auth/token", body, format="json")


def test_given_two_factor_on_when_a_token_is_asked_for_with_the_password_alone_then_401_asks_for_the_code(
    creator: User,
) -> None:
    turned_on(creator)

    answers = [ask_for_token("creator"), ask_for_token("creator", code=" ")]

    for answer in answers:
        error = assert_error(answer, 401, code="two_factor_required")
        assert 'send "code" with the current code from the authenticator app' in error["message"]
    assert not Token.objects.filter(user=creator).exists()


def test_given_two_factor_on_when_a_token_is_asked_for_with_the_current_code_then_it_is_issued_once_per_code(
    creator: User,
) -> None:
    device, _ = turned_on(creator)
    code = app_code(device)

    answer = ask_for_token("creator", code=code)
    replayed = ask_for_token("creator", code=code)

    assert answer.status_code == 200
    assert answer.json()["token"] == Token.objects.get(user=creator).key
    assert_error(replayed, 401, code="two_factor_failed")  # someone who saw the code cannot use it again


def test_given_a_lost_phone_when_a_token_is_asked_for_with_a_recovery_code_then_it_is_issued_and_the_code_used_up(
    creator: User,
) -> None:
    _, codes = turned_on(creator)

    first = ask_for_token("creator", code=codes[0])
    again = ask_for_token("creator", code=codes[0])

    assert first.status_code == 200 and "token" in first.json()
    assert "used already" in assert_error(again, 401, code="two_factor_failed")["message"]
    assert audit(creator, Action.RECOVERY_CODE_USED)[0].details == {"left": 9, "step": "API token"}


def test_given_a_wrong_code_when_asking_for_a_token_then_401_is_recorded_and_the_next_guess_must_wait(
    creator: User,
) -> None:
    device, _ = turned_on(creator)

    refused = ask_for_token("creator", code=wrong_code(device))
    too_soon = ask_for_token("creator", code=app_code(device))
    not_a_code = ask_for_token("creator", code="12345")

    wrong = assert_error(refused, 401, code="two_factor_failed")["message"]
    assert wrong == "That code is not right. Enter the code the app shows now for procuresync."
    assert assert_error(too_soon, 401, code="two_factor_failed")["message"] == (
        "Too many wrong codes. Try again in 1 second."
    )
    assert assert_error(not_a_code, 401, code="two_factor_failed")["message"] == two_factor.NOT_A_CODE
    assert not Token.objects.filter(user=creator).exists()
    assert audit(creator, Action.TWO_FACTOR_FAILED)[0].details == {"step": "API token", "failures": 1}


def test_given_2fa_required_but_not_set_up_when_an_approver_asks_for_a_token_then_403_says_to_set_it_up_first(
    admin: User, approver: User
) -> None:
    two_factor.set_company_requirement(actor=admin, required=True)

    answer = ask_for_token("approver", code="123456")

    error = assert_error(answer, 403, code="two_factor_setup_required")
    assert "turn it on on the Your account page first" in error["message"]
    assert not Token.objects.filter(user=approver).exists()


def test_given_the_pages_open_before_the_code_then_logout_still_works(creator: User) -> None:
    turned_on(creator)
    client, _ = password_login(creator)

    response = client.post("/logout/")

    assert response.status_code == 302 and response["Location"] == "/login/"


def test_given_a_logged_in_user_then_your_account_shows_two_factor_and_the_password_link(creator: User) -> None:
    client = Client()
    client.force_login(creator)

    before = client.get("/account/").content.decode()
    device, _ = turned_on(creator)
    after = verified_client(creator, device).get("/account/").content.decode()

    assert "Turn on two-factor authentication" in before and 'href="/account/password/"' in before
    assert "10</strong> unused recovery codes" in after and "Turn off" in after
    assert 'href="/account/"' in after  # the user's name in the header leads here

