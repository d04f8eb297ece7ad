"""Who may use the patient pages (signed-in patients; anyone else is sent to sign in or refused),
and the appointment those pages are about."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse

from accounts.models import Role
from booking.access import get_referral_or_404
from booking.models import Booking, Referral

View = Callable[..., HttpResponse]


def patient_required(view: View) -> View:
    """Anonymous visitors go to the patient sign-in (not the staff one); staff get 403."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        user = request.user
        if not user.is_authenticated:
            return redirect_to_login(request.get_full_path(), reverse("accounts:patient-sign-in"))
        if user.role != Role.PATIENT or not user.patient_id:
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapped


def with_active_booking(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """For a page about the patient's appointment: their referral and its active booking, or home
    when there is none (cancelled, or never booked)."""

    @wraps(view)
    def wrapped(request: HttpRequest, referral_id: int) -> HttpResponse:
        referral = get_referral_or_404(request.user, referral_id)
        booking = active_booking(request, referral)
        if booking is None:
            return redirect("booking:patient-home")
        return view(request, referral, booking)

    return wrapped


def active_booking(request: HttpRequest, referral: Referral) -> Booking | None:
    return (
        Booking.objects.visible_to(request.user)
        .filter(referral_id=referral.pk)
        .active()
        .select_related("slot__site", "referral__exam_type")
        .first()
    )
