from django.urls import include, path

from quickbooks import views
from quickbooks import views_reconciliation as recon

urlpatterns = [
    path("", views.integrations, name="integrations"),
    path("connect/", views.connect, name="integrations-connect"),
    path("callback/", views.callback, name="integrations-callback"),
    path("disconnect/", views.disconnect, name="integrations-disconnect"),
    path("settings/", views.settings_save, name="integrations-settings"),
    path("lists/", views.lists_import, name="integrations-lists"),
    path("lists/<int:pk>/", views.list_import_progress, name="integrations-lists-progress"),
    path("sends/<int:pk>/", views.send_progress, name="integrations-send-progress"),
    path("vendors/", views.vendor_map, name="integrations-vendor-map"),
    path("tax-codes/", views.tax_codes_save, name="integrations-tax-codes"),
    path("retry-failed/", views.retry_failed, name="integrations-retry-failed"),
    path("documents/<int:pk>/send/", views.document_send, name="quickbooks-send"),
    path("", include("quickbooks.urls_health")),
    path("", include("quickbooks.urls_setup")),
    path("", include("quickbooks.urls_vendors")),
    path("reconciliation/", recon.reconciliation, name="reconciliation"),
    path("reconciliation/start/", recon.reconciliation_start, name="reconciliation-start"),
    path("reconciliation/nightly/", recon.reconciliation_nightly, name="reconciliation-nightly"),
    path("reconciliation/<int:pk>/", recon.reconciliation_progress, name="reconciliation-progress"),
    path("reconciliation/<int:pk>/csv/", recon.reconciliation_csv, name="reconciliation-csv"),
    path("reconciliation/<int:pk>/fix-all/", recon.reconciliation_fix_all, name="reconciliation-fix-all"),
    path("reconciliation/<int:pk>/rows/<int:index>/fix/", recon.reconciliation_fix, name="reconciliation-fix"),
]
