"""/metrics: the MLLP listener's figures for Prometheus, for staff or a scraper holding METRICS_TOKEN."""

from __future__ import annotations

import hmac

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from . import metrics as listener_metrics

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


@never_cache
@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    if not (_holds_the_token(request) or (request.user.is_authenticated and request.user.is_staff)):
        if request.user.is_authenticated:
            return HttpResponse("Staff only.\n", status=403, content_type="text/plain; charset=utf-8")
        response = HttpResponse(
            "Sign in as staff, or send Authorization: Bearer <METRICS_TOKEN>.\n",
            status=401, content_type="text/plain; charset=utf-8",
        )
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    body = listener_metrics.exposition(interval=float(settings.MLLP_METRICS_SECONDS))
    return HttpResponse(body, content_type=CONTENT_TYPE)


def _holds_the_token(request: HttpRequest) -> bool:
    token = settings.METRICS_TOKEN
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    return bool(token) and scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())
