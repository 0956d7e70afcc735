from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from accounts import passwords
from quickbooks.inbound.webhooks import webhook_endpoint

urlpatterns = [
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("account/password/", passwords.PasswordChange.as_view(), name="password_change"),
    path("account/password/changed/", auth_views.PasswordChangeDoneView.as_view(), name="password_change_done"),
    path("account/password/reset/", passwords.PasswordReset.as_view(), name="password_reset"),
    path("account/password/reset/sent/", auth_views.PasswordResetDoneView.as_view(), name="password_reset_done"),
    path(
        "account/password/reset/<uidb64>/<token>/",
        passwords.PasswordResetConfirm.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "account/password/reset/done/", auth_views.PasswordResetCompleteView.as_view(), name="password_reset_complete"
    ),
    path("api/v1/", include("procuresync.api_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves its start-up script as a file (?script), not inline, so the docs page
    # runs under the same Content-Security-Policy as every other page; api_docs.html moves its styles.
    path(
        "api/docs/",
        SpectacularSwaggerSplitView.as_view(url_name="api-schema", template_name="api_docs.html"),
        name="api-docs",
    ),
    path("", include("accounts.urls")),
    path("", include("procurement.urls")),
    path("payments/", include("payments.urls")),
    path("integrations/", include("quickbooks.urls")),
    path("quickbooks/webhooks", webhook_endpoint, name="qbo-webhooks"),  # CSRF-exempt, signature-checked
]
