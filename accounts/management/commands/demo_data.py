"""Create (or refresh) the demo company: one user per role, suppliers, lists, and documents in every status.

Passwords are generated on every run and printed, never stored in the repository. Running it again
keeps the data and only resets the demo users' passwords.
"""

from __future__ import annotations

import datetime as dt
import secrets
from decimal import Decimal
from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction

from accounts.models import Company, User
from accounts.roles import Role
from accounts.services import company_create, user_create
from payments.models import Method
from payments.services import payment_record
from procurement import workflow
from procurement.inputs import DocumentData, LineData, SupplierData
from procurement.models import Document, DocumentKind, ListKind, ListOption
from procurement.services import (
    custom_field_create,
    document_create,
    document_transition,
    list_option_create,
    supplier_create,
)

DEMO_COMPANY = "Demo Trading Co"
DEMO_USERS = {
    "creator": {Role.CREATE},
    "approver": {Role.APPROVE},
    "payer": {Role.PAYMENT},
    "admin": {Role.ADMIN},
    "owner": set(Role),
}
SUPPLIERS = [
    ("Northwind Office Supply", "USD", "billing@northwind.example", "TX-11-2233"),
    ("Contoso Hardware", "USD", "ap@contoso.example", "TX-44-5566"),
    ("Fabrikam Printing", "USD", "invoices@fabrikam.example", ""),
    ("Tailspin Logistics", "EUR", "accounts@tailspin.example", "DE123456789"),
]


class Command(BaseCommand):
    help = "Create or refresh the demo company and print its logins."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--url", default="http://127.0.0.1:8000/", help="Where the product is served, for the printout."
        )

    def handle(self, *args: Any, url: str, **options: Any) -> None:
        company = Company.objects.filter(name=DEMO_COMPANY).first()
        passwords = {name: secrets.token_urlsafe(9) for name in DEMO_USERS}
        with transaction.atomic():
            if company is None:
                company = company_create(name=DEMO_COMPANY, home_currency="USD")
                users = {
                    name: user_create(
                        company=company,
                        username=name,
                        password=passwords[name],
                        roles=roles,
                        first_name=name.title(),
                        email=f"{name}@demo.example",
                    )
                    for name, roles in DEMO_USERS.items()
                }
                self._populate(users)
            else:
                for name in DEMO_USERS:
                    user = User.objects.get(company=company, username=name)
                    user.set_password(passwords[name])
                    user.save(update_fields=["password"])
        self.stdout.write(self.style.SUCCESS(f"\nprocuresync is ready at {url}\n"))
        self.stdout.write(f"Demo company: {DEMO_COMPANY}. Log in as (username / password):")
        for name, roles in DEMO_USERS.items():
            self.stdout.write(f"  {name:<9} {passwords[name]:<14} roles: {', '.join(sorted(roles))}")
        self.stdout.write("")

    def _populate(self, users: dict[str, User]) -> None:
        owner = users["owner"]
        suppliers = [
            supplier_create(actor=owner, data=SupplierData(name=n, currency=c, email=e, tax_id=t))
            for n, c, e, t in SUPPLIERS
        ]
        for list_kind, names in {
            ListKind.ACCOUNT: ["Office Supplies", "Equipment", "Shipping and Delivery", "Printing"],
            ListKind.CLASS: ["Operations", "Sales", "R&D"],
            ListKind.CUSTOMER_PROJECT: ["Website relaunch", "Warehouse move"],
        }.items():
            for name in names:
                list_option_create(actor=owner, kind=list_kind, name=name)
        location = custom_field_create(actor=owner, name="Location")
        account = ListOption.objects.get(company=owner.company, kind=ListKind.ACCOUNT, name="Office Supplies")
        today = dt.date.today()

        def data(supplier_index: int, number: int, invoice: bool) -> DocumentData:
            supplier = suppliers[supplier_index]
            return DocumentData(
                supplier_id=supplier.pk,
                issue_date=today - dt.timedelta(days=30 - number),
                due_date=today + dt.timedelta(days=number) if invoice else None,
                exchange_rate=Decimal("1.0850") if supplier.currency == "EUR" else None,
                supplier_unique_code=f"{supplier.name.split()[0][:4].upper()}-{1000 + number}" if invoice else "",
                discount_type="percent" if number % 3 == 0 else "",
                discount_value=Decimal("5") if number % 3 == 0 else Decimal("0"),
                custom_values={location.pk: ["Head office", "Warehouse"][number % 2]},
                lines=[
                    LineData(
                        description="Copy paper, A4, 5 reams",
                        quantity=Decimal(2 + number % 4),
                        unit_price=Decimal("24.90"),
                        account_id=account.pk,
                    ),
                    LineData(
                        description="Ergonomic chair",
                        quantity=Decimal("1"),
                        unit_price=Decimal("189.00"),
                        discount_type="amount",
                        discount_value=Decimal("9.00"),
                        account_id=account.pk,
                    ),
                ],
            )

        A = workflow.DocumentAction
        journeys: list[list[workflow.DocumentAction]] = [
            [],  # draft
            [A.SUBMIT],  # pending
            [A.SUBMIT, A.APPROVE],  # approved
            [A.SUBMIT, A.REJECT],  # rejected
            [A.SUBMIT, A.APPROVE, A.REVISE],  # in revision
            [A.CANCEL],  # cancelled
            [A.SUBMIT, A.APPROVE],  # partly paid (below)
            [A.SUBMIT, A.APPROVE],  # paid (below)
        ]
        actor_for = {
            A.SUBMIT: owner,
            A.APPROVE: users["approver"],
            A.REJECT: users["approver"],
            A.REVISE: owner,
            A.CANCEL: owner,
        }
        invoices: dict[int, Document] = {}
        for kind in (DocumentKind.PURCHASE_ORDER, DocumentKind.INVOICE):
            is_invoice = kind == DocumentKind.INVOICE
            for number, journey in enumerate(journeys):
                if not is_invoice and number >= 6:
                    continue
                document = document_create(
                    actor=owner, kind=kind, data=data(number % len(suppliers), number, is_invoice)
                )
                for action in journey:
                    comment = "Price is above the agreed rate" if action == A.REJECT else ""
                    document_transition(actor=actor_for[action], document=document, action=action, comment=comment)
                if is_invoice:
                    invoices[number] = document
                if is_invoice and number == 6:
                    payment_record(
                        actor=users["payer"],
                        invoice=document,
                        amount=Decimal("100.00"),
                        paid_on=today,
                        method=Method.CHEQUE,
                        reference="CHK 1042",
                    )
                if is_invoice and number == 7:
                    document.refresh_from_db()
                    payment_record(
                        actor=users["payer"],
                        invoice=document,
                        amount=document.total,
                        paid_on=today,
                        method=Method.CARD,
                        reference="VISA ••4242",
                    )
        # Credit notes: one pending, one approved, each crediting an invoice of its supplier. Applied
        # and Partly Applied come from QuickBooks only, so the demo (never connected) has none.
        for number, journey in ((0, [A.SUBMIT]), (2, [A.SUBMIT, A.APPROVE])):
            supplier = suppliers[number % len(suppliers)]
            credit = DocumentData(
                supplier_id=supplier.pk,
                issue_date=today - dt.timedelta(days=5 - number),
                exchange_rate=Decimal("1.0850") if supplier.currency == "EUR" else None,
                supplier_unique_code=f"{supplier.name.split()[0][:4].upper()}-CR-{100 + number}",
                credited_invoice_id=invoices[number].pk,
                custom_values={location.pk: "Head office"},
                lines=[
                    LineData(
                        description="Ergonomic chair, returned damaged",
                        quantity=Decimal("1"),
                        unit_price=Decimal("180.00"),
                        account_id=account.pk,
                    )
                ],
            )
            document = document_create(actor=owner, kind=DocumentKind.CREDIT_NOTE, data=credit)
            for action in journey:
                document_transition(actor=actor_for[action], document=document, action=action)
