from django.apps import AppConfig


class QuickbooksConfig(AppConfig):
    name = "quickbooks"
    verbose_name = "QuickBooks Online"

    def ready(self) -> None:
        from procurement import hooks
        from quickbooks.export.services import on_document_transition

        hooks.on_transition(on_document_transition)
