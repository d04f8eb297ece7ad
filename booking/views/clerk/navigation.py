"""The clerk's pages share one navigation and one way to answer htmx and plain requests alike."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django_htmx.http import HttpResponseClientRedirect

SECTIONS = (
    ("worklist", "Worklist", "booking:clerk-home"),
    ("waiting-list", "Waiting list", "booking:clerk-waiting-list"),
    ("find", "Find a patient", "booking:clerk-find-patient"),
)


def navigation(current: str) -> list[dict[str, Any]]:
    return [
        {"href": reverse(name), "text": text, "current": key == current} for key, text, name in SECTIONS
    ]


def page(request: HttpRequest, template: str, context: dict[str, Any], *, section: str, status: int = 200) -> HttpResponse:
    return render(request, template, {**context, "navigation_items": navigation(section)}, status=status)


def page_or_partial(
    request: HttpRequest, full: str, partial: str, context: dict[str, Any], *, section: str, status: int = 200
) -> HttpResponse:
    """The whole page, or only its partial when htmx asked for it."""
    if request.htmx:
        return render(request, partial, context, status=status)
    return render(request, full, {**context, "navigation_items": navigation(section)}, status=status)


def go_to(request: HttpRequest, url: str) -> HttpResponse:
    """After a change: a plain redirect, or htmx's client redirect so the whole page reloads."""
    if request.htmx:
        return HttpResponseClientRedirect(url)
    return redirect(url)
