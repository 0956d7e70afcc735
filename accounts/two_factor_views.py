"""Your account, and the two-factor pages: turn on, recovery codes, enter a code after the password,
turn off. ``RequireSecondFactor`` is the middleware that sends a session to those pages first."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlencode

import django_otp
from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render, resolve_url
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST
from django_htmx.http import HttpResponseClientRedirect

from accounts import two_factor
from accounts.roles import roles_of
from accounts.two_factor import Step
from procuresync.api_errors import API_PREFIX, error_body
from procuresync.errors import DomainError
from procuresync.http import AuthenticatedHttpRequest
from procuresync.web import apply_errors, page

# Recovery codes just made, kept in the session only until the page that shows them once.
_FRESH_CODES = "two_factor_fresh_recovery_codes"


class CodeForm(forms.Form):
    # Not required and no length limit here: the service says what is wrong with any input.
    code = forms.CharField(
        label="Code",
        required=False,
        strip=True,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "autofocus": True, "spellcheck": "false"}),
    )


def _next_url(request: HttpRequest, default: str = "") -> str:
    """Where the user was going, if it is a page of ours other than this one."""
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    safe = url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    if candidate and safe and candidate.split("?")[0] != request.path:
        return candidate
    return resolve_url(default or settings.LOGIN_REDIRECT_URL)


def _with_next(url: str, next_url: str) -> str:
    return f"{url}?{urlencode({'next': next_url})}"


@page()
def account(request: AuthenticatedHttpRequest) -> HttpResponse:
    user = request.user
    enabled = two_factor.has_two_factor(user)
    context = {
        "roles": sorted(role.value for role in roles_of(user)),
        "two_factor_on": enabled,
        "two_factor_required": two_factor.is_required_by_company(user),
        "recovery_codes_left": two_factor.recovery_codes_left(user) if enabled else 0,
    }
    return render(request, "accounts/account.html", context)


@never_cache  # the page shows the secret
@page()
def setup(request: AuthenticatedHttpRequest) -> HttpResponse:
    user = request.user
    next_url = _next_url(request)
    if two_factor.has_two_factor(user):
        messages.info(request, "Two-factor authentication is already on for you.")
        return redirect(next_url)
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            device, codes = two_factor.turn_on(user, form.cleaned_data["code"])
        except DomainError as exc:
            apply_errors(exc, lambda name: (form, name), fallback=form)
        else:
            # The code just typed is a second factor: this session has passed it.
            django_otp.login(request, device)
            request.session[_FRESH_CODES] = codes
            messages.success(request, "Two-factor authentication is on.")
            return redirect(_with_next(reverse("two-factor-recovery-codes"), next_url))
    device = two_factor.pending_authenticator(user)
    context = {
        "form": form,
        "next": next_url,
        "required": two_factor.is_required_by_company(user),
        "secret": two_factor.secret_text(device),
        "qr_code": two_factor.qr_code_svg(device),
    }
    return render(request, "accounts/two_factor_setup.html", context)


@never_cache
@page()
def recovery_codes(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Shows new recovery codes once: they leave the session as they are shown."""
    codes = request.session.pop(_FRESH_CODES, None)
    context = {"codes": codes, "next": _next_url(request, default="account")}
    return render(request, "accounts/two_factor_recovery_codes.html", context)


@require_POST
@page()
def renew_recovery_codes(request: AuthenticatedHttpRequest) -> HttpResponse:
    try:
        codes = two_factor.renew_recovery_codes(request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("account")
    request.session[_FRESH_CODES] = codes
    messages.success(request, "New recovery codes made; the old ones no longer work.")
    return redirect(_with_next(reverse("two-factor-recovery-codes"), reverse("account")))


@never_cache
@page()
def verify(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The second step of logging in: a code from the app, or a recovery code."""
    user = request.user
    next_url = _next_url(request)
    if _passed_second_factor(user) or not two_factor.has_two_factor(user):
        return redirect(next_url)
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            passed = two_factor.check_code(user, form.cleaned_data["code"], step="login")
        except DomainError as exc:
            apply_errors(exc, lambda name: (form, name), fallback=form)
        else:
            # A new session key for the new level of trust, as Django does at the password step.
            request.session.cycle_key()
            django_otp.login(request, passed.device)
            left = passed.recovery_codes_left
            if left == 0:
                messages.warning(request, "You used your last recovery code. Make new ones on Your account now.")
            elif left is not None:
                messages.warning(
                    request,
                    f"You used a recovery code; {left} left. Make new ones on Your account before they run out.",
                )
            return redirect(next_url)
    return render(request, "accounts/two_factor_verify.html", {"form": form, "next": next_url})


@page()
def disable(request: AuthenticatedHttpRequest) -> HttpResponse:
    user = request.user
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            two_factor.turn_off(user, form.cleaned_data["code"])
        except DomainError as exc:
            apply_errors(exc, lambda name: (form, name), fallback=form)
        else:
            messages.success(request, "Two-factor authentication is off; your recovery codes no longer work.")
            return redirect("account")
    context = {
        "form": form,
        "two_factor_on": two_factor.has_two_factor(user),
        "required": two_factor.is_required_by_company(user),
    }
    return render(request, "accounts/two_factor_disable.html", context)


class RequireSecondFactor:
    """Middleware: a session that logged in with a password but still owes a second factor reaches
    only the page that takes it (or, where the company requires one, the page that sets it up).

    API calls with a token pass: a token is a credential of its own, which scripts keep using.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if not user.is_authenticated or _open_without_second_factor(request) or _passed_second_factor(user):
            return self.get_response(request)
        step = two_factor.step_needed(user)
        if step is None:
            return self.get_response(request)
        if request.path.startswith(API_PREFIX):
            return _api_refusal(step)
        target = reverse("two-factor-verify" if step is Step.VERIFY else "two-factor-setup")
        if request.method in ("GET", "HEAD"):
            target = _with_next(target, request.get_full_path())
        if request.headers.get("HX-Request") == "true":
            return HttpResponseClientRedirect(target)  # a fragment swap would show the page inside another
        return redirect(target)


def _passed_second_factor(user: object) -> bool:
    # django-otp's OTPMiddleware gives each request's user is_verified(): the session passed a code.
    is_verified = getattr(user, "is_verified", None)
    return bool(is_verified is not None and is_verified())


def _open_without_second_factor(request: HttpRequest) -> bool:
    path = request.path
    if path in {
        reverse("logout"),
        reverse("login"),
        reverse("two-factor-verify"),
        reverse("two-factor-setup"),
        reverse("qbo-webhooks"),
    }:
        return True
    if path.startswith("/" + settings.STATIC_URL.lstrip("/")):
        return True
    if path.startswith(API_PREFIX):
        scheme = request.headers.get("Authorization", "").split(" ", 1)[0]
        return scheme.lower() == "token"  # DRF authenticates with the token, not the session
    return False


def _api_refusal(step: Step) -> JsonResponse:
    if step is Step.VERIFY:
        message = (
            "This session has not passed two-factor authentication: enter your code at "
            "/account/two-factor/verify/ in the browser, or call the API with 'Authorization: Token <key>'."
        )
    else:
        message = (
            "Your company requires two-factor authentication for your role: turn it on at "
            "/account/two-factor/setup/ in the browser, or call the API with 'Authorization: Token <key>'."
        )
    return JsonResponse(error_body("two_factor_required", message), status=403)
