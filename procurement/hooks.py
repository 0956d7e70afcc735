"""Hooks into workflow transitions, called inside the transition's transaction.

Lets other apps act on a transition without procurement knowing about them:

- **guards** (``before_transition``) run after the document's row lock, before its status changes;
  they may refuse the transition by raising a ``DomainError`` (payments refuses cancelling an
  invoice with active payments, or approving a total below them);
- **listeners** (``on_transition``) run after the status changed and its event was written
  (payments recomputes Paid / Partly Paid on approval; the QuickBooks integration writes its
  outbox row in the same transaction as the approval or cancellation that caused it).
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
_guards: list[Listener] = []


def on_transition(listener: Listener) -> Listener:
    if listener not in _listeners:
        _listeners.append(listener)
    return listener


def before_transition(guard: Listener) -> Listener:
    """Register a guard: called with the locked document (still in its current status), the action
    and the actor; it refuses the transition by raising a ``DomainError``."""
    if guard not in _guards:
        _guards.append(guard)
    return guard


def guard(document: Document, action: DocumentAction, actor: User | None) -> None:
    for check in _guards:
        check(document, action, actor)


def transitioned(document: Document, action: DocumentAction, actor: User | None) -> None:
    for listener in _listeners:
        listener(document, action, actor)
