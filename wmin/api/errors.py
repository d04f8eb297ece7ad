from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt


@csrf_exempt
def no_such_endpoint(request: HttpRequest, *args: object, **kwargs: object) -> JsonResponse:
    """Anything under /api/ that matches no endpoint: a JSON 404, never the HTML page."""
    return JsonResponse({"detail": "No such API endpoint. See /api/docs/."}, status=404)
