"""Login lockouts: until when a login is refused, which users are locked out, and an Admin's unlock.

django-axes counts failed logins, on the login page and the API's token endpoint alike, per username
and per client address (settings.AXES_LOCKOUT_PARAMETERS), and refuses further tries once either
count reaches AXES_FAILURE_LIMIT within AXES_COOLOFF_TIME. It says only "locked"; this module reads
its counts to say until when, shows an Admin which users are locked out, and clears a user's count
when an Admin unlocks them.

The message depends only on the failures counted, and django-axes counts a username that does not
exist like any other, so a lockout never tells whether the username exists.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from axes.helpers import (
    get_client_ip_address,
    get_client_parameters,
    get_client_user_agent,
    get_client_username,
    get_credentials,
)
from axes.models import AccessAttempt
from axes.utils import reset
from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet, Sum
from django.http import HttpRequest
from django.utils import timezone

from accounts.audit import Action, record
from accounts.models import User
from accounts.roles import Permission, require
from procuresync.errors import NotFound, ValidationFailed

# django-axes keeps the username typed in a column of 255 characters, which PostgreSQL holds to: a
# longer one would end the login in a server error rather than "wrong username or password". No
# username is that long (User.username has 150), so the cut never makes two real ones one.
_USERNAME_KEPT = 255


def username_typed(request: HttpRequest, credentials: dict[str, Any] | None) -> str | None:
    """settings.AXES_USERNAME_CALLABLE: the username django-axes counts a failure for."""
    source = credentials or getattr(request, "data", request.POST)
    username = source.get("username")
    return username[:_USERNAME_KEPT] if isinstance(username, str) else None


@dataclass(frozen=True)
class Lockout:
    """A refused login: until when, in words for a person and in seconds for a client (Retry-After)."""

    until: dt.datetime

    @property
    def retry_after(self) -> int:
        return max(1, math.ceil((self.until - timezone.now()).total_seconds()))

    @property
    def message(self) -> str:
        # Rounded up: at the minute shown the lockout has surely lifted.
        shown = timezone.localtime(self.until)
        if shown.second or shown.microsecond:
            shown = shown.replace(second=0, microsecond=0) + dt.timedelta(minutes=1)
        when = f"{shown:%H:%M %Z}"
        if shown.date() != timezone.localdate():
            when = f"{shown.day} {shown:%b} {when}"
        minutes = math.ceil(self.retry_after / 60)
        wait = f"{minutes} minute{'s' if minutes != 1 else ''}" if minutes < 120 else f"{math.ceil(minutes / 60)} hours"
        return f"Too many failed logins. Try again after {when} (in {wait}), or ask an Admin to unlock your account."


def _limit() -> int:
    return int(settings.AXES_FAILURE_LIMIT)


def _counted_since() -> dt.datetime:
    """Failures older than the cool-off no longer count (django-axes' own window)."""
    return timezone.now() - settings.AXES_COOLOFF_TIME


def _lifts_at(attempts: QuerySet[Any]) -> dt.datetime | None:
    """When ``attempts`` (one username's, or one address's) stop reaching the limit; None if they do
    not reach it now. A row counts until its latest failure is older than the cool-off, so the
    lockout lifts once the newest rows alone fall short of the limit."""
    counted = 0
    newest_first = attempts.filter(attempt_time__gte=_counted_since()).order_by("-attempt_time")
    for attempt_time, failures in newest_first.values_list("attempt_time", "failures_since_start"):
        counted += failures
        if counted >= _limit():
            return attempt_time + settings.AXES_COOLOFF_TIME
    return None


def lockout_of(request: HttpRequest, username: str | None) -> Lockout:
    """The lockout that refused this login: the later of the username's and the address's.

    Should the counts have gone meanwhile (an Admin's unlock racing the try), a full cool-off from
    now: the time given is never one that has already passed.
    """
    counted_as = get_client_username(request, get_credentials(username))
    address, browser = get_client_ip_address(request), get_client_user_agent(request)
    ends = [
        _lifts_at(AccessAttempt.objects.filter(**parameters))
        for parameters in get_client_parameters(counted_as, address, browser, request)
    ]
    until = max((end for end in ends if end is not None), default=None)
    return Lockout(until or timezone.now() + settings.AXES_COOLOFF_TIME)


def locked_out(actor: User, members: Iterable[User]) -> set[int]:
    """The ids of those ``members`` of the actor's company whose username is locked out."""
    require(actor, Permission.USERS_MANAGE)
    ids = {member.username: member.pk for member in members if member.company_id == actor.company_id}
    over_limit = (
        AccessAttempt.objects.filter(username__in=ids, attempt_time__gte=_counted_since())
        .order_by()
        .values("username")
        .annotate(failures=Sum("failures_since_start"))
        .filter(failures__gte=_limit())
    )
    return {ids[row["username"]] for row in over_limit}


def unlock(*, actor: User, user: User) -> None:
    """Clear the failed logins counted for ``user``'s username, so they can log in again at once.

    An address locked out by other usernames' failures stays locked: an Admin vouches for a
    colleague, not for whoever else tried from that address.
    """
    require(actor, Permission.USERS_MANAGE)
    if user.company_id != actor.company_id:
        raise NotFound("No such user.")
    if user.pk not in locked_out(actor, [user]):
        raise ValidationFailed(f"{user.username} is not locked out (any lockout has run out); nothing changed.")
    with transaction.atomic():
        reset(username=user.username)
        record(Action.UNLOCKED, actor=actor, target=user.username)
