"""Two-factor authentication: a code from an authenticator app (TOTP) after the password.

Any user may turn it on; a company can require it for its Admin and Approve roles, the ones that
can change users or let money go out. Each user has at most one authenticator (a confirmed
``TOTPDevice``) and a set of single-use recovery codes (a ``StaticDevice``) for a lost phone.
An authenticator counts only once the user has typed a code from it, so a secret that was shown
but never scanned protects nothing and locks no one out. Someone who lost both the phone and the
codes asks an Admin, who can reset theirs on User Management.

Wrong codes slow down: django-otp's devices refuse to check another code for 1, 2, 4, 8, ...
seconds after successive failures (``verify_is_allowed``). The pages turn that into "try again in".
"""

from __future__ import annotations

import base64
import enum
import math
import re
from dataclasses import dataclass
from typing import Any

import segno
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django_otp.models import Device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.audit import Action, record
from accounts.models import Company, User
from accounts.roles import Permission, require
from procuresync.errors import NotFound, ValidationFailed

RECOVERY_CODE_COUNT = 10
_APP_CODE = re.compile(r"[0-9]{6}")
# StaticToken.random_token(): eight characters of lower-case base32.
_RECOVERY_CODE = re.compile(r"[a-z2-7]{8}")
_LONGEST_INPUT = 64  # anything longer is not a code, whatever it is

ENTER_CODE = "Enter the 6-digit code your authenticator app shows for procuresync."
NOT_A_CODE = (
    "That is not a code: the authenticator app shows 6 digits, and a recovery code is 8 letters and digits."
)


class Step(enum.StrEnum):
    """What a logged-in session still has to do before it may use procuresync."""

    VERIFY = "verify"  # enter a code from the authenticator already set up
    SET_UP = "set up"  # the company requires an authenticator, and the user has none yet


def authenticator_of(user: User) -> Any:
    """The user's confirmed TOTPDevice, or None."""
    return TOTPDevice.objects.filter(user=user, confirmed=True).first()


def has_two_factor(user: User) -> bool:
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def _covered_by_requirement(user: User) -> bool:
    """An active user with the Admin or Approve role: whom the company's setting applies to."""
    return user.is_active and (user.role_admin or user.role_approve)


def is_required_by_company(user: User) -> bool:
    """The company requires a second factor of this user: they hold the Admin or Approve role."""
    if user.company_id is None or not _covered_by_requirement(user):
        return False
    # Read afresh, not from user.company: an Admin may have changed it since the user was loaded.
    return Company.objects.filter(pk=user.company_id, require_two_factor=True).exists()


def step_needed(user: User) -> Step | None:
    """For a session that has not passed a second factor: what it must do first, if anything."""
    if has_two_factor(user):
        return Step.VERIFY
    if is_required_by_company(user):
        return Step.SET_UP
    return None


def recovery_codes_left(user: User) -> int:
    return StaticToken.objects.filter(device__user=user, device__confirmed=True).count()


def members_still_to_set_up(company: Company) -> list[User]:
    """Active Admin and Approve users of ``company`` without an authenticator yet."""
    with_authenticator = TOTPDevice.objects.filter(confirmed=True).values("user_id")
    return list(
        User.objects.filter(Q(role_admin=True) | Q(role_approve=True), company=company, is_active=True)
        .exclude(pk__in=with_authenticator)
        .order_by("username")
    )


# --- Turning it on ------------------------------------------------------------------------------


def pending_authenticator(user: User) -> Any:
    """The authenticator being set up: the same secret until it is confirmed, so reloading the
    page does not invalidate what the user has already scanned."""
    pending = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-pk").first()
    if pending is None:
        pending = TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=False)
    return pending


def secret_text(device: Any) -> str:
    """The secret as apps accept it typed in: base32, in groups of four for reading aloud."""
    secret = base64.b32encode(device.bin_key).decode("ascii").rstrip("=")
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def qr_code_svg(device: Any) -> str:
    """The otpauth:// link as an inline SVG QR code (attributes only, no style: the CSP forbids it)."""
    qr = segno.make(device.config_url, error="m")
    return qr.svg_inline(scale=5, light="#fff", title="QR code for your authenticator app", svgclass="qr")


def turn_on(user: User, code: str) -> tuple[Any, list[str]]:
    """Confirm the pending authenticator with a code from it; return it and fresh recovery codes."""
    if has_two_factor(user):
        raise ValidationFailed("Two-factor authentication is already on.", field="code")
    pending = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-pk").first()
    if pending is None:
        raise ValidationFailed("Open “Turn on two-factor authentication” again to get a new QR code.", field="code")
    cleaned = _cleaned(code)
    if not cleaned:
        raise ValidationFailed(ENTER_CODE, field="code")
    if not _APP_CODE.fullmatch(cleaned):
        raise ValidationFailed("The authenticator app shows a code of 6 digits; enter that.", field="code")
    if not _checked(pending, cleaned, user=user, step="turn on"):
        raise ValidationFailed(
            "That code is not right. Enter the code the app shows now for procuresync; if it is still "
            "refused, check that the phone sets its clock automatically.",
            field="code",
        )
    with transaction.atomic():
        pending.confirmed = True
        pending.save(update_fields=["confirmed"])
        TOTPDevice.objects.filter(user=user, confirmed=False).delete()
        codes = _new_recovery_codes(user)
    record(Action.TWO_FACTOR_ENABLED, actor=user, target=user.username)
    return pending, codes


def renew_recovery_codes(user: User) -> list[str]:
    """New recovery codes; the old ones stop working."""
    if not has_two_factor(user):
        raise ValidationFailed("Turn on two-factor authentication first; recovery codes come with it.")
    with transaction.atomic():
        codes = _new_recovery_codes(user)
    record(Action.RECOVERY_CODES_RENEWED, actor=user, target=user.username)
    return codes


def _new_recovery_codes(user: User) -> list[str]:
    device, _ = StaticDevice.objects.get_or_create(user=user, defaults={"name": "Recovery codes", "confirmed": True})
    device.token_set.all().delete()
    codes = [StaticToken.random_token() for _ in range(RECOVERY_CODE_COUNT)]
    StaticToken.objects.bulk_create(StaticToken(device=device, token=code) for code in codes)
    return codes


# --- Checking a code ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Passed:
    device: Device
    recovery_codes_left: int | None  # None: passed with the authenticator, not a recovery code


def check_code(user: User, code: str, *, step: str = "login") -> Passed:
    """Check a code from the authenticator, or a recovery code (used up by this). ``step`` says in
    the audit trail where a wrong code was entered."""
    cleaned = _cleaned(code)
    if not cleaned:
        raise ValidationFailed(f"{ENTER_CODE} Lost the phone? Enter one of your recovery codes.", field="code")
    if _APP_CODE.fullmatch(cleaned):
        device = authenticator_of(user)
        what = "code"
    elif _RECOVERY_CODE.fullmatch(cleaned):
        device = StaticDevice.objects.filter(user=user, confirmed=True).first()
        what = "recovery code"
    else:
        raise ValidationFailed(NOT_A_CODE, field="code")
    if device is None:
        raise ValidationFailed("Two-factor authentication is off for you; there is no code to check.", field="code")
    if what == "recovery code" and not device.token_set.exists():
        raise ValidationFailed(
            "You have no recovery codes left. Enter the code from your authenticator app.", field="code"
        )
    if not _checked(device, cleaned, user=user, step=step):
        if what == "recovery code":
            message = "That recovery code is not right, or it has been used already (each works once)."
        else:
            message = "That code is not right. Enter the code the app shows now for procuresync."
        raise ValidationFailed(message, field="code")
    if what == "code":
        return Passed(device=device, recovery_codes_left=None)
    left = recovery_codes_left(user)
    record(Action.RECOVERY_CODE_USED, actor=user, target=user.username, details={"left": left, "step": step})
    return Passed(device=device, recovery_codes_left=left)


def _cleaned(code: str) -> str:
    # Apps show "123 456" and people copy recovery codes with stray spaces or capitals.
    if len(code) > _LONGEST_INPUT:
        raise ValidationFailed(NOT_A_CODE, field="code")
    return "".join(code.split()).replace("-", "").lower()


def _checked(device: Any, code: str, *, user: User, step: str) -> bool:
    """One guess against ``device``, within its throttle. A refusal is raised only after the
    transaction, so the failure count the device just saved is kept."""
    with transaction.atomic():
        locked = type(device).objects.select_for_update().get(pk=device.pk)
        allowed, throttle = locked.verify_is_allowed()
        passed = allowed and locked.verify_token(code)
        failures = locked.throttling_failure_count
    if not allowed:
        until = (throttle or {}).get("locked_until")
        wait = f"in {_wait_text(until)}" if until is not None else "in a moment"
        raise ValidationFailed(f"Too many wrong codes. Try again {wait}.", field="code")
    if not passed:
        record(Action.TWO_FACTOR_FAILED, actor=user, target=user.username, details={"step": step, "failures": failures})
    return bool(passed)


def _wait_text(until: Any) -> str:
    seconds = max(1, math.ceil((until - timezone.now()).total_seconds()))
    if seconds < 90:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    minutes = math.ceil(seconds / 60)
    if minutes < 90:
        return f"{minutes} minutes"
    return f"{math.ceil(minutes / 60)} hours"


# --- Turning it off, and the company's requirement -----------------------------------------------


def turn_off(user: User, code: str) -> None:
    """Remove the authenticator and the recovery codes, given a current code or a recovery code."""
    if not has_two_factor(user):
        raise ValidationFailed("Two-factor authentication is already off.")
    if is_required_by_company(user):
        raise ValidationFailed(
            "Your company requires two-factor authentication for the Admin and Approve roles, so you "
            "cannot turn it off. An Admin can change that on User Management.",
        )
    passed = check_code(user, code, step="turn off")
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user).delete()
        StaticDevice.objects.filter(user=user).delete()
    used = "recovery code" if passed.recovery_codes_left is not None else "code"
    record(Action.TWO_FACTOR_DISABLED, actor=user, target=user.username, details={"confirmed_with": used})


# --- User Management: who has it, and an Admin's reset ----------------------------------------------


class Standing(enum.StrEnum):
    """A user's two-factor authentication as User Management shows it."""

    ON = "on"
    OFF = "off"
    MISSING = "required, not set up"  # the company requires it for their roles


def standings(actor: User, members: list[User]) -> dict[int, Standing]:
    """Each of ``members``' standing, by id, for the actor's User Management: two queries however many."""
    require(actor, Permission.USERS_MANAGE)
    ours = [member for member in members if member.company_id == actor.company_id]
    on = set(
        TOTPDevice.objects.filter(user__in=ours, confirmed=True).order_by().values_list("user_id", flat=True)
    )
    required = Company.objects.filter(pk=actor.tenant_id, require_two_factor=True).exists()

    def standing(member: User) -> Standing:
        if member.pk in on:
            return Standing.ON
        return Standing.MISSING if required and _covered_by_requirement(member) else Standing.OFF

    return {member.pk: standing(member) for member in ours}


def reset_by_admin(*, actor: User, user: User) -> None:
    """Remove ``user``'s authenticator and recovery codes, for a user who lost both. Where the company
    requires two-factor authentication of them, they set it up again after their next password."""
    require(actor, Permission.USERS_MANAGE)
    if user.company_id != actor.company_id:
        raise NotFound("No such user.")
    if user.pk == actor.pk:
        # Turning it off oneself takes a current code; an Admin's own reset would skip that.
        raise ValidationFailed("You cannot reset your own two-factor authentication; turn it off on Your account.")
    with transaction.atomic():
        # Counted as it is deleted, so of two Admins pressing at once only one resets and is recorded.
        removed, _ = TOTPDevice.objects.filter(user=user, confirmed=True).delete()
        if not removed:
            raise ValidationFailed(f"{user.username} has no two-factor authentication to reset; nothing changed.")
        # Any authenticator being set up goes too: the user starts afresh with a new secret.
        TOTPDevice.objects.filter(user=user).delete()
        StaticDevice.objects.filter(user=user).delete()
        record(Action.TWO_FACTOR_DISABLED, actor=actor, target=user.username, details={"by": "admin reset"})


def set_company_requirement(*, actor: User, required: bool) -> Company:
    """Require (or stop requiring) two-factor authentication of the company's Admin and Approve users."""
    require(actor, Permission.USERS_MANAGE)
    with transaction.atomic():
        company = Company.objects.select_for_update().get(pk=actor.tenant_id)
        old = company.require_two_factor
        if old == required:
            return company
        company.require_two_factor = required
        company.save(update_fields=["require_two_factor"])
        record(
            Action.SETTINGS_CHANGED,
            actor=actor,
            company=company,
            target="Require two-factor authentication for Admin and Approve roles",
            details={"setting": "require_two_factor", "old": old, "new": required},
        )
    return company
