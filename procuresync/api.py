"""Helpers every app's API views share: who is calling, parsing input, paging output."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import User

ID = OpenApiParameter("id", int, OpenApiParameter.PATH)


def user_of(request: Request) -> User:
    """The caller; IsAuthenticated (the default permission) has turned anonymous requests away."""
    assert isinstance(request.user, User)
    return request.user


def paginated(view: APIView, request: Request, queryset: Any, serializer: type) -> Response:
    paginator = PageNumberPagination()
    page: Any = paginator.paginate_queryset(queryset, request, view=view)
    return paginator.get_paginated_response(serializer(page, many=True).data)


def parsed(serializer_class: type, data: Any) -> Any:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer
