"""Integrations → vendors: searching the imported QuickBooks vendors for one supplier.

The search box of each supplier's row asks ``vendor_choices`` with htmx and shows the answer under
it; without JavaScript the same form opens the choices as a page of their own. Either way each
choice's "Link" button posts to ``views.vendor_map``.
"""

from __future__ import annotations

import re

from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from accounts.roles import Permission
from procuresync.http import AuthenticatedHttpRequest
from procuresync.web import is_partial, page
from quickbooks import vendor_choice

_SUPPLIER_ID = re.compile(r"[0-9]{1,18}")


@page(Permission.INTEGRATION_MANAGE)
def vendor_choices(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Imported vendors matching ``?q=`` for the supplier ``?supplier=``: the rows under the
    supplier's search box (htmx), or a page with its own search box (no JavaScript)."""
    supplier_id = request.GET.get("supplier", "")
    if not _SUPPLIER_ID.fullmatch(supplier_id):
        # Not a search from a supplier's row: back to the rows to start one.
        return redirect(reverse("integrations") + "#vendors")
    choices = vendor_choice.vendor_choices(
        user=request.user, supplier_id=int(supplier_id), query=request.GET.get("q", "")
    )
    template = "quickbooks/_vendor_choices.html" if is_partial(request) else "quickbooks/vendor_choices.html"
    return render(request, template, {"choices": choices})
