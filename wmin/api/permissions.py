"""Who may call what. The same role scopes as the pages (`Model.objects.visible_to(user)`):

- patient: their own referrals, offers and bookings
- clerk and integration system: their own trust's patients; the network's pool slots
- network manager: aggregates only, so every endpoint with patient data or slots answers 403
- admin: everything
"""

from __future__ import annotations

from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from accounts.models import Role

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
