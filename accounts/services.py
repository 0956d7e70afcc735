"""Companies, users and role assignment."""

from __future__ import annotations

from django.db import transaction

from accounts.models import Company, User
from accounts.roles import Permission, Role, require, set_roles_fields
from procuresync.errors import ValidationFailed


def company_create(*, name: str, home_currency: str = "USD") -> Company:
    if not name.strip():
        raise ValidationFailed("Enter the company's name.", field="name")
    if len(home_currency) != 3 or not home_currency.isalpha():
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
    if User.objects.filter(username__iexact=username.strip()).exists():
        raise ValidationFailed(f"The username {username!r} is taken.", field="username")
    if len(password) < 8:
        raise ValidationFailed("A password has at least 8 characters.", field="password")
    with transaction.atomic():
        user = User(company=company, username=username.strip(), first_name=first_name, last_name=last_name, email=email)
        set_roles_fields(user, roles)
        user.set_password(password)
        user.save()
    return user


def user_set_roles(*, actor: User, user: User, roles: set[Role]) -> User:
    require(actor, Permission.USERS_MANAGE)
    if user.company_id != actor.company_id:
        raise ValidationFailed("No such user.", field="user")
    if user.pk == actor.pk and Role.ADMIN not in roles:
        # Otherwise a company can lock itself out of User Management.
        raise ValidationFailed("You cannot remove your own Admin role; ask another Admin.", field="roles")
    set_roles_fields(user, roles)
    user.save(update_fields=["role_create", "role_approve", "role_payment", "role_admin"])
    return user


def user_set_active(*, actor: User, user: User, active: bool) -> User:
    require(actor, Permission.USERS_MANAGE)
    if user.company_id != actor.company_id:
        raise ValidationFailed("No such user.", field="user")
    if user.pk == actor.pk and not active:
        raise ValidationFailed("You cannot deactivate yourself.", field="is_active")
    user.is_active = active
    user.save(update_fields=["is_active"])
    return user
