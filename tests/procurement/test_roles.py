"""Persona × action over the services: the one place roles are enforced."""

import pytest

from accounts.roles import Action, allowed, require
from procurement import workflow
from procurement.services import document_transition
from procuresync.errors import RoleRequired

MATRIX = {
    # action: personas allowed
    Action.DOCUMENT_VIEW: {"creator", "approver", "payer", "admin", "nobody"},
    Action.DOCUMENT_CREATE: {"creator"},
    Action.DOCUMENT_EDIT: {"creator"},
    Action.DOCUMENT_SUBMIT: {"creator"},
    Action.DOCUMENT_APPROVE: {"approver"},
    Action.DOCUMENT_REJECT: {"approver"},
    Action.DOCUMENT_REVISE: {"creator", "approver"},
    Action.DOCUMENT_CANCEL: {"creator", "admin"},
    Action.SUPPLIER_MANAGE: {"creator", "admin"},
    Action.PAYMENT_VIEW: {"payer"},
    Action.PAYMENT_RECORD: {"payer"},
    Action.PAYMENT_CANCEL: {"payer"},
    Action.USERS_MANAGE: {"admin"},
    Action.INTEGRATION_MANAGE: {"admin"},
    Action.QUICKBOOKS_SEND: {"creator", "approver", "admin"},
}
PERSONAS = ["creator", "approver", "payer", "admin", "nobody"]


def test_the_matrix_covers_every_action():
    assert set(MATRIX) == set(Action)


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("action", list(Action))
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
    assert not allowed(creator, Action.DOCUMENT_CREATE)
    assert not allowed(creator, Action.DOCUMENT_VIEW)


def test_given_a_creator_when_approving_then_the_service_refuses_and_nothing_changes(creator, draft_invoice):
    document_transition(actor=creator, document=draft_invoice, action=workflow.Action.SUBMIT)
    with pytest.raises(RoleRequired, match="Approve role"):
        document_transition(actor=creator, document=draft_invoice, action=workflow.Action.APPROVE)
    draft_invoice.refresh_from_db()
    assert draft_invoice.status == "pending"
