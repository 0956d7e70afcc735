"""Companies, users and role assignment."""

from __future__ import annotations

import re

from django.contrib.auth import password_validation
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.exceptions import ValidationError
from django.db import transaction

from accounts.audit import Action, record
from accounts.models import Company, User
from accounts.roles import Permission, Role, require, roles_ticked, set_roles_fields
from procuresync.errors import ValidationFailed

_CURRENCY = re.compile(r"[A-Za-z]{3}")  # ISO 4217: three ASCII letters
PASSWORD_MAX = 1024  # long enough for any passphrase; refuses megabytes of "password"
# Text a user row stores: (field, how a message names it, most characters the column takes).
_USER_TEXT = (
    ("first_name", "A first name", 150),
    ("last_name", "A last name", 150),
    ("email", "An email address", 254),
)


def _username_errors(username: str) -> list[str]:
    """Django's own rule for usernames (the one the admin and createsuperuser apply)."""
    if len(username) > 150:
        return [f"A username has at most 150 characters (it has {len(username)})."]
    try:
        UnicodeUsernameValidator()(username)
    except ValidationError:
        return ["A username has only letters, digits and @/./+/-/_ characters (no spaces)."]
    return []


def _password_errors(password: str, *, username: str, names: tuple[str, str], email: str) -> list[str]:
    """The rules of AUTH_PASSWORD_VALIDATORS (length, common, all digits, too like the user's own
    name or email), the same ones password change and reset apply."""
    first_name, last_name = names
    candidate = User(username=username, first_name=first_name, last_name=last_name, email=email)
    try:
        password_validation.validate_password(password, user=candidate)
    except ValidationError as error:
        return list(error.messages)
    return []


def company_create(*, name: str, home_currency: str = "USD") -> Company:
    if not name.strip():
        raise ValidationFailed("Enter the company's name.", field="name")
    if not _CURRENCY.fullmatch(home_currency):
        raise ValidationFailed("Enter a three-letter currency code.", field="home_currency")
    return Company.objects.create(name=name.strip(), home_currency=home_currency.upper())


def user_create(
    *,
    company: Company,
    username: str,
    password: str,
    roles: set[Role],
    first_name: str = "",
    last_name: str = "",
    email: str = "",
    actor: User | None = None,
) -> User:
    """Create a user in ``company``. ``actor`` is None only for set-up code (demo data, tests)."""
    if actor is not None:
        require(actor, Permission.USERS_MANAGE)
        if actor.company_id != company.pk:
            raise ValidationFailed("You can only add users to your own company.", field="company")
    if not username.strip():
        raise ValidationFailed("Enter a username.", field="username")
    errors: dict[str, list[str]] = {}
    if problems := _username_errors(username.strip()):
        errors["username"] = problems
    elif User.objects.filter(username__iexact=username.strip()).exists():
        errors["username"] = [f"The username {username!r} is taken."]
    if len(password) > PASSWORD_MAX:
        errors["password"] = [f"A password has at most {PASSWORD_MAX} characters."]
    elif "\x00" in password:
        errors["password"] = ["A password cannot contain NUL characters."]
    elif problems := _password_errors(password, username=username.strip(), names=(first_name, last_name), email=email):
        errors["password"] = problems
    for field, what, max_length in _USER_TEXT:
        value = {"first_name": first_name, "last_name": last_name, "email": email}[field]
        if len(value) > max_length:
            errors[field] = [f"{what} has at most {max_length} characters."]
        elif "\x00" in value:
            errors[field] = [f"{what} cannot contain NUL characters."]
    if errors:
        message = next(iter(errors.values()))[0] if len(errors) == 1 else "The user could not be added."
        raise ValidationFailed(message, fields=errors)
    with transaction.atomic():
        user = User(company=company, username=username.strip(), first_name=first_name, last_name=last_name, email=email)
        set_roles_fields(user, roles)
        user.set_password(password)
        user.save()
        if actor is not None:
            record(Action.USER_ADDED, actor=actor, target=user.username, details={"roles": _assigned_roles(user)})
    return user


def _assigned_roles(user: User) -> list[str]:
    return [role.value for role in roles_ticked(user)]


def user_set_roles(*, actor: User, user: User, roles: set[Role]) -> User:
    require(actor, Permission.USERS_MANAGE)
    if user.company_id != actor.company_id:
        raise ValidationFailed("No such user.", field="user")
    if user.pk == actor.pk and Role.ADMIN not in roles:
        # Otherwise a company can lock itself out of User Management.
        raise ValidationFailed("You cannot remove your own Admin role; ask another Admin.", field="roles")
    old = _assigned_roles(user)
    set_roles_fields(user, roles)
    new = _assigned_roles(user)
    with transaction.atomic():
        user.save(update_fields=["role_create", "role_approve", "role_payment", "role_admin"])
        if new != old:
            record(Action.ROLES_CHANGED, actor=actor, target=user.username, details={"old": old, "new": new})
    return user


def user_set_active(*, actor: User, user: User, active: bool) -> User:
    require(actor, Permission.USERS_MANAGE)
    if user.company_id != actor.company_id:
        raise ValidationFailed("No such user.", field="user")
    if user.pk == actor.pk and not active:
        raise ValidationFailed("You cannot deactivate yourself.", field="is_active")
    changed = user.is_active != active
    user.is_active = active
    with transaction.atomic():
        user.save(update_fields=["is_active"])
        if changed:
            record(Action.USER_REACTIVATED if active else Action.USER_DEACTIVATED, actor=actor, target=user.username)
    return user
