"""Role checks for views: one decorator per role, returning 403 (or sign-in) otherwise."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse

from .models import Role

View = Callable[..., HttpResponse]


def require_role(*roles: Role) -> Callable[[View], View]:
    allowed = {str(role) for role in roles}

    def decorator(view: View) -> View:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            user = request.user
            if not user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if user.role not in allowed and not (Role.ADMIN in allowed and user.is_superuser):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapped

    return decorator
