"""Sign in and out: staff by username and password, patients by booking reference."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import login, logout
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from audit.models import AuditAction
from audit.trail import record

from .forms import PatientSignInForm, StaffSignInForm


def _safe_next(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    return target if target.startswith("/") and not target.startswith("//") else ""


@require_http_methods(["GET", "POST"])
def staff_sign_in(request: HttpRequest) -> HttpResponse:
    form = StaffSignInForm(request, request.POST or None)
    if request.method == "POST":
        if form.is_valid() and form.user is not None:
            login(request, form.user, backend="django.contrib.auth.backends.ModelBackend")
            record(AuditAction.SIGN_IN, form.user, summary=f"{form.user.username} signed in")
            return redirect(_safe_next(request) or "home")
        record(
            AuditAction.SIGN_IN_FAILED,
            object_type="accounts.User",
            object_id=request.POST.get("username", "")[:60],
            summary="Staff sign-in failed",
        )
    return render(request, "accounts/staff_sign_in.jinja", {"form": form, "next": _safe_next(request)})


@require_http_methods(["GET", "POST"])
def patient_sign_in(request: HttpRequest) -> HttpResponse:
    form = PatientSignInForm(request, request.POST or None)
    if request.method == "POST":
        if form.is_valid() and form.user is not None:
            login(request, form.user, backend=settings.PATIENT_SIGN_IN_BACKEND)
            record(
                AuditAction.SIGN_IN,
                form.user,
                summary="Patient signed in with booking reference",
                patient_id=form.user.patient_id,
            )
            return redirect(_safe_next(request) or "home")
        record(AuditAction.SIGN_IN_FAILED, object_type="booking.Referral", summary="Patient sign-in failed")
    return render(request, "accounts/patient_sign_in.jinja", {"form": form, "next": _safe_next(request)})


@require_http_methods(["GET", "POST"])
def sign_out(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":  # a link in the header: confirm with a form so sign-out stays a POST
        return render(request, "accounts/sign_out.jinja")
    if request.user.is_authenticated:
        record(AuditAction.SIGN_OUT, request.user, summary=f"{request.user.get_username()} signed out")
    logout(request)
    return redirect("home")


def locked_out(request: HttpRequest, credentials: dict[str, Any] | None = None, *args: Any, **kwargs: Any) -> HttpResponse:
    return render(request, "accounts/locked_out.jinja", status=429)
