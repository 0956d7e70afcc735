from django.urls import path

from payments import views

urlpatterns = [
    path("", views.payment_list, name="payment-list"),
    path("record/<int:invoice_pk>/", views.payment_record, name="payment-record"),
    path("<int:pk>/cancel/", views.payment_cancel, name="payment-cancel"),
    path("import/", views.payment_import, name="payment-import"),
    path("import/<int:pk>/", views.payment_import_progress, name="payment-import-progress"),
]
