"""Hooks into workflow transitions, called inside the transition's transaction.

Lets other apps act on a transition without procurement knowing about them:

- **guards** (``before_transition``) run after the document's row lock, before its status changes;
  they may refuse the transition by raising a ``DomainError`` (payments refuses cancelling an
  invoice with active payments, or approving a total below them);
- **tax rules** (``tax_rule``): the QuickBooks integration says, for a company whose QuickBooks
  computes tax per rate (outside the US), which rates make up each line's tax, so our totals
  are computed the way QuickBooks will compute them;
- **listeners** (``on_transition``) run after the status changed and its event was written
  (payments recomputes Paid / Partly Paid on approval; the QuickBooks integration writes its
  outbox row in the same transaction as the approval or cancellation that caused it).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from accounts.models import User
    from procurement.models import Document, DocumentLine
    from procurement.workflow import DocumentAction

Listener = Callable[["Document", "DocumentAction", "User | None"], None]
_listeners: list[Listener] = []
_guards: list[Listener] = []
# (document, its lines) → for each line, the rates its tax is made of (empty: its own tax_rate).
TaxRule = Callable[["Document", "Sequence[DocumentLine]"], "list[tuple[Decimal, ...]]"]
_tax_rules: list[TaxRule] = []


def tax_rule(rule: TaxRule) -> TaxRule:
    if rule not in _tax_rules:
        _tax_rules.append(rule)
    return rule


def tax_components(document: Document, lines: Sequence[DocumentLine]) -> list[tuple[Decimal, ...]]:
    """The first rule that has an answer for this document decides; none: each line's own rate."""
    for rule in _tax_rules:
        answer = rule(document, lines)
        if answer:
            return answer
    return [() for _ in lines]


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
