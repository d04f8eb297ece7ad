"""Sets the audit actor for each request from the signed-in user and the client address."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from .context import SYSTEM, Actor, reset_actor, set_actor


def client_ip(request: HttpRequest) -> str | None:
    return request.META.get("REMOTE_ADDR") or None


class RequestContextMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = request.headers.get("X-Request-ID") or str(uuid.uuid4())
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            actor = Actor(user.pk, user.get_username(), getattr(user, "role", ""), client_ip(request), request_id)
        else:
            actor = Actor(None, "anonymous", "", client_ip(request), request_id)
        token = set_actor(actor)
        try:
            response = self.get_response(request)
        finally:
            reset_actor(token)
        response["X-Request-ID"] = request_id
        return response


__all__ = ["SYSTEM", "RequestContextMiddleware"]
