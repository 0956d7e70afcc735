from django.urls import path

from accounts import audit_views, two_factor_views, views

urlpatterns = [
    path("users/", views.user_list, name="user-list"),
    path("users/new/", views.user_create, name="user-create"),
    path("users/<int:pk>/roles/", views.user_roles, name="user-roles"),
    path("users/<int:pk>/active/", views.user_active, name="user-active"),
    path("users/<int:pk>/unlock/", views.user_unlock, name="user-unlock"),
    path("users/<int:pk>/two-factor/reset/", views.user_two_factor_reset, name="user-two-factor-reset"),
    path("users/two-factor/", views.company_two_factor, name="company-two-factor"),
    path("audit/", audit_views.audit_list, name="audit-list"),
    path("audit/csv/", audit_views.audit_csv, name="audit-csv"),
    path("account/", two_factor_views.account, name="account"),
    path("account/two-factor/setup/", two_factor_views.setup, name="two-factor-setup"),
    path("account/two-factor/verify/", two_factor_views.verify, name="two-factor-verify"),
    path("account/two-factor/recovery-codes/", two_factor_views.recovery_codes, name="two-factor-recovery-codes"),
    path(
        "account/two-factor/recovery-codes/renew/",
        two_factor_views.renew_recovery_codes,
        name="two-factor-recovery-codes-renew",
    ),
    path("account/two-factor/off/", two_factor_views.disable, name="two-factor-disable"),
]
