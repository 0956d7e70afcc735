"""User Management (Admin role): the company's users, their roles, adding, deactivating and
unlocking users, resetting their two-factor authentication; and the login page's answer to a
locked-out login."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.forms import AuthenticationForm
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from accounts import lockouts, services, two_factor
from accounts.forms import RolesForm, UserCreateForm
from accounts.models import User
from accounts.roles import Permission, require, roles_of
from procuresync.errors import DomainError, NotFound
from procuresync.http import AuthenticatedHttpRequest
from procuresync.web import apply_errors, error_text, is_partial, page


def _company_users(actor: User) -> QuerySet[User]:
    require(actor, Permission.USERS_MANAGE)
    assert actor.company_id is not None  # the Admin role implies a company
    return User.objects.filter(company_id=actor.company_id).order_by("-is_active", "username")


def _company_user(actor: User, pk: int) -> User:
    try:
        return _company_users(actor).get(pk=pk)
    except User.DoesNotExist:
        raise NotFound("No such user.") from None


def _rows(actor: User, members: list[User]) -> list[dict[str, object]]:
    """One row per member, in a fixed number of queries however many members there are."""
    locked = lockouts.locked_out(actor, members)
    standings = two_factor.standings(actor, members)
    return [
        {
            "member": user,
            "roles": {role.value for role in roles_of(user)} if user.is_active else set(),
            "locked_out": user.pk in locked,
            "two_factor": standings[user.pk].value,
        }
        for user in members
    ]


@page(Permission.USERS_MANAGE)
def user_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    rows = _rows(request.user, list(_company_users(request.user)))
    return render(request, "accounts/user_list.html", {"rows": rows, "role_choices": RolesForm.base_fields})


@page(Permission.USERS_MANAGE)
def user_create(request: AuthenticatedHttpRequest) -> HttpResponse:
    actor = request.user
    assert actor.company is not None  # the Admin role implies a company
    form = UserCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        c = form.cleaned_data
        try:
            user = services.user_create(
                actor=actor,
                company=actor.company,
                username=c["username"],
                password=c["password"],
                roles=form.role_set(),
                first_name=c["first_name"],
                last_name=c["last_name"],
                email=c["email"],
            )
        except DomainError as exc:
            apply_errors(exc, lambda name: (form, name), fallback=form)
        else:
            messages.success(request, f"User {user.username} added.")
            return redirect("user-list")
    return render(request, "accounts/user_form.html", {"form": form})


@require_POST
@page(Permission.USERS_MANAGE)
def user_roles(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """Save one row's role checkboxes; htmx swaps the row in place."""
    member = _company_user(request.user, pk)
    form = RolesForm(request.POST)
    error = ""
    saved = False
    if not form.is_valid():
        error = " ".join(str(e) for e in form.errors.get("roles", [])) or "The roles were not saved."
    else:
        try:
            services.user_set_roles(actor=request.user, user=member, roles=form.role_set())
            saved = True
        except DomainError as exc:
            error = error_text(exc)
            member.refresh_from_db()
    if not is_partial(request):
        if error:
            messages.error(request, error)
        else:
            messages.success(request, f"Roles of {member.username} saved.")
        return redirect("user-list")
    (row,) = _rows(request.user, [member])
    return render(request, "accounts/_user_row.html", {"row": row, "saved": saved, "error": error})


@require_POST
@page(Permission.USERS_MANAGE)
def user_active(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    member = _company_user(request.user, pk)
    switch = request.POST.get("active")
    if switch not in ("0", "1"):  # only the buttons' own values: anything else changes nothing
        messages.error(request, f"Use the Deactivate or Reactivate button; {member.username} was not changed.")
        return redirect("user-list")
    active = switch == "1"
    try:
        services.user_set_active(actor=request.user, user=member, active=active)
    except DomainError as exc:
        messages.error(request, error_text(exc))
    else:
        messages.success(request, f"User {member.username} {'reactivated' if active else 'deactivated'}.")
    return redirect("user-list")


@require_POST
@page(Permission.USERS_MANAGE)
def company_two_factor(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Switch "Require two-factor authentication for Admin and Approve roles"."""
    switch = request.POST.get("require_two_factor")
    if switch not in ("0", "1"):  # only the button's own values: anything else changes nothing
        messages.error(request, "Use the Require or Stop requiring button; the setting was not changed.")
        return redirect("user-list")
    required = switch == "1"
    company = two_factor.set_company_requirement(actor=request.user, required=required)
    if not required:
        messages.success(request, "Two-factor authentication is no longer required. Those who turned it on keep it.")
        return redirect("user-list")
    waiting = two_factor.members_still_to_set_up(company)
    if request.user in waiting:
        # Said before it happens: from the next page on, the Admin too must set up an authenticator.
        messages.warning(
            request,
            "Two-factor authentication is now required for Admin and Approve roles, you included. "
            "Set it up now: until you do, procuresync shows you only this page.",
        )
        return redirect(f"{reverse('two-factor-setup')}?next={reverse('user-list')}")
    if waiting:
        names = ", ".join(member.username for member in waiting)
        messages.success(
            request,
            f"Two-factor authentication is now required for Admin and Approve roles. {len(waiting)} of them "
            f"will be asked to set it up on their next page: {names}.",
        )
    else:
        messages.success(request, "Two-factor authentication is now required for Admin and Approve roles.")
    return redirect("user-list")


@require_POST
@page(Permission.USERS_MANAGE)
def user_unlock(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    member = _company_user(request.user, pk)
    try:
        lockouts.unlock(actor=request.user, user=member)
    except DomainError as exc:
        messages.error(request, error_text(exc))
    else:
        messages.success(request, f"{member.username} is unlocked and can log in again.")
    return redirect("user-list")


@require_POST
@page(Permission.USERS_MANAGE)
def user_two_factor_reset(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """Remove a user's authenticator and recovery codes: they lost their phone and the codes."""
    member = _company_user(request.user, pk)
    try:
        two_factor.reset_by_admin(actor=request.user, user=member)
    except DomainError as exc:
        messages.error(request, error_text(exc))
    else:
        if two_factor.is_required_by_company(member):
            then = "Your company requires it for their role, so they set up a new one on their next page."
        else:
            then = "They can turn it on again on Your account."
        messages.success(
            request,
            f"Two-factor authentication of {member.username} is reset: their authenticator app and recovery "
            f"codes no longer work. {then}",
        )
    return redirect("user-list")


def login_locked_out(
    request: HttpRequest, original_response: HttpResponse | None, credentials: dict[str, Any] | None
) -> HttpResponse:
    """settings.AXES_LOCKOUT_CALLABLE: the login page again, saying when to try again (429).

    The typed username is not put back in the form: the page is then the same for every username.
    """
    username = (credentials or {}).get("username") or request.POST.get("username")
    lockout = lockouts.lockout_of(request, username)
    context = {"form": AuthenticationForm(request), "next": request.POST.get("next", ""), "locked_out": lockout.message}
    response = render(request, "registration/login.html", context, status=429)
    response["Retry-After"] = str(lockout.retry_after)
    return response
