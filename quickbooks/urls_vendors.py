"""URLs of Integrations → vendors (kept apart so each part of the Integrations pages owns its routes)."""

from django.urls import URLPattern, path

from quickbooks import views_vendors

urlpatterns: list[URLPattern] = [
    path("vendors/choices/", views_vendors.vendor_choices, name="integrations-vendor-choices"),
]
