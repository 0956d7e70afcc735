"""Pages of long lists (invoices, purchase orders, payments: 100,000 rows and more).

A plain ``OFFSET`` makes the database build every skipped row with its joins (supplier, QuickBooks
status) before throwing it away; PostgreSQL even sorted all of them on disk for page 1,000. Here
the page's ids are found first, from the list's index alone, and only those rows are then read
with their joins, in the same query (``pk IN (SELECT pk ... LIMIT 50 OFFSET n)``), so a deep page
costs what the first does, and the query count is unchanged.
"""

from __future__ import annotations

from typing import Any, cast

from django.conf import settings
from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
from django.http import HttpRequest
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView


class IdsFirstPaginator(Paginator):
    """A Paginator over an ordered QuerySet that reads only the page's rows in full."""

    def page(self, number: Any) -> Page[Any]:
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        top = bottom + self.per_page
        if top + self.orphans >= self.count:
            top = self.count
        queryset = cast(QuerySet[Any], self.object_list)
        page_ids = queryset.values("pk")[bottom:top]  # keeps the list's order and filters
        return Page(queryset.filter(pk__in=page_ids), number, self)


def paginate_ids_first(request: HttpRequest, queryset: Any) -> Page[Any]:
    """``procuresync.web.paginate`` for long lists: the same pages, cheap however deep."""
    return IdsFirstPaginator(queryset, settings.LIST_PAGE_SIZE).get_page(request.GET.get("page"))


class IdsFirstPagination(PageNumberPagination):
    django_paginator_class = IdsFirstPaginator


def paginated_ids_first(view: APIView, request: Request, queryset: Any, serializer: type) -> Response:
    """``procuresync.api.paginated`` for long lists."""
    paginator = IdsFirstPagination()
    page: Any = paginator.paginate_queryset(queryset, request, view=view)
    return paginator.get_paginated_response(serializer(page, many=True).data)
