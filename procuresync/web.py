"""Helpers shared by the server-rendered pages: the one place domain errors become HTTP answers.

- ``page(action)`` wraps a view: login required, the role check (403 page), and the translation of
  ``NotFound`` (another company's id, or none) into 404 and ``RoleRequired`` into 403.
- ``apply_errors`` puts a ``DomainError``'s field messages next to the form fields they name.
- ``paginate`` and ``is_partial`` keep list views short.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import wraps
from typing import Any, TypeVar

from django import forms
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.cache import patch_vary_headers

from accounts.roles import Action, require
from procuresync.errors import DomainError, NotFound, RoleRequired

View = TypeVar("View", bound=Callable[..., HttpResponse])


def page(action: Action | None = None) -> Callable[[View], View]:
    """Decorate a page view: logged in, holding the role ``action`` needs, domain errors translated."""

    def decorate(view: View) -> View:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            try:
                if action is not None:
                    require(request.user, action)  # type: ignore[arg-type]
                response = view(request, *args, **kwargs)
            except NotFound as exc:
                raise Http404(exc.message) from None
            except RoleRequired as exc:
                # Django renders templates/403.html with the message as ``exception``.
                raise PermissionDenied(exc.message) from None
            # Full page and htmx fragment share a URL; caches must keep them apart.
            patch_vary_headers(response, ("HX-Request",))
            return response

        return login_required(wrapper)  # type: ignore[return-value]

    return decorate


def is_partial(request: HttpRequest) -> bool:
    """An htmx request that wants only the fragment (a history restore needs the whole page)."""
    htmx = getattr(request, "htmx", None)
    return bool(htmx) and not htmx.history_restore_request  # type: ignore[union-attr]


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
