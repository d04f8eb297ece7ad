"""What sign-in shares with the backends: how references and postcodes are compared, and how
lockouts are keyed. The patient backend itself is `booking.patient_sign_in` (it reads referrals)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest


def normalise_reference(reference: str) -> str:
    return "".join(reference.split()).upper()


def normalise_postcode(postcode: str) -> str:
    return "".join(postcode.split()).upper()


def axes_username(request: HttpRequest, credentials: dict[str, Any] | None) -> str:
    """Lock out by booking reference for patients, by username for staff."""
    credentials = credentials or {}
    reference = credentials.get("booking_reference")
    if reference:
        return f"ref:{normalise_reference(str(reference))}"
    return str(credentials.get("username", ""))
