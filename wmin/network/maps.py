"""The network's sites as the map draws them: position, kind and the latest snapshot's waits."""

from __future__ import annotations

from datetime import datetime

from slots.models import Site

from . import charts, snapshots
from .models import Dimension
from .snapshots import Groups


def map_sites(now: datetime) -> tuple[Groups, list[charts.MapSite]]:
    """Every public site with its waits from the latest site snapshot, by name (two queries)."""
    groups = snapshots.latest(Dimension.SITE, now)
    by_code = {row.key: row.metrics for row in groups.rows}
    sites = [
        charts.MapSite(
            code=site.code,
            name=site.name,
            trust=site.trust.short_name,
            kind=site.kind,
            latitude=site.latitude,
            longitude=site.longitude,
            median_wait_weeks=by_code.get(site.code, {}).get("median_wait_weeks"),
            waiting=by_code.get(site.code, {}).get("waiting") or 0,
            approximate=site.is_approximate,
        )
        for site in Site.objects.public().select_related("trust").order_by("name")
    ]
    return groups, sites
