"""Listeners for workflow transitions, called inside the transition's transaction.

Lets the QuickBooks integration write its outbox row in the same transaction as the approval or
cancellation that caused it, without procurement knowing about QuickBooks.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from accounts.models import User
    from procurement.models import Document
    from procurement.workflow import DocumentAction

Listener = Callable[["Document", "DocumentAction", "User | None"], None]
_listeners: list[Listener] = []


def on_transition(listener: Listener) -> Listener:
    if listener not in _listeners:
        _listeners.append(listener)
    return listener


def transitioned(document: Document, action: DocumentAction, actor: User | None) -> None:
    for listener in _listeners:
        listener(document, action, actor)
