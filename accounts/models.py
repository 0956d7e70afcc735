"""Companies (tenants) and their users. A user belongs to exactly one company and holds roles in it."""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models


class Company(models.Model):
    name = models.CharField(max_length=200)
    home_currency = models.CharField(max_length=3, default="USD")
    # Users with the Admin or Approve role must pass a second factor (TOTP) after their password.
    require_two_factor = models.BooleanField(default=False)
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


class AuditQuerySet(models.QuerySet["AuditEntry"]):
    """Append-only: no bulk change or removal through the product (``accounts.audit`` writes)."""

    def update(self, **kwargs: object) -> int:
        raise PermissionError("Audit entries cannot be changed.")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise PermissionError("Audit entries cannot be deleted.")


class AuditEntry(models.Model):
    """One security-relevant action: who, when, from where, what. Written once by
    ``accounts.audit.record``; never changed or deleted through the product."""

    company = models.ForeignKey(Company, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    # The person who acted; kept as text too, so the entry still says who after a rename.
    actor = models.ForeignKey(User, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    actor_name = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=60)
    target = models.CharField(max_length=200, blank=True)  # what it was done to: a user, a setting, ...
    details = models.JSONField(default=dict, blank=True)  # e.g. {"old": ..., "new": ...}
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    at = models.DateTimeField(auto_now_add=True, db_index=True)

    objects = AuditQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["company", "-at"]), models.Index(fields=["company", "action"])]
        verbose_name_plural = "audit entries"

    def save(self, *args: object, **kwargs: object) -> None:
        if self.pk is not None:
            raise PermissionError("Audit entries cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args: object, **kwargs: object) -> tuple[int, dict[str, int]]:
        raise PermissionError("Audit entries cannot be deleted.")
