"""An Admin manages the company's users and their roles."""

import pytest
from django.core.management import call_command

from accounts.models import User
from accounts.roles import Role, roles_of
from accounts.services import user_create, user_set_active, user_set_roles
from procurement.models import Document, DocumentKind, Status
from procuresync.errors import RoleRequired, ValidationFailed
from tests.conftest import PASSWORD


def logs_in(client, username: str, password: str) -> bool:
    """Log in as a person does, with the login page's form; True when it let them in."""
    client.post("/login/", {"username": username, "password": password})
    return "_auth_user_id" in client.session


def test_given_an_admin_when_granting_the_payment_role_then_the_user_holds_it(admin, creator):
    user_set_roles(actor=admin, user=creator, roles={Role.CREATE, Role.PAYMENT})
    creator.refresh_from_db()
    assert roles_of(creator) == {Role.CREATE, Role.PAYMENT}


def test_given_a_non_admin_then_roles_cannot_be_changed(creator, payer):
    with pytest.raises(RoleRequired, match="Admin role"):
        user_set_roles(actor=creator, user=payer, roles=set(Role))
    payer.refresh_from_db()
    assert roles_of(payer) == {Role.PAYMENT}


def test_given_an_admin_of_another_company_then_our_users_are_out_of_reach(outsider, creator):
    with pytest.raises(ValidationFailed, match="No such user"):
        user_set_roles(actor=outsider, user=creator, roles=set())


def test_given_the_last_admin_then_they_cannot_drop_their_own_admin_role(admin):
    with pytest.raises(ValidationFailed, match="own Admin role"):
        user_set_roles(actor=admin, user=admin, roles={Role.CREATE})


def test_given_an_admin_when_adding_a_user_then_the_user_can_log_in(admin, company, client):
    user_create(actor=admin, company=company, username="newbie", password=PASSWORD, roles={Role.APPROVE})
    assert logs_in(client, "newbie", PASSWORD)


@pytest.mark.parametrize(
    ("username", "password", "field"),
    [("", PASSWORD, "username"), ("creator", PASSWORD, "username"), ("short", "1234567", "password")],
)
def test_given_bad_user_details_then_nothing_is_created(admin, company, creator, username, password, field):
    before = User.objects.count()
    with pytest.raises(ValidationFailed) as error:
        user_create(actor=admin, company=company, username=username, password=password, roles=set())
    assert field in error.value.fields
    assert User.objects.count() == before


def test_given_a_deactivated_user_then_they_cannot_log_in(admin, creator, client):
    user_set_active(actor=admin, user=creator, active=False)
    assert not logs_in(client, "creator", PASSWORD)


def test_demo_data_creates_documents_in_every_status_and_prints_working_logins(db, capsys, client):
    call_command("demo_data")
    printed = capsys.readouterr().out
    statuses = set(Document.objects.values_list("status", flat=True))
    # Credit notes become (Partly) Applied only when QuickBooks applies them; the demo is not connected.
    assert statuses == set(Status.values) - {Status.PARTLY_APPLIED, Status.APPLIED}
    assert set(Document.objects.values_list("kind", flat=True)) == set(DocumentKind.values)
    for name in ("creator", "approver", "payer", "admin", "owner"):
        line = next(row for row in printed.splitlines() if row.strip().startswith(name + " "))
        password = line.split()[1]
        assert logs_in(client, name, password), f"printed login for {name} does not work"
        client.logout()
    # Running it again keeps the data and prints fresh passwords that work.
    count = Document.objects.count()
    call_command("demo_data")
    assert Document.objects.count() == count
