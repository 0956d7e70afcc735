from django.urls import path

from quickbooks import views

urlpatterns = [
    path("", views.integrations, name="integrations"),
]
