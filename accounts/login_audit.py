"""The audit trail of logging in and out, from Django's and django-axes' signals (connected in
``AccountsConfig.ready``), so the login page, the API's token endpoint and any later way in are all
recorded the same way.

A failed login names the username as typed. When that is the username of a company's user, the
entry belongs to the company, so its Admins see the failed logins on their accounts; otherwise it
belongs to no company. Only the audit trail is told: no answer to the person logging in changes, so
nothing here reveals whether a username exists.
"""

from __future__ import annotations

from typing import Any

from axes.signals import user_locked_out
from django.conf import settings
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.http import HttpRequest

from accounts.audit import Action, record
from accounts.models import User


def _member(username: str) -> User | None:
    """The company user with this exact username (the one the password would have been checked for)."""
    if not username:
        return None
    return User.objects.filter(username=username).exclude(company=None).first()


def _starts_lockout(request: HttpRequest | None) -> bool:
    """Whether this failure is the one that reached the limit (django-axes counted it just before).
    django-axes marks, and signals, every refused try during a lockout as well."""
    return getattr(request, "axes_failures_since_start", None) == settings.AXES_FAILURE_LIMIT


def logged_in(sender: Any, request: HttpRequest | None, user: User, **kwargs: Any) -> None:
    record(Action.LOGIN, actor=user, request=request)


def logged_out(sender: Any, request: HttpRequest | None, user: User | None, **kwargs: Any) -> None:
    if user is not None:  # None: a visitor who was not logged in pressed "Log out"
        record(Action.LOGOUT, actor=user, request=request)


def login_failed(sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None, **kwargs: Any) -> None:
    username = str(credentials.get("username") or "")
    # django-axes handles this signal first (its app comes first) and marks the request locked out.
    refused = bool(getattr(request, "axes_locked_out", False)) and not _starts_lockout(request)
    details = {"reason": "locked out"} if refused else {"reason": "username or password not accepted"}
    record(Action.LOGIN_FAILED, actor=_member(username), actor_name=username, details=details, request=request)


def locked_out(sender: Any, request: HttpRequest, username: str | None, ip_address: str | None, **kwargs: Any) -> None:
    if not _starts_lockout(request):
        return  # a refused try during the lockout: one entry per lockout is enough
    name = username or ""
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    details = {"failures": settings.AXES_FAILURE_LIMIT, "minutes": minutes}
    record(Action.LOCKED_OUT, actor=_member(name), actor_name=name, target=name, details=details, request=request)


def connect() -> None:
    user_logged_in.connect(logged_in, dispatch_uid="accounts.login_audit.logged_in")
    user_logged_out.connect(logged_out, dispatch_uid="accounts.login_audit.logged_out")
    user_login_failed.connect(login_failed, dispatch_uid="accounts.login_audit.login_failed")
    user_locked_out.connect(locked_out, dispatch_uid="accounts.login_audit.locked_out")
