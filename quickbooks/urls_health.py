"""URLs of Integrations → health (kept apart so each part of the Integrations pages owns its routes)."""

from django.urls import URLPattern, path

from quickbooks import views_health

urlpatterns: list[URLPattern] = [
    path("health/", views_health.health_page, name="integrations-health"),
    path("health/sync-log.csv", views_health.health_log_csv, name="integrations-health-csv"),
]
