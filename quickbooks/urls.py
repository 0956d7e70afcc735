from django.urls import path

from quickbooks import views

urlpatterns = [
    path("", views.integrations, name="integrations"),
    path("connect/", views.connect, name="integrations-connect"),
    path("callback/", views.callback, name="integrations-callback"),
    path("disconnect/", views.disconnect, name="integrations-disconnect"),
    path("settings/", views.settings_save, name="integrations-settings"),
    path("lists/", views.lists_import, name="integrations-lists"),
    path("vendors/", views.vendor_map, name="integrations-vendor-map"),
    path("retry-failed/", views.retry_failed, name="integrations-retry-failed"),
    path("documents/<int:pk>/send/", views.document_send, name="quickbooks-send"),
]
