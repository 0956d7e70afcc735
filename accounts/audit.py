"""The audit trail: ``record`` writes one entry for a security-relevant action.

Services call ``record(actor=..., action=...)`` where the action happens; who acted comes from the
caller, and from where (address, browser) from the request being served, which ``AuditContext``
keeps for the length of the request, so services need no request argument. Work done outside a
request (the scheduler, a worker, a management command) is recorded without an address.
"""

from __future__ import annotations

import contextvars
import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest, HttpResponse

from accounts.models import AuditEntry, Company, User


class Action(enum.StrEnum):
    LOGIN = "login"
    LOGIN_FAILED = "login failed"
    LOCKED_OUT = "locked out"
    UNLOCKED = "unlocked"
    LOGOUT = "logout"
    TWO_FACTOR_ENABLED = "two-factor enabled"
    TWO_FACTOR_DISABLED = "two-factor disabled"
    TWO_FACTOR_FAILED = "two-factor failed"
    RECOVERY_CODE_USED = "recovery code used"
    RECOVERY_CODES_RENEWED = "recovery codes renewed"
    PASSWORD_CHANGED = "password changed"
    PASSWORD_RESET_REQUESTED = "password reset requested"
    PASSWORD_RESET = "password reset"
    USER_ADDED = "user added"
    USER_DEACTIVATED = "user deactivated"
    USER_REACTIVATED = "user reactivated"
    ROLES_CHANGED = "roles changed"
    TOKEN_CREATED = "API token created"
    TOKEN_REVOKED = "API token revoked"
    QBO_CONNECTED = "QuickBooks connected"
    QBO_RECONNECTED = "QuickBooks reconnected"
    QBO_DISCONNECTED = "QuickBooks disconnected"
    SETTINGS_CHANGED = "settings changed"
    RETRY_ALL_FAILED = "retry all failed"
    LISTS_IMPORTED = "lists imported"
    TAX_CODES_MAPPED = "tax codes mapped"
    PAYMENTS_IMPORTED = "payments imported"
    RECONCILIATION_FIXED = "reconciliation fixes applied"


@dataclass(frozen=True)
class Origin:
    ip_address: str | None
    user_agent: str


_origin: contextvars.ContextVar[Origin | None] = contextvars.ContextVar("audit_origin", default=None)


def origin_of(request: HttpRequest) -> Origin:
    # REMOTE_ADDR: behind a proxy this is the proxy, unless the proxy passes the client's address
    # on (gunicorn --forwarded-allow-ips); a header a client can write is not trusted.
    address = request.META.get("REMOTE_ADDR") or None
    return Origin(ip_address=address, user_agent=str(request.META.get("HTTP_USER_AGENT", ""))[:300])


class AuditContext:
    """Middleware: remembers where the current request comes from, for ``record``."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = _origin.set(origin_of(request))
        try:
            return self.get_response(request)
        finally:
            _origin.reset(token)


def record(
    action: Action,
    *,
    actor: User | None,
    company: Company | int | None = None,
    target: str = "",
    details: dict[str, Any] | None = None,
    request: HttpRequest | None = None,
    actor_name: str = "",
) -> AuditEntry:
    """Write one entry. ``company`` defaults to the actor's; ``request`` overrides where it came
    from (signals that run before our middleware); ``actor_name`` names someone who is not a user
    (a failed login's username)."""
    where = origin_of(request) if request is not None else (_origin.get() or Origin(None, ""))
    company_id = company.pk if isinstance(company, Company) else company
    if company_id is None and actor is not None:
        company_id = actor.company_id
    return AuditEntry.objects.create(
        company_id=company_id,
        actor=actor if actor is not None and actor.pk else None,
        actor_name=(actor_name or (actor.get_username() if actor is not None else ""))[:150],
        action=action.value,
        target=target[:200],
        details=details or {},
        ip_address=where.ip_address,
        user_agent=where.user_agent,
    )
