from django.apps import AppConfig


class QuickbooksConfig(AppConfig):
    name = "quickbooks"
    verbose_name = "QuickBooks Online"

    def ready(self) -> None:
        from procurement import hooks
        from quickbooks import tax  # noqa: F401  (registers tax.tax_rule with procurement.hooks)
        from quickbooks.export.services import on_document_transition

        hooks.on_transition(on_document_transition)
