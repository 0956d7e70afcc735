"""URLs of Integrations → setup (kept apart so each part of the Integrations pages owns its routes)."""

from django.urls import path

from quickbooks import views_setup

urlpatterns = [
    path("setup/", views_setup.setup, name="integrations-setup"),
    path("setup/check/", views_setup.setup_check_run, name="integrations-setup-check"),
]
