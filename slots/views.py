"""The network's site directory: public, filterable, updated in place with htmx."""

from __future__ import annotations

from django.db.models import Count, Prefetch
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from .models import ICB, Modality, Scanner, Site


def _directory(request: HttpRequest):
    sites = (
        Site.objects.select_related("trust", "icb")
        .prefetch_related(Prefetch("scanners", queryset=Scanner.objects.select_related("modality")))
        .order_by("icb__name", "name")
    )
    icb = request.GET.get("icb", "")
    kind = request.GET.get("kind", "")
    modality = request.GET.get("modality", "")
    if icb:
        sites = sites.filter(icb__code=icb)
    if kind in {"hospital", "cdc"}:
        sites = sites.filter(kind=kind)
    if modality:
        sites = sites.offering(modality)
    return sites, {"icb": icb, "kind": kind, "modality": modality}


@require_GET
def site_list(request: HttpRequest) -> HttpResponse:
    sites, filters = _directory(request)
    context = {
        "sites": list(sites),
        "filters": filters,
        "icbs": ICB.objects.all(),
        "modalities": Modality.objects.all(),
        "totals": Site.objects.aggregate(all=Count("pk")),
    }
    template = "slots/_site_table.jinja" if request.htmx else "slots/site_list.jinja"
    return render(request, template, context)


@require_GET
def site_detail(request: HttpRequest, code: str) -> HttpResponse:
    site = get_object_or_404(Site.objects.select_related("trust", "icb"), code=code)
    scanners = site.scanners.select_related("modality")
    return render(request, "slots/site_detail.jinja", {"site": site, "scanners": scanners})
