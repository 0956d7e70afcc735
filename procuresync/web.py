"""Helpers shared by the server-rendered pages: the one place domain errors become HTTP answers.

- ``page(action)`` wraps a view: login required, the role check (403 page), and the translation of
  ``NotFound`` (another company's id, or none) into 404 and ``RoleRequired`` into 403.
- ``apply_errors`` puts a ``DomainError``'s field messages next to the form fields they name.
- ``paginate`` and ``is_partial`` keep list views short.
- ``LongSelect`` renders a select of hundreds of options (a company's suppliers) fast.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import wraps
from typing import Any, Concatenate, ParamSpec

from django import forms
from django.conf import settings
from django.contrib import messages as flash_messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
from django.forms.utils import flatatt
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.cache import patch_vary_headers
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django_htmx.middleware import HtmxDetails

from accounts.roles import Permission, require
from procuresync.errors import DomainError, NotFound, RoleRequired
from procuresync.http import AuthenticatedHttpRequest

P = ParamSpec("P")
# A page view: ``page()`` lets only logged-in users through, so its request carries our ``User``.
PageView = Callable[Concatenate[AuthenticatedHttpRequest, P], HttpResponse]


def page(action: Permission | None = None) -> Callable[[PageView[P]], PageView[P]]:
    """Decorate a page view: logged in, holding the role ``action`` needs, domain errors translated."""

    def decorate(view: PageView[P]) -> PageView[P]:
        @wraps(view)
        def wrapper(request: AuthenticatedHttpRequest, *args: P.args, **kwargs: P.kwargs) -> HttpResponse:
            try:
                if action is not None:
                    require(request.user, action)
                response = view(request, *args, **kwargs)
            except NotFound as exc:
                raise Http404(exc.message) from None
            except RoleRequired as exc:
                # Django renders templates/403.html with the message as ``exception``.
                raise PermissionDenied(exc.message) from None
            # Full page and htmx fragment share a URL; caches must keep them apart.
            patch_vary_headers(response, ("HX-Request",))
            return response

        return login_required(wrapper)

    return decorate


def is_partial(request: HttpRequest) -> bool:
    """An htmx request that wants only the fragment (a history restore needs the whole page)."""
    htmx: HtmxDetails | None = getattr(request, "htmx", None)  # set by django_htmx's middleware
    return htmx is not None and bool(htmx) and not htmx.history_restore_request


def paginate(request: HttpRequest, queryset: QuerySet[Any]) -> Page[Any]:
    return Paginator(queryset, settings.LIST_PAGE_SIZE).get_page(request.GET.get("page"))


FieldTarget = tuple[forms.BaseForm, str | None]


def apply_errors(
    exc: DomainError,
    locate: Callable[[str], FieldTarget | None],
    *,
    fallback: forms.BaseForm | None = None,
) -> list[str]:
    """Attach each field message of ``exc`` to the form field ``locate(name)`` returns.

    Messages for names no form shows are returned (or put on ``fallback``'s non-field errors), so
    nothing the service said is ever lost. With no field messages at all, the summary is returned.
    """
    leftovers: list[str] = [] if exc.fields else [exc.message]
    for name, messages in exc.fields.items():
        target = locate(name)
        if target is not None:
            form, field = target
            if field is None or field in form.fields:
                for message in messages:
                    form.add_error(field, message)
                continue
        leftovers.extend(messages)
    if fallback is not None:
        for message in leftovers:
            fallback.add_error(None, message)
        return []
    return leftovers


def error_text(exc: DomainError) -> str:
    """One line for a flash message: the summary plus every field message not already in it."""
    details: Iterable[str] = (m for messages in exc.fields.values() for m in messages if m != exc.message)
    return " ".join([exc.message, *details])


def flash_refusal(request: HttpRequest, exc: DomainError, *, prefix: str = "") -> None:
    """Show any refusal (a domain error, or any QuickBooks error: they are domain errors too) as a
    message on the next page. A missing role or object is not a message: it is re-raised, so
    ``page`` answers 403 or 404 as for every other view."""
    if isinstance(exc, RoleRequired | NotFound):
        raise exc
    flash_messages.error(request, f"{prefix}{error_text(exc)}")


class LongSelect(forms.Select):
    """Django's select, with its options written here rather than each through the option
    template: with a company's 500 suppliers those templates were most of the Payments page's time
    (about 60 of its 110 ms at 100,000 payments, bench/lists.py). The HTML is the same
    (tests/test_long_select.py)."""

    def render(self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None) -> SafeString:
        widget = self.get_context(name, value, attrs)["widget"]
        groups = []
        for group_name, options, _index in widget["optgroups"]:
            rows = ((o["value"], flatatt(o["attrs"]), o["label"]) for o in options)
            html = format_html_join("", '<option value="{}"{}>{}</option>', rows)
            groups.append(format_html('<optgroup label="{}">{}</optgroup>', group_name, html) if group_name else html)
        return format_html(
            '<select name="{}"{}>{}</select>', widget["name"], flatatt(widget["attrs"]), SafeString("".join(groups))
        )
