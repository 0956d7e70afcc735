"""User Management (Admin role): the company's users, their roles, adding and deactivating users."""

from __future__ import annotations

from django.contrib import messages
from django.db.models import QuerySet
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from accounts import services
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


def _row(user: User) -> dict[str, object]:
    return {"member": user, "roles": {role.value for role in roles_of(user)} if user.is_active else set()}


@page(Permission.USERS_MANAGE)
def user_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    rows = [_row(user) for user in _company_users(request.user)]
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
    return render(request, "accounts/_user_row.html", {"row": _row(member), "saved": saved, "error": error})


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
