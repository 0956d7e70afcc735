"""Roles and what they allow: the one place where permissions are decided.

Services call ``require(actor, Permission.X)`` before changing anything, so pages, the API, tasks and
management commands are held to the same rules. Views use ``allowed`` only to decide which buttons
to show; the service still checks.
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING

from procuresync.errors import RoleRequired

if TYPE_CHECKING:
    from accounts.models import User


class Role(enum.StrEnum):
    CREATE = "Create"
    APPROVE = "Approve"
    PAYMENT = "Payment"
    ADMIN = "Admin"


_ROLE_FIELD = {
    Role.CREATE: "role_create",
    Role.APPROVE: "role_approve",
    Role.PAYMENT: "role_payment",
    Role.ADMIN: "role_admin",
}


class Permission(enum.StrEnum):
    DOCUMENT_VIEW = "view documents"
    DOCUMENT_CREATE = "create documents"
    DOCUMENT_EDIT = "edit documents"
    DOCUMENT_SUBMIT = "submit documents for approval"
    DOCUMENT_APPROVE = "approve documents"
    DOCUMENT_REJECT = "reject documents"
    DOCUMENT_REVISE = "revise approved documents"
    DOCUMENT_CANCEL = "cancel documents"
    SUPPLIER_MANAGE = "manage suppliers"
    PAYMENT_VIEW = "see payments"
    PAYMENT_RECORD = "record payments"
    PAYMENT_CANCEL = "cancel payments"
    USERS_MANAGE = "manage users"
    INTEGRATION_MANAGE = "manage integrations"
    QUICKBOOKS_SEND = "send documents to QuickBooks"


# Any member of the company may view documents; everything else needs one of these roles.
PERMISSIONS: dict[Permission, frozenset[Role]] = {
    Permission.DOCUMENT_VIEW: frozenset(Role),
    Permission.DOCUMENT_CREATE: frozenset({Role.CREATE}),
    Permission.DOCUMENT_EDIT: frozenset({Role.CREATE}),
    Permission.DOCUMENT_SUBMIT: frozenset({Role.CREATE}),
    Permission.DOCUMENT_APPROVE: frozenset({Role.APPROVE}),
    Permission.DOCUMENT_REJECT: frozenset({Role.APPROVE}),
    Permission.DOCUMENT_REVISE: frozenset({Role.CREATE, Role.APPROVE}),
    Permission.DOCUMENT_CANCEL: frozenset({Role.CREATE, Role.ADMIN}),
    Permission.SUPPLIER_MANAGE: frozenset({Role.CREATE, Role.ADMIN}),
    Permission.PAYMENT_VIEW: frozenset({Role.PAYMENT}),
    Permission.PAYMENT_RECORD: frozenset({Role.PAYMENT}),
    Permission.PAYMENT_CANCEL: frozenset({Role.PAYMENT}),
    Permission.USERS_MANAGE: frozenset({Role.ADMIN}),
    Permission.INTEGRATION_MANAGE: frozenset({Role.ADMIN}),
    Permission.QUICKBOOKS_SEND: frozenset({Role.CREATE, Role.APPROVE, Role.ADMIN}),
}


def roles_of(user: User) -> frozenset[Role]:
    if not user.is_authenticated or not user.is_active or user.company_id is None:
        return frozenset()
    return frozenset(role for role, field in _ROLE_FIELD.items() if getattr(user, field))


def roles_ticked(user: User) -> list[Role]:
    """The roles ticked for ``user``, also while deactivated (``roles_of`` counts only those in force)."""
    return [role for role, field in _ROLE_FIELD.items() if getattr(user, field)]


def allowed(user: User, action: Permission) -> bool:
    if action is Permission.DOCUMENT_VIEW:
        # Membership alone lets a user read their company's documents, even with no role yet.
        return user.is_authenticated and user.is_active and user.company_id is not None
    return bool(roles_of(user) & PERMISSIONS[action])


def require(user: User, action: Permission) -> None:
    if not allowed(user, action):
        needed = " or ".join(sorted(PERMISSIONS[action]))
        raise RoleRequired(f"You need the {needed} role to {action.value}. Ask an Admin on User Management.")


def set_roles_fields(user: User, roles: set[Role]) -> None:
    for role, field in _ROLE_FIELD.items():
        setattr(user, field, role in roles)
