"""Companies (tenants) and their users. A user belongs to exactly one company and holds roles in it."""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models


class Company(models.Model):
    name = models.CharField(max_length=200)
    home_currency = models.CharField(max_length=3, default="USD")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "companies"

    def __str__(self) -> str:
        return self.name


class User(AbstractUser):
    """A person who logs in. Superusers may have no company; everyone else has one.

    Roles are four flags rather than Django groups: they are per company by construction (the user
    belongs to one company), cost no extra query to check, and the User Management page edits them
    directly. ``accounts.roles`` is the only place that interprets them.
    """

    company = models.ForeignKey(Company, on_delete=models.PROTECT, null=True, blank=True, related_name="users")
    role_create = models.BooleanField("Create", default=False)
    role_approve = models.BooleanField("Approve", default=False)
    role_payment = models.BooleanField("Payment", default=False)
    role_admin = models.BooleanField("Admin", default=False)

    def __str__(self) -> str:
        return self.get_full_name() or self.username

    @property
    def tenant_id(self) -> int:
        """The company id of a member; services only ever act for members (roles require one)."""
        if self.company_id is None:
            raise ValueError(f"User {self.username} belongs to no company")
        return self.company_id
