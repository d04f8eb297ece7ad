"""The error pages people see: NHS style, saying what to do next and nothing about the system.

Django's own debug pages list every URL and setting, so the demo runs with DEBUG off like
production (`run_demo` sets DJANGO_DEBUG=false) and these handlers answer instead.
"""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "errors/403.jinja", status=403)


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "errors/404.jinja", status=404)


def server_error(request: HttpRequest) -> HttpResponse:
    """Rendered without the signed-in user or the database: either may be what failed."""
    return render(request, "errors/500.jinja", status=500)
