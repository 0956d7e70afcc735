"""The OpenAPI schema tells the whole truth: a drf-spectacular postprocessing hook.

drf-spectacular documents what each view declares. This hook adds, in one place, what every
operation can answer whatever its view (settings.SPECTACULAR_SETTINGS["POSTPROCESSING_HOOKS"]):

- the error statuses the framework itself gives (401 without credentials, 400 for a request the
  schema does not admit, 422 for one that breaks a business rule, 413 for a body over the size
  limit, 415 for a body that is not JSON ...), each with the one error shape;
- the input limits the API enforces: no NUL character in any string (DRF refuses it, and
  PostgreSQL could not store it), integers within 64 bits, path ids of at most 18 digits, pages
  counted from 1, and query parameters never null (a query string cannot say null);
- OpenAPI links from each created (or read) object to the operations on it, so a generated
  client, and stateful testing, can walk create → read → update → submit → approve → revise.
"""

from __future__ import annotations

import re
from typing import Any

from procuresync.api import INT64_MAX, decimal_pattern

ERROR = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorOut"}}}}
WRITE_METHODS = {"post", "put", "patch", "delete"}
METHODS = {"get", *WRITE_METHODS}
NO_NUL = "^[^\\u0000]*$"  # ECMA-262 and Python agree on this pattern
# Required text is trimmed and must not end up blank: at least one character that is not space.
NO_NUL_NOT_BLANK = "^[^\\u0000]*[^\\u0000\\s][^\\u0000]*$"
# drf-spectacular's decimal pattern admits "" and "-"; the parser (procuresync.api) does not.
SPECTACULAR_DECIMAL = re.compile(r"\^-\?\\d\{0,(\d+)\}\(\?:\\\.\\d\{0,(\d+)\}\)\?\$")
DESCRIPTIONS = {
    "400": "The request was refused: the fields named in the error say why. Nothing was saved.",
    "401": "No valid credentials: send 'Authorization: Token <key>' (POST /api/v1/auth/token).",
    "403": "The caller's roles do not allow this.",
    "404": "No such object in the caller's company (or no such page).",
    "409": "The object's state does not allow this now (the message says why). Nothing was saved.",
    "422": "Well formed, but it breaks a business rule: the fields named in the error say which. Nothing saved.",
    "413": "The body is over the size limit.",
    "415": "The body is not JSON (Content-Type: application/json).",
}


def complete_schema(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    for item in result.get("paths", {}).values():
        for method, operation in item.items():
            if method in METHODS:
                _document_errors(method, operation)
                _limit_parameters(operation)
    for name, component in result.get("components", {}).get("schemas", {}).items():
        if name.endswith("Request"):  # COMPONENT_SPLIT_REQUEST: the input half of a serializer
            _limit_input(component)
    _link_operations(result.get("paths", {}))
    return result


def _document_errors(method: str, operation: dict[str, Any]) -> None:
    statuses = {"403", "404"}
    if operation.get("security"):
        statuses.add("401")
    has_body = "requestBody" in operation
    if has_body or any(p.get("in") == "query" for p in operation.get("parameters", [])):
        statuses |= {"400", "422"}
    if has_body:
        statuses |= {"413", "415"}
    if method in WRITE_METHODS and operation.get("security"):
        statuses.add("409")
    responses = operation.setdefault("responses", {})
    for status in sorted(statuses):
        responses.setdefault(status, {"description": DESCRIPTIONS[status], **ERROR})


def _limit_parameters(operation: dict[str, Any]) -> None:
    for parameter in operation.get("parameters", []):
        schema = parameter.get("schema", {})
        if parameter.get("in") == "path" and schema.get("type") == "integer":
            schema.update(minimum=1, maximum=10**18 - 1)  # the URL converter takes 1 to 18 digits
        if parameter.get("in") == "query":
            schema.pop("nullable", None)
            if parameter.get("name") == "page":
                schema.setdefault("minimum", 1)
        _limit_input(schema)


def _limit_input(schema: dict[str, Any]) -> None:
    """What the parser refuses, said in the schema: NUL in free text, integers beyond 64 bits."""
    if schema.get("type") == "string" and not ({"enum", "format", "pattern"} & set(schema)):
        schema["pattern"] = NO_NUL_NOT_BLANK if schema.get("minLength") else NO_NUL
    decimal = SPECTACULAR_DECIMAL.fullmatch(schema.get("pattern", "")) if schema.get("format") == "decimal" else None
    if decimal:
        whole, places = decimal.groups()
        schema["pattern"] = decimal_pattern(whole=int(whole), places=int(places), signed=True)
    if schema.get("type") == "integer":
        schema.setdefault("minimum", -INT64_MAX)
        schema.setdefault("maximum", INT64_MAX)
    for child in schema.get("properties", {}).values():
        _limit_input(child)
    for key in ("items", "additionalProperties"):
        if isinstance(schema.get(key), dict):
            _limit_input(schema[key])
    for key in ("allOf", "oneOf", "anyOf"):
        for child in schema.get(key, []):
            _limit_input(child)


def _link_operations(paths: dict[str, Any]) -> None:
    """From every answer that returns an object with an ``id``, link to the operations on it: the
    collection's POST (201) and each operation under ``<collection>{id}``."""
    object_paths = {path: item for path, item in paths.items() if "{id}" in path}
    for path, item in paths.items():
        for method, operation in item.items():
            if method not in METHODS:
                continue
            base = path[: path.index("{id}")] if "{id}" in path else path.rstrip("/") + "/"
            if "{id}" not in path and method != "post":
                continue  # a list answers many objects, not one
            targets = {
                target["operationId"]: target
                for object_path, object_item in object_paths.items()
                if object_path.startswith(base) and object_path[len(base) :].startswith("{id}")
                for target_method, target in object_item.items()
                if target_method in METHODS and target is not operation
            }
            for status, response in operation.get("responses", {}).items():
                if status in ("200", "201") and targets:
                    response["links"] = {
                        operation_id: {"operationId": operation_id, "parameters": {"id": "$response.body#/id"}}
                        for operation_id in sorted(targets)
                    }
