"""The home page: one per role, each showing what that person came to do."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET

from accounts.models import Role
from slots.models import Site


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    user = request.user
    if not user.is_authenticated:
        return render(request, "home/anonymous.jinja", {"site_count": Site.objects.public().count()})
    destinations = {
        Role.PATIENT: "booking:patient-home",
        Role.CLERK: "booking:clerk-home",
        Role.MANAGER: "network:overview",
        Role.INTEGRATION: "slots:sites",
    }
    if user.is_superuser or user.role == Role.ADMIN:
        return redirect("admin:index")
    return redirect(destinations[Role(user.role)])


@require_GET
def accessibility(request: HttpRequest) -> HttpResponse:
    return render(request, "accessibility.jinja")
