"""The Integrations page. QuickBooks is not connected yet; the connection arrives in a later issue."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from accounts.roles import Action
from procuresync.web import page


@page(Action.INTEGRATION_MANAGE)
def integrations(request: HttpRequest) -> HttpResponse:
    return render(request, "quickbooks/integrations.html")
