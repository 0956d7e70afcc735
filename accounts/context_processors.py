from __future__ import annotations

from django.http import HttpRequest

from accounts.roles import Permission, allowed


def roles(request: HttpRequest) -> dict[str, object]:
    """Expose ``can.<action>`` to templates so menus show only what the user may use."""
    user = request.user
    if not user.is_authenticated:
        return {"can": {}}
    return {"can": {action.name.lower(): allowed(user, action) for action in Permission}}
