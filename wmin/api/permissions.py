"""Who may call what. The same role scopes as the pages (`Model.objects.visible_to(user)`):

- patient: their own referrals, offers and bookings
- clerk and integration system: their own trust's patients; the network's pool slots
- network manager: aggregates only, so every endpoint with patient data or slots answers 403
- admin: everything
"""

from __future__ import annotations

from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from accounts.models import ApiScope, ApiToken, Role

BOOKING_ROLES = frozenset({Role.PATIENT, Role.CLERK, Role.INTEGRATION, Role.ADMIN})


def has_role(user: object, roles: frozenset[str]) -> bool:
    if not getattr(user, "is_authenticated", False):
        return False
    if getattr(user, "is_superuser", False):
        return True
    return getattr(user, "role", None) in roles


class SeesPatientData(BasePermission):
    """Patients (their own), clerks and integration systems (their trust's), admins (all)."""

    message = "Your role sees aggregates only; this endpoint returns patient data or bookable slots."

    def has_permission(self, request: Request, view: object) -> bool:
        return has_role(request.user, BOOKING_ROLES)


class TokenScopes(BasePermission):
    """A token does only what its scopes allow: reads need `read`; each view names the scope its
    changes need in `change_scope` (booking and answering offers `book`, cancelling `cancel`).
    A signed-in browser session (no token) is held to its role alone."""

    message = "This token's scopes do not allow this."

    def has_permission(self, request: Request, view: object) -> bool:
        token = request.auth
        if not isinstance(token, ApiToken) or not hasattr(view, request.method.lower()):
            return True  # a session is held to its role; a method the view lacks answers 405
        if request.method in ("GET", "HEAD", "OPTIONS"):
            needed = ApiScope.READ
        else:
            needed = getattr(view, "change_scope", None)
        if needed is None or needed not in token.scopes:
            self.message = f"This token's scopes ({', '.join(token.scopes) or 'none'}) do not include {needed or 'this change'}."
            return False
        return True
