from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "payments"

    def ready(self) -> None:
        from payments.services import before_document_transition, on_document_transition
        from procurement import hooks

        hooks.before_transition(before_document_transition)
        hooks.on_transition(on_document_transition)
