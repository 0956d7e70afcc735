"""URLs of Integrations → vendors (kept apart so each part of the Integrations pages owns its routes)."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
