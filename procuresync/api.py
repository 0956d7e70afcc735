"""Helpers every app's API views share: who is calling, parsing input, paging output."""

from __future__ import annotations

import re
from decimal import Decimal
from functools import cache
from typing import Any

from django.http import QueryDict
from drf_spectacular.utils import OpenApiParameter, extend_schema_field
from rest_framework import serializers
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import User

ID = OpenApiParameter("id", int, OpenApiParameter.PATH)


@extend_schema_field({"oneOf": [{"type": "string", "format": "email"}, {"type": "string", "maxLength": 0}]})
class OptionalEmailField(serializers.EmailField):
    """An email address or "" (none on file); the schema says both, so "" is not a broken promise."""


def unsigned_decimal(places: int, digits: int = 18, **kwargs: Any) -> serializers.DecimalField:
    """An input decimal that is never negative, the schema saying so with its pattern (no "-")."""
    return _unsigned_decimal_class(places, digits)(
        max_digits=digits, decimal_places=places, min_value=Decimal("0"), **kwargs
    )


@cache
def _unsigned_decimal_class(places: int, digits: int) -> type[serializers.DecimalField]:
    # A class per shape, not an annotated instance: DRF copies declared fields by re-instantiating
    # their class, which would drop an annotation set on the instance.
    pattern = decimal_pattern(whole=digits - places, places=places, signed=False)
    field_class = type(f"UnsignedDecimal{digits}x{places}", (serializers.DecimalField,), {})
    annotate: Any = extend_schema_field({"type": "string", "format": "decimal", "pattern": pattern})
    annotated: type[serializers.DecimalField] = annotate(field_class)
    return annotated


def decimal_pattern(*, whole: int, places: int, signed: bool) -> str:
    """The schema's pattern for a decimal string: at least one digit, at most ``whole`` before the
    point and ``places`` after it (what ``DECIMAL_TEXT`` and DRF's digit limits accept)."""
    sign = "-?" if signed else ""
    return f"^{sign}(?:\\d{{1,{whole}}}(?:\\.\\d{{0,{places}}})?|\\.\\d{{1,{places}}})$"


def user_of(request: Request) -> User:
    """The caller; IsAuthenticated (the default permission) has turned anonymous requests away."""
    assert isinstance(request.user, User)
    return request.user


def paginated(view: APIView, request: Request, queryset: Any, serializer: type) -> Response:
    paginator = PageNumberPagination()
    page: Any = paginator.paginate_queryset(queryset, request, view=view)
    return paginator.get_paginated_response(serializer(page, many=True).data)


# The largest id (and integer) the API takes: the databases' 64-bit integers. Path ids are held to
# 18 digits by the URL converter (procuresync/api_urls.py), so no lookup can overflow.
INT64_MAX = 2**63 - 1
# Decimals travel as strings: digits, at most one point, an optional minus. DRF would also take
# " 5 " or "1e3"; the schema says this, so the API holds to it (field limits add the digit counts).
DECIMAL_TEXT = re.compile(r"-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")
QUERY_TEXT = {
    serializers.IntegerField: (re.compile(r"-?[0-9]+"), "Must be a whole number."),
    serializers.BooleanField: (re.compile(r"true|false"), "Must be true or false."),
    serializers.DateField: (re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}"), "Must be a date: YYYY-MM-DD."),
}


def parsed(serializer_class: type, data: Any) -> Any:
    """Validate a JSON body (or query string) with ``serializer_class``; 400 with every problem.

    A body is held to the JSON types the schema promises before DRF's fields see it, because those
    fields coerce (``0`` becomes ``"0"`` or ``False``, ``"12"`` becomes ``12``): a client that sends
    the wrong type hears so rather than having it guessed.
    """
    serializer = serializer_class(data=data)
    problems = query_problems(serializer, data) if isinstance(data, QueryDict) else json_problems(serializer, data)
    if problems:
        raise serializers.ValidationError(problems)
    serializer.is_valid(raise_exception=True)
    return serializer


def json_problems(serializer: serializers.Serializer, data: Any, prefix: str = "") -> dict[str, list[str]]:
    """Where ``data`` does not have the JSON types ``serializer`` declares: {"lines.0.quantity": [...]}."""
    if not isinstance(data, dict):
        return {prefix.rstrip(".") or "non_field_errors": ["Send a JSON object."]}
    problems: dict[str, list[str]] = {}
    for name, field in serializer.fields.items():
        if not field.read_only and name in data:
            problems.update(_value_problems(field, data[name], f"{prefix}{name}"))
    return problems


def _value_problems(field: serializers.Field, value: Any, name: str) -> dict[str, list[str]]:
    if value is None:
        return {}  # whether null is allowed is the field's own rule
    if isinstance(field, serializers.ListSerializer):
        if not isinstance(value, list):
            return {name: ["Must be a JSON array."]}
        problems: dict[str, list[str]] = {}
        for index, item in enumerate(value):
            problems.update(json_problems(field.child, item, f"{name}.{index}."))  # type: ignore[arg-type]
        return problems
    if isinstance(field, serializers.Serializer):
        return json_problems(field, value, f"{name}.")
    if isinstance(field, serializers.ListField):
        if not isinstance(value, list):
            return {name: ["Must be a JSON array."]}
        problems = {}
        for index, item in enumerate(value):
            problems.update(_value_problems(field.child, item, f"{name}.{index}"))
        return problems
    if isinstance(field, serializers.DictField):
        if not isinstance(value, dict):
            return {name: ["Must be a JSON object."]}
        problems = {}
        for key, item in value.items():
            problems.update(_value_problems(field.child, item, f"{name}.{key}"))
        return problems
    if isinstance(field, serializers.BooleanField):
        return {} if isinstance(value, bool) else {name: ["Must be true or false."]}
    if isinstance(field, serializers.IntegerField):
        if not isinstance(value, int) or isinstance(value, bool):
            return {name: ["Must be a JSON integer."]}
        return {} if abs(value) <= INT64_MAX else {name: ["Out of range."]}
    if isinstance(field, serializers.DecimalField) and not (isinstance(value, str) and DECIMAL_TEXT.fullmatch(value)):
        return {name: ['Must be a number written as a JSON string, e.g. "12.50".']}
    textual = (serializers.CharField, serializers.ChoiceField, serializers.DateField)
    if isinstance(field, textual) and not isinstance(value, str):
        return {name: ["Must be a JSON string (decimals and dates are strings too)."]}
    return {}


def query_problems(serializer: serializers.Serializer, query: QueryDict) -> dict[str, list[str]]:
    """Query parameters hold to the schema's types exactly (DRF would take "null" for a boolean,
    "" for no date, " 5 " for 5), and integers to a range the database can hold."""
    problems: dict[str, list[str]] = {}
    for name, field in serializer.fields.items():
        if name not in query:
            continue
        value = str(query[name])
        for kind, (pattern, message) in QUERY_TEXT.items():
            if isinstance(field, kind) and not pattern.fullmatch(value):
                problems[name] = [message + " Leave the parameter out for no filter."]
        if isinstance(field, serializers.IntegerField) and name not in problems and abs(int(value)) > INT64_MAX:
            problems[name] = ["Out of range."]
    return problems
