"""Password change (any logged-in user) and password reset by email, with their audit entries.

Django's views do the work: the validators of AUTH_PASSWORD_VALIDATORS, the one-time reset link
(it stops working once the password changes), keeping the changer logged in. These subclasses add
the audit trail and plain-text help under the new-password field.

A reset request answers the same whether or not the address belongs to anyone, so the page never
tells who has an account here; only the audit trail knows.
"""

from __future__ import annotations

from typing import TypeVar

from django.contrib.auth import password_validation
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import PasswordChangeForm, PasswordResetForm, SetPasswordForm
from django.forms import BaseForm
from django.http import HttpResponse

from accounts.audit import Action, record
from accounts.models import User

FormT = TypeVar("FormT", bound=BaseForm)


def _with_plain_help(form: FormT) -> FormT:
    # Django's help for the new password is an HTML list; the field partial shows help as one line.
    if "new_password1" in form.fields:
        form.fields["new_password1"].help_text = " ".join(password_validation.password_validators_help_texts())
    return form


class PasswordChange(auth_views.PasswordChangeView):
    def get_form(self, form_class: type[PasswordChangeForm] | None = None) -> PasswordChangeForm:
        return _with_plain_help(super().get_form(form_class))

    def form_valid(self, form: PasswordChangeForm) -> HttpResponse:
        response = super().form_valid(form)
        user = form.user
        record(Action.PASSWORD_CHANGED, actor=user, target=user.get_username())
        return response


class PasswordReset(auth_views.PasswordResetView):
    def form_valid(self, form: PasswordResetForm) -> HttpResponse:
        typed = form.cleaned_data["email"]
        # The same users Django mails: active, with a usable password, that email (any case).
        users: list[User] = list(form.get_users(typed))
        companies = {user.company_id for user in users}
        for company_id in companies or {None}:
            # One entry per company the address belongs to, so each company's Admins see it; an
            # unknown address is kept without a company (only the operator sees those).
            usernames = sorted(user.get_username() for user in users if user.company_id == company_id)
            record(
                Action.PASSWORD_RESET_REQUESTED,
                actor=None,
                company=company_id,
                target=typed,
                details={"users": usernames} if usernames else {},
            )
        return super().form_valid(form)


class PasswordResetConfirm(auth_views.PasswordResetConfirmView):
    # Not logged in after the reset: logging in again goes through the lockout and two-factor checks.
    post_reset_login = False

    def get_form(self, form_class: type[SetPasswordForm[User]] | None = None) -> SetPasswordForm[User]:
        return _with_plain_help(super().get_form(form_class))

    def form_valid(self, form: SetPasswordForm[User]) -> HttpResponse:
        response = super().form_valid(form)
        user = form.user
        record(Action.PASSWORD_RESET, actor=user, target=user.get_username())
        return response
