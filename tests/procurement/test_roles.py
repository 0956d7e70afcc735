"""Persona × action over the services: the one place roles are enforced."""

import pytest

from accounts.roles import Permission, allowed, require
from procurement import workflow
from procurement.services import document_transition
from procuresync.errors import RoleRequired

MATRIX = {
    # action: personas allowed
    Permission.DOCUMENT_VIEW: {"creator", "approver", "payer", "admin", "nobody"},
    Permission.DOCUMENT_CREATE: {"creator"},
    Permission.DOCUMENT_EDIT: {"creator"},
    Permission.DOCUMENT_SUBMIT: {"creator"},
    Permission.DOCUMENT_APPROVE: {"approver"},
    Permission.DOCUMENT_REJECT: {"approver"},
    Permission.DOCUMENT_REVISE: {"creator", "approver"},
    Permission.DOCUMENT_CANCEL: {"creator", "admin"},
    Permission.SUPPLIER_MANAGE: {"creator", "admin"},
    Permission.PAYMENT_VIEW: {"payer"},
    Permission.PAYMENT_RECORD: {"payer"},
    Permission.PAYMENT_CANCEL: {"payer"},
    Permission.USERS_MANAGE: {"admin"},
    Permission.INTEGRATION_MANAGE: {"admin"},
    Permission.QUICKBOOKS_SEND: {"creator", "approver", "admin"},
}
PERSONAS = ["creator", "approver", "payer", "admin", "nobody"]


def test_the_matrix_covers_every_action():
    assert set(MATRIX) == set(Permission)


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("action", list(Permission))
def test_permission_matrix(request, persona, action):
    user = request.getfixturevalue(persona)
    expected = persona in MATRIX[action]
    assert allowed(user, action) is expected
    if expected:
        require(user, action)
    else:
        with pytest.raises(RoleRequired, match="role"):
            require(user, action)


def test_given_an_inactive_user_then_nothing_is_allowed(creator):
    creator.is_active = False
    assert not allowed(creator, Permission.DOCUMENT_CREATE)
    assert not allowed(creator, Permission.DOCUMENT_VIEW)


def test_given_a_creator_when_approving_then_the_service_refuses_and_nothing_changes(creator, draft_invoice):
    document_transition(actor=creator, document=draft_invoice, action=workflow.DocumentAction.SUBMIT)
    with pytest.raises(RoleRequired, match="Approve role"):
        document_transition(actor=creator, document=draft_invoice, action=workflow.DocumentAction.APPROVE)
    draft_invoice.refresh_from_db()
    assert draft_invoice.status == "pending"
