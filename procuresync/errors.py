"""The domain's error types. Services raise these; pages and the API translate them in one place each.

Every error carries a human message that says what went wrong and, where possible, what to do. A
field error names the field the way the form and the API name it.
"""

from __future__ import annotations


class DomainError(Exception):
    """Base of every business-rule refusal. ``code`` is stable for API clients.

    The API answers 422 for a request that is well formed (it matches the schema: the serializers
    check that, and answer 400 when it does not) but breaks a business rule: a supplier that is not
    yours, a discount over the subtotal, a duplicate name. 409 is for the document's state.
    """

    code = "invalid"
    http_status = 422

    def __init__(self, message: str, *, field: str | None = None, fields: dict[str, list[str]] | None = None):
        super().__init__(message)
        self.message = message
        self.fields: dict[str, list[str]] = dict(fields or {})
        if field is not None:
            self.fields.setdefault(field, []).append(message)


class ValidationFailed(DomainError):
    """Input that breaks a rule; nothing was changed."""

    code = "validation_failed"


class TransitionNotAllowed(DomainError):
    """A workflow action that the document's current status does not allow."""

    code = "transition_not_allowed"
    http_status = 409


class RoleRequired(DomainError):
    """The user lacks the role an action needs."""

    code = "permission_denied"
    http_status = 403


class NotFound(DomainError):
    """Missing, or belongs to another company: the two are deliberately indistinguishable."""

    code = "not_found"
    http_status = 404
