"""The API's one error shape: {"error": {"code", "message", "fields": {name: [messages]}}}.

The exception handler renders every refusal in it, and ``ErrorOut`` describes it in the schema.
``JsonErrorsUnderApi`` keeps that promise for what happens outside DRF's views too (a CSRF
refusal, a body over the size limit, Django's own 404/405/500 pages): under /api/ an integrator
never gets an HTML page where JSON was promised.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views.csrf import csrf_failure as html_csrf_failure
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from procuresync.errors import DomainError


def _flatten(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested serializer errors -> {"lines.0.quantity": ["..."]}."""
    out: dict[str, list[str]] = {}
    if isinstance(detail, dict):
        for key, value in detail.items():
            name = "non_field_errors" if key == "non_field_errors" and not prefix else f"{prefix}{key}"
            out.update(_flatten(value, f"{name}."))
    elif isinstance(detail, list):
        if all(not isinstance(item, dict | list) for item in detail):
            out[prefix.rstrip(".") or "non_field_errors"] = [str(item) for item in detail]
        else:
            for index, item in enumerate(detail):
                if item:
                    out.update(_flatten(item, f"{prefix}{index}."))
    else:
        out[prefix.rstrip(".") or "non_field_errors"] = [str(detail)]
    return out


def error_body(code: str, message: str, fields: dict[str, list[str]] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "fields": fields or {}}}


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, DomainError):
        return Response(error_body(exc.code, exc.message, exc.fields), status=exc.http_status)
    if isinstance(exc, Http404 | exceptions.NotFound):
        return Response(error_body("not_found", "Not found."), status=status.HTTP_404_NOT_FOUND)
    if isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        fields = _flatten(exc.detail)
        response.data = error_body(
            "validation_failed", "Please correct the fields named below; nothing was saved.", fields
        )
    elif isinstance(exc, exceptions.APIException):
        code = exc.get_codes() if isinstance(exc.get_codes(), str) else "error"
        response.data = error_body(str(code), str(exc.detail))
    return response


class ErrorBodyOut(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        # "fields" would shadow Serializer.fields if declared as a class attribute.
        fields["fields"] = serializers.DictField(
            child=serializers.ListField(child=serializers.CharField()),
            help_text='Field name -> messages; nested fields are dotted, e.g. "lines.0.quantity".',
        )
        return fields


class ErrorOut(serializers.Serializer):
    """The one error shape of the API."""

    error = ErrorBodyOut()


# For @extend_schema(responses=...): the refusals any write may answer with.
WRITE_ERRORS = {400: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut}
READ_ERRORS = {403: ErrorOut, 404: ErrorOut}


API_PREFIX = "/api/"
_MESSAGES = {
    400: ("bad_request", "The request could not be read."),
    401: ("not_authenticated", "Authentication credentials were not provided."),
    403: ("permission_denied", "You do not have permission to perform this action."),
    404: ("not_found", "Not found."),
    405: ("method_not_allowed", "This method is not allowed here."),
    413: ("too_large", "The request body is too large."),
    500: ("server_error", "Something went wrong on our side; nothing was saved. Try again."),
}
logger = logging.getLogger(__name__)


def _json_error(status: int, message: str = "", code: str = "") -> JsonResponse:
    default_code, default_message = _MESSAGES.get(status, ("error", "The request failed."))
    return JsonResponse(error_body(code or default_code, message or default_message), status=status)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """settings.CSRF_FAILURE_VIEW: the API's error shape under /api/, Django's page elsewhere."""
    if request.path.startswith(API_PREFIX):
        message = (
            "CSRF check failed: with a session cookie, send the X-CSRFToken header; "
            "API clients should authenticate with 'Authorization: Token <key>' instead."
        )
        return _json_error(403, message, code="csrf_failed")
    return html_csrf_failure(request, reason=reason)


class JsonErrorsUnderApi:
    """Every answer under /api/ that is an error is JSON in the one error shape.

    Bodies over ``DATA_UPLOAD_MAX_MEMORY_SIZE`` are refused with 413 before any view reads them:
    DRF's parsers read the raw stream and would otherwise parse a body of any size.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path.startswith(API_PREFIX):
            return self.get_response(request)
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return _json_error(400, "The Content-Length header is not a number.")
        if limit is not None and length > limit:
            return _json_error(413, f"The request body is over {limit:,} bytes.")
        response = self.get_response(request)
        if response.status_code >= 400 and not response.get("Content-Type", "").startswith("application/json"):
            replaced = _json_error(response.status_code)
            for header in ("Allow", "WWW-Authenticate", "Retry-After"):
                if header in response:
                    replaced[header] = response[header]
            return replaced
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not request.path.startswith(API_PREFIX):
            return None
        if isinstance(exception, RequestDataTooBig):
            return _json_error(413)
        if isinstance(exception, Http404):
            return _json_error(404)
        if isinstance(exception, PermissionDenied):
            return _json_error(403)
        logger.exception("Unhandled error in %s %s", request.method, request.path)
        return _json_error(500)
