"""Network managers' pages: aggregates only, read from the daily snapshots.

Every page here is for network managers and administrators; every table has a CSV export
(`?format=csv`), recorded in the audit trail.
"""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRefresh

from accounts.models import Role
from accounts.roles import require_role
from slots.models import Site
from wmin.simulation.whatif import Policy
from wmin.simulation.whatif import csv_rows as whatif_csv_rows

from . import allocations, capacity, charts, dm01_return, maps, simulations, snapshots
from .disclosure import suppress_count, suppress_metrics
from .exports import csv_response, wants_csv
from .measures import formatted
from .models import Dimension, SimulationStatus
from .presenters import (
    DIMENSION_TITLES,
    HIGHER_IS_BETTER,
    TREND_METRICS,
    csv_rows,
    measures_table,
    navigation,
)
from .results import results_view
from .runs import recent_runs
from .spc import Better

MANAGERS = (Role.MANAGER, Role.ADMIN)
REFUSED_SIMULATION_KEY = "network.refused-simulation"  # the parameters a refused start was given, and why


@require_GET
@require_role(*MANAGERS)
def overview(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    snapshot = snapshots.current(now)
    network = snapshot.network
    trend = _trend_chart(Dimension.NETWORK, "all", "share_over_6_weeks", "the network")
    tables = [
        measures_table(d, snapshot.of(d).rows) for d in (Dimension.ICB, Dimension.TRUST, Dimension.MODALITY)
    ]
    context = {
        "navigation_items": navigation("overview"),
        "network": suppress_metrics(network.metrics) if network else {},
        "as_of": snapshot.as_of,
        "live": snapshot.live,
        "trend": trend,
        "tables": tables,
        "site_table_url": reverse("network:waits", args=[Dimension.SITE]),
        "site_count": Site.objects.public().count(),
        "cdc_count": Site.objects.public().cdcs().count(),
    }
    return render(request, "network/overview.jinja", context)


@require_GET
@require_role(*MANAGERS)
def waits(request: HttpRequest, dimension: str) -> HttpResponse:
    if dimension not in Dimension.values:
        raise Http404("No such breakdown")
    groups = snapshots.latest(dimension, timezone.now())
    if wants_csv(request):
        header, rows = csv_rows(groups.rows)
        return csv_response(
            f"waits-by-{dimension}-{groups.as_of}.csv", header, rows, what=f"waits by {dimension}"
        )
    context = {
        "navigation_items": navigation("overview"),
        "table": measures_table(dimension, groups.rows),
        "title": DIMENSION_TITLES[Dimension(dimension)][1],
        "as_of": groups.as_of,
        "live": groups.live,
    }
    return render(request, "network/waits.jinja", context)


@require_GET
@require_role(*MANAGERS)
def dm01(request: HttpRequest) -> HttpResponse:
    """The DM01 return for a month, per trust or per ICB: the page shows each organisation's totals,
    the CSV (`?format=csv`) the national layout, by test."""
    level = request.GET.get("level", dm01_return.TRUST)
    if level not in dm01_return.LEVELS:
        raise Http404("No such level")
    today = timezone.localdate()
    try:
        period = dm01_return.period_for(request.GET.get("month"), today)
    except dm01_return.PeriodError as error:
        context = {"navigation_items": navigation("dm01"), "error": str(error), **_dm01_choices(level, "")}
        return render(request, "network/dm01.jinja", context, status=400)
    rows = dm01_return.dm01_return(level, period)
    if wants_csv(request):
        return csv_response(
            f"dm01-return-by-{level}-{period.month}.csv",
            dm01_return.CSV_HEADER,
            dm01_return.csv_rows(level, period, rows),
            what=f"the DM01 return by {level} for {period.label}",
        )
    context = {
        "navigation_items": navigation("dm01"),
        "period": period,
        "totals": dm01_return.organisation_totals(rows),
        "downloads": [
            (name, reverse("network:dm01") + f"?level={key}&month={period.month}&format=csv")
            for key, name in dm01_return.LEVELS.items()
        ],
        **_dm01_choices(level, period.month),
    }
    return render(request, "network/dm01.jinja", context)


def _dm01_choices(level: str, month: str) -> dict[str, object]:
    return {"level": level, "month": month, "levels": list(dm01_return.LEVELS.items())}


@require_GET
@require_role(*MANAGERS)
def trends(request: HttpRequest) -> HttpResponse:
    dimension = request.GET.get("dimension", Dimension.NETWORK)
    metric = request.GET.get("metric", "share_over_6_weeks")
    if dimension not in Dimension.values or metric not in TREND_METRICS:
        raise Http404("No such trend")
    choices = snapshots.groups_with_history(dimension)
    key = request.GET.get("key") or choices[0][0]
    label = dict(choices).get(key, key)
    if wants_csv(request):
        points = snapshots.series(dimension, key, metric)
        return csv_response(
            f"trend-{dimension}-{key}-{metric}.csv",
            ["date", "dimension", "key", "label", metric],
            ([p.day.isoformat(), dimension, key, label, _shown(metric, p.value)] for p in points),
            what=f"the trend of {metric} for {label}",
        )
    context = {
        "navigation_items": navigation("trends"),
        "chart": _trend_chart(dimension, key, metric, label),
        "dimension": dimension,
        "metric": metric,
        "key": key,
        "dimensions": [(d, DIMENSION_TITLES[Dimension(d)][0]) for d in Dimension.values],
        "metrics": [(m, title) for m, (title, _) in TREND_METRICS.items()],
        "choices": choices,
        "csv_url": request.path + f"?dimension={dimension}&key={key}&metric={metric}&format=csv",
    }
    template = "network/_trend.jinja" if request.htmx else "network/trends.jinja"
    return render(request, template, context)


def _shown(metric: str, value: float | None) -> object:
    """A trend's value as exported: counts and rates over small groups suppressed like the tables."""
    if metric in ("waiting", "dm01_waiting"):
        return suppress_count(value)
    return value


def _trend_chart(dimension: str, key: str, metric: str, label: str) -> charts.SpcChartView:
    title, kind = TREND_METRICS[metric]
    points = snapshots.series(dimension, key, metric)
    better = Better.HIGHER if metric in HIGHER_IS_BETTER else Better.LOWER
    reconstructed = [p.day for p in points if p.reconstructed]
    return charts.spc_chart(
        [p.day for p in points],
        [p.value for p in points],
        title=f"{title}, {label}",
        measure=f"{title} for {label}",
        better=better,
        format_value=lambda v: formatted(v, kind) if kind != "int" else f"{v:,.0f}",
        note=f"Points up to {max(reconstructed).day} {max(reconstructed):%B %Y} were reconstructed from the "
        "waiting list's history "
        "(who was referred by then and not yet scanned or removed), not taken on the day."
        if reconstructed
        else "",
    )


@require_GET
@require_role(*MANAGERS)
def site_map(request: HttpRequest) -> HttpResponse:
    groups, map_sites = maps.map_sites(timezone.now())
    if wants_csv(request):
        header = [
            "site_code",
            "name",
            "trust",
            "kind",
            "latitude",
            "longitude",
            "position_approximate",
            "patients_booked_waiting",
            "median_wait_weeks",
        ]
        rows = (
            [
                s.code,
                s.name,
                s.trust,
                s.kind,
                s.latitude,
                s.longitude,
                s.approximate,
                s.waiting,
                s.median_wait_weeks,
            ]
            for s in map_sites
        )
        return csv_response(f"site-map-{groups.as_of}.csv", header, rows, what="the site map's figures")
    context = {
        "navigation_items": navigation("map"),
        "map": charts.site_map(map_sites),
        "sites": sorted(map_sites, key=lambda s: s.name),
        "as_of": groups.as_of,
        "live": groups.live,
        "wait_swatch": charts.wait_swatch,
    }
    return render(request, "network/map.jinja", context)


@require_GET
@require_role(*MANAGERS)
def optimiser_runs(request: HttpRequest) -> HttpResponse:
    runs = recent_runs()
    if wants_csv(request):
        header = [
            "run",
            "kind",
            "started_at",
            "patients",
            "slots",
            "solve_seconds",
            "objective",
            "status",
            "proposed",
            "accepted",
            "median_wait_weeks_nearest_site_only",
            "median_wait_weeks_network",
            "share_over_6_weeks_nearest_site_only",
            "share_over_6_weeks_network",
            "chain_moves",
        ]
        rows = (
            [
                r.pk,
                r.kind,
                r.started_at.isoformat(),
                suppress_count(r.patients),
                r.slots,
                round(r.solve_seconds, 3),
                r.objective,
                r.status,
                suppress_count(r.proposed),
                suppress_count(r.accepted),
                r.median_before_weeks,
                r.median_after_weeks,
                r.over_six_before,
                r.over_six_after,
                suppress_count(r.chain_moves),
            ]
            for r in runs
        )
        return csv_response("optimiser-runs.csv", header, rows, what="the optimiser's runs")
    return render(
        request, "network/optimiser_runs.jinja", {"navigation_items": navigation("runs"), "runs": runs}
    )


@require_POST
@require_role(*MANAGERS)
def allocation_start(request: HttpRequest) -> HttpResponse:
    """Run the network allocation now, as the nightly task does; its offers go to patients."""
    allocation = allocations.start_allocation(request.user)
    return redirect("network:allocation", pk=allocation.pk)


@require_GET
@require_role(*MANAGERS)
def allocation_detail(request: HttpRequest, pk: int) -> HttpResponse:
    context = {"navigation_items": navigation("runs"), "allocation": allocations.get_request_or_404(pk)}
    return render(request, "network/allocation.jinja", context)


@require_GET
@require_role(*MANAGERS)
def allocation_progress(request: HttpRequest, pk: int) -> HttpResponse:
    """The progress partial htmx polls; once the allocation is done it asks the browser to reload."""
    allocation = allocations.get_request_or_404(pk)
    if allocation.is_done and request.htmx:
        return HttpResponseClientRefresh()
    return render(request, "network/_allocation_progress.jinja", {"allocation": allocation})


@require_GET
@require_role(*MANAGERS)
def simulations_page(request: HttpRequest) -> HttpResponse:
    refused = request.session.pop(REFUSED_SIMULATION_KEY, None) or {}
    context = {
        "navigation_items": navigation("simulations"),
        "runs": simulations.recent_simulations(),
        "values": refused.get("values") or simulations.SimulationParams().as_dict(),
        "errors": refused.get("errors") or {},
        "sources": simulations.SOURCES,
        "policies": list(Policy),
    }
    return render(request, "network/simulations.jinja", context)


@require_http_methods(["GET", "POST"])
@require_role(*MANAGERS)
def simulation_start(request: HttpRequest) -> HttpResponse:
    """Start a run. Refused parameters go back to the simulator page by GET (post-redirect-get), with
    what was typed and why, so the address bar never keeps /start/ and a reload repeats nothing."""
    if request.method == "POST":
        try:
            params = simulations.SimulationParams.from_form(request.POST)
        except simulations.InvalidParams as invalid:
            typed = {name: request.POST.get(name, "")[:40] for name in simulations.SimulationParams().as_dict()}
            request.session[REFUSED_SIMULATION_KEY] = {"values": typed, "errors": invalid.errors}
        else:
            run = simulations.start_simulation(params, request.user)
            return redirect("network:simulation", pk=run.pk)
    return HttpResponseRedirect(reverse("network:simulations"), status=303)


@require_GET
@require_role(*MANAGERS)
def simulation_detail(request: HttpRequest, pk: int) -> HttpResponse:
    run = simulations.get_simulation_or_404(pk)
    finished = run.status == SimulationStatus.FINISHED
    context = {
        "navigation_items": navigation("simulations"),
        "run": run,
        "view": results_view(run.results) if finished else None,
        "advice": capacity.advice_view(run.results, maps.map_sites(timezone.now())[1]) if finished else None,
    }
    return render(request, "network/simulation.jinja", context)


@require_GET
@require_role(*MANAGERS)
def capacity_advice(request: HttpRequest) -> HttpResponse:
    run = capacity.latest_advice_run()
    if wants_csv(request):
        header, rows = capacity.csv_rows(run.results if run else {})
        return csv_response("capacity-advice.csv", header, rows, what="the capacity advice")
    context = {
        "navigation_items": navigation("capacity"),
        "run": run,
        "advice": capacity.advice_view(run.results, maps.map_sites(timezone.now())[1]) if run else None,
    }
    return render(request, "network/capacity.jinja", context)


@require_GET
@require_role(*MANAGERS)
def simulation_progress(request: HttpRequest, pk: int) -> HttpResponse:
    """The progress partial htmx polls; once the run is done it asks the browser to reload the page."""
    run = simulations.get_simulation_or_404(pk)
    if run.is_done and request.htmx:
        return HttpResponseClientRefresh()
    return render(request, "network/_simulation_progress.jinja", {"run": run})


@require_GET
@require_role(*MANAGERS)
def simulation_export(request: HttpRequest, pk: int) -> HttpResponse:
    run = simulations.get_simulation_or_404(pk)
    if run.status != SimulationStatus.FINISHED:
        raise Http404("This simulation has no results yet")
    header, rows = whatif_csv_rows(run.results)
    return csv_response(f"what-if-simulation-{run.pk}.csv", header, rows, what=f"what-if simulation {run.pk}")
