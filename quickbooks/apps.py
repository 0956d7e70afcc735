from django.apps import AppConfig


class QuickbooksConfig(AppConfig):
    name = "quickbooks"
