from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Companies and users"

    def ready(self) -> None:
        from accounts import login_audit  # imports models: only once the apps are loaded

        login_audit.connect()
