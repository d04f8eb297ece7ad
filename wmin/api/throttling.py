"""Rate limits: one budget per user (or integration system token), one per anonymous address."""

from __future__ import annotations

from rest_framework.request import Request
from rest_framework.throttling import AnonRateThrottle, SimpleRateThrottle

from audit.middleware import client_ip

from . import settings as api_settings


class PerUserThrottle(SimpleRateThrottle):
    """Counts requests per authenticated user; anonymous callers are left to `PerAddressThrottle`."""

    scope = "api-user"

    def get_rate(self) -> str | None:
        return api_settings.THROTTLE_RATES.get(self.scope)

    def get_cache_key(self, request: Request, view: object) -> str | None:
        if not (request.user and request.user.is_authenticated):
            return None
        return self.cache_format % {"scope": self.scope, "ident": request.user.pk}


class PerAddressThrottle(AnonRateThrottle):
    scope = "api-anon"

    def get_rate(self) -> str | None:
        return api_settings.THROTTLE_RATES.get(self.scope)

    def get_ident(self, request: Request) -> str:
        """The connecting address, as the audit trail records it. DRF's default would trust a client's
        own X-Forwarded-For (NUM_PROXIES unset), so anyone could dodge the limit by inventing one."""
        return client_ip(request._request) or "unknown"


THROTTLES = [PerUserThrottle, PerAddressThrottle]
