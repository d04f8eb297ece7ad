"""Sets the audit actor for each request from the signed-in user and the client address.

The client address is the connecting one (`REMOTE_ADDR`) unless that is one of our own proxies
(`TRUSTED_PROXIES`, addresses or networks): then it is the right-most `X-Forwarded-For` entry that
is not a trusted proxy. A client's own X-Forwarded-For is never believed otherwise, so nobody can
pick the address their rate limits, lockouts and audit events are counted against.
"""

from __future__ import annotations

import ipaddress
import re
import uuid
from collections.abc import Callable
from functools import cache

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from .context import SYSTEM, Actor, reset_actor, set_actor

# The audit column holds 36 characters (a UUID); a caller's own id is kept only if it is that short
# and made of characters that cannot smuggle anything into a log line or a header.
REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,36}")

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@cache
def _trusted_networks(proxies: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(proxy, strict=False) for proxy in proxies)


def _parse_address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


def _is_trusted(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    networks = _trusted_networks(tuple(getattr(settings, "TRUSTED_PROXIES", ())))
    return any(address in network for network in networks)


def client_ip(request: HttpRequest) -> str | None:
    connecting = _parse_address(request.META.get("REMOTE_ADDR") or "")
    if connecting is None:
        return None
    if not _is_trusted(connecting):
        return str(connecting)
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    for hop in reversed(forwarded.split(",")):
        address = _parse_address(hop)
        if address is None:
            return str(connecting)  # a garbled chain: count the request against our proxy, not a guess
        if not _is_trusted(address):
            return str(address)
    return str(connecting)


def request_id_of(request: HttpRequest) -> str:
    """The caller's X-Request-ID if it is a short, plain token; otherwise a fresh UUID."""
    offered = request.headers.get("X-Request-ID", "")
    return offered if REQUEST_ID.fullmatch(offered) else str(uuid.uuid4())


class RequestContextMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = request_id_of(request)
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


__all__ = ["SYSTEM", "RequestContextMiddleware", "client_ip", "request_id_of"]
