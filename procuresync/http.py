"""Typed requests for views that only a logged-in user reaches (healthchecks' hc/accounts/http.py).

``page()`` turns anonymous visitors away before the view runs, so inside a page view
``request.user`` is always our ``User``; annotating the view's request as
``AuthenticatedHttpRequest`` tells mypy so, instead of silencing it at every use.
"""

from __future__ import annotations

from django.http import HttpRequest

from accounts.models import User


class AuthenticatedHttpRequest(HttpRequest):
    user: User
