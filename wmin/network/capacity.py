"""Capacity advice as managers see it: where one more list a week brings the most patients under
6 weeks by the wait since referral, and the fewest extra lists a week that bring the capacity
bound below 1 %, from the latest finished what-if simulation (wmin/simulation/whatif/advice.py),
with the sites on the map. Read from the stored results: one query, then the map's two.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from slots.models import Modality

from . import charts
from .measures import formatted
from .models import SimulationRun, SimulationStatus

RANKED_SHOWN = 10


@dataclass(frozen=True)
class CapacityAdviceView:
    headline: str
    plan_header: list[str]
    plan_rows: list[list[str]]
    ranking_header: list[str]
    ranking_rows: list[list[str]]
    ranking_more: int  # ranked site-modalities not shown
    fewest_text: str
    dm01_text: str
    saturated: list[str]
    method: str
    map: charts.SiteMapView


def latest_advice_run() -> SimulationRun | None:
    """The newest finished simulation that carries capacity advice."""
    return (
        SimulationRun.objects.filter(status=SimulationStatus.FINISHED, results__has_key="advice")
        .order_by("-finished_at", "-pk")
        .first()
    )


def _pct(value: float | None) -> str:
    return formatted(value, "percent")


def advice_view(results: dict[str, Any], sites: list[charts.MapSite]) -> CapacityAdviceView | None:
    """The advice of one simulation's results (None for runs from before advice existed)."""
    advice = results.get("advice")
    if not advice:
        return None
    names = dict(Modality.objects.values_list("code", "name"))
    known = {site.code: site for site in sites}

    def where(extra: dict[str, Any]) -> str:
        site = known.get(extra["site"])
        return f"{extra['site_name']} ({site.trust})" if site else extra["site_name"]

    def row(extra: dict[str, Any], number: int) -> list[str]:
        return [
            str(number),
            where(extra),
            names.get(extra["modality"], extra["modality"]),
            extra["weekday_name"],
            f"{extra['slots']:,}",
            f"{extra['lists_by_census']:,}",
            f"{extra['patients']:,}",
        ]

    plan, ranking = advice["plan"], advice["ranking"]
    marks: dict[str, list[str]] = defaultdict(list)
    for extra in plan or ranking[:RANKED_SHOWN]:
        marks[extra["site"]].append(extra["modality"])
    legend = (
        "Ringed: extra lists advised there (how many, of which modality)"
        if plan
        else "Ringed: where one more list would help most (its modality)"
    )
    site_map = charts.site_map(
        sites,
        marks={
            code: (
                ("+" if plan else "")
                + ", ".join(f"{n} {m}" if n > 1 else m for m, n in _counted(modalities).items()),
                ("extra lists advised: " if plan else "one more list would help: ")
                + ", ".join(f"{n} {names.get(m, m)}" for m, n in _counted(modalities).items()),
            )
            for code, modalities in marks.items()
        },
        marks_legend=legend,
    )
    target = _pct(advice["target_share"])
    if advice["shortfall_now"] == 0:
        headline = (
            "At today's capacity the bound leaves nobody waiting 6 weeks or more since referral: "
            "no site-modality is saturated, so no extra list is needed by it."
        )
    elif not plan:
        headline = (
            f"At today's capacity at least {advice['shortfall_now']:,} patients ({_pct(advice['share_now'])}) would "
            f"still be waiting 6 weeks or more since referral under any policy: already below {target}, so no extra "
            "list is needed to bring the bound below it. Where one more list would still help most is ranked below."
        )
    else:
        verdict = "brings" if advice["reached"] else "would still not bring"
        headline = (
            f"At today's capacity at least {advice['shortfall_now']:,} patients ({_pct(advice['share_now'])}) would "
            f"still be waiting 6 weeks or more since referral under any policy. {len(plan)} extra "
            f"list{'s' if len(plan) != 1 else ''} a week {verdict} that below {target} "
            f"({advice['shortfall_after']:,} patients, {_pct(advice['share_after'])})."
        )
    fewest = advice["fewest_possible"]
    fewest_text = (
        f"No plan with fewer than {fewest} extra list{'s' if fewest != 1 else ''} a week could reach {target}"
        + (": this plan is the fewest." if plan and fewest == len(plan) else ".")
    )
    return CapacityAdviceView(
        headline=headline,
        plan_header=["Order", "Site", "Modality", "Day", "Slots a list", "Lists by the census", "More patients under 6 weeks"],
        plan_rows=[row(extra, number) for number, extra in enumerate(plan, start=1)],
        ranking_header=["Rank", "Site", "Modality", "Day", "Slots a list", "Lists by the census", "Patients under 6 weeks"],
        ranking_rows=[row(extra, number) for number, extra in enumerate(ranking[:RANKED_SHOWN], start=1)],
        ranking_more=max(len(ranking) - RANKED_SHOWN, 0),
        fewest_text=fewest_text,
        dm01_text=(
            ("With these lists" if plan else "At today's capacity")
            + f", the bound by the DM01 clock is "
            f"{advice['dm01_shortfall_after']:,} patients ({_pct(advice['dm01_share_after'])} of those waiting for "
            "a DM01 test)."
        ),
        saturated=[
            f"{known[code].name if code in known else code} ({names.get(modality, modality)})"
            for code, modality in (results.get("bound") or {}).get("referral", {}).get("saturated", [])
        ],
        method=advice["method"],
        map=site_map,
    )


def _counted(items: list[str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for item in items:
        counts[item] = counts.get(item, 0) + 1
    return counts


CSV_COLUMNS = ["site", "site_name", "trust", "modality", "weekday_name", "slots", "lists_by_census", "patients"]


def csv_rows(results: dict[str, Any]) -> tuple[list[str], list[list[object]]]:
    """The plan (in order) then the ranking, one extra list a row."""
    advice = results.get("advice") or {"plan": [], "ranking": []}
    rows = [
        [part, number, *(extra[column] for column in CSV_COLUMNS)]
        for part in ("plan", "ranking")
        for number, extra in enumerate(advice[part], start=1)
    ]
    return ["part", "order", *CSV_COLUMNS], rows
