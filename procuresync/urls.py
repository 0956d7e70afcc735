from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from quickbooks.inbound.webhooks import webhook_endpoint

urlpatterns = [
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("api/v1/", include("procuresync.api_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("", include("accounts.urls")),
    path("", include("procurement.urls")),
    path("payments/", include("payments.urls")),
    path("integrations/", include("quickbooks.urls")),
    path("quickbooks/webhooks", webhook_endpoint, name="qbo-webhooks"),  # CSRF-exempt, signature-checked
]
