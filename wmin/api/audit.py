"""The API caller is the audit actor.

Token authentication happens inside DRF, after the audit middleware has run, so that middleware sees an
anonymous user. `CallerIsActor` sets the actor from the authenticated DRF request once DRF has
authenticated it, and restores the previous actor when the response is finalised.
"""

from __future__ import annotations

import contextvars
from typing import Any

from rest_framework.request import Request
from rest_framework.response import Response

from audit.context import Actor, current_actor, reset_actor, set_actor
from audit.middleware import client_ip


def actor_for(request: Request) -> Actor:
    outer = current_actor()
    user = request.user
    address = client_ip(request._request)
    if user is not None and user.is_authenticated:
        return Actor(user.pk, user.get_username(), getattr(user, "role", ""), address, outer.request_id)
    return Actor(None, "anonymous", "", address, outer.request_id)


class CallerIsActor:
    # Mix into an APIView before the DRF base class. (No docstring: drf-spectacular would show it.)

    _actor_token: contextvars.Token[Actor] | None = None

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)  # type: ignore[misc]
        self._actor_token = set_actor(actor_for(request))

    def finalize_response(self, request: Request, response: Response, *args: Any, **kwargs: Any) -> Response:
        if self._actor_token is not None:
            reset_actor(self._actor_token)
            self._actor_token = None
        return super().finalize_response(request, response, *args, **kwargs)  # type: ignore[misc]
