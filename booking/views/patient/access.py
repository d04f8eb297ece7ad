"""Who may use the patient pages: signed-in patients; anyone else is sent to sign in or refused."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.urls import reverse

from wmin.accounts.models import Role

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
