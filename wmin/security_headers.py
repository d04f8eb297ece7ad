"""Headers every dynamic response carries, beside Django's and django-csp's.

- `Cache-Control: no-store`: pages and API answers may hold patient data, and a shared computer's
  browser cache or a proxy must keep none of it. Static files (served by WhiteNoise before this
  middleware) keep their long cache lifetimes.
- `Permissions-Policy`: the hub uses no camera, microphone, location, payment or other powerful
  feature, so no page (or anything injected into one) may ask for them.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils.cache import add_never_cache_headers

PERMISSIONS_POLICY = ", ".join(
    f"{feature}=()"
    for feature in (
        "accelerometer",
        "camera",
        "display-capture",
        "geolocation",
        "gyroscope",
        "magnetometer",
        "microphone",
        "payment",
        "publickey-credentials-get",
        "usb",
    )
)


class SecurityHeadersMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        add_never_cache_headers(response)  # no-cache, no-store, must-revalidate, private
        response.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        return response
