"""Health check: is the database reachable, and is the task broker (when configured)?"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse


def check_database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return "ok"


def check_broker() -> str:
    """"eager" when tasks run in the calling process; else whether the broker is there to take them."""
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return "eager"
    if not settings.REDIS_URL:  # the demo's file-system broker
        folder = Path(settings.CELERY_BROKER_TRANSPORT_OPTIONS["data_folder_in"])
        if not folder.is_dir():
            raise FileNotFoundError(folder)
        return "ok (file system)"
    import redis

    redis.Redis.from_url(settings.REDIS_URL, socket_timeout=1).ping()
    return "ok"


def health(request: HttpRequest) -> JsonResponse:
    checks: dict[str, str] = {}
    healthy = True
    for name, check in (("database", check_database), ("broker", check_broker)):
        try:
            checks[name] = check()
        except Exception as exc:  # a health check reports every failure rather than raising
            checks[name] = f"error: {type(exc).__name__}"
            healthy = False
    return JsonResponse({"status": "ok" if healthy else "error", "checks": checks}, status=200 if healthy else 503)
