"""Daily wait snapshots: computed by a periodic task so the dashboards read a few rows, not the
waiting list. Taking a snapshot twice on one day replaces that day's rows and changes nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db import transaction
from django.utils import timezone

from .models import Dimension, WaitSnapshot
from .waits import NETWORK_KEY, GroupRow, compute_groups


@dataclass(frozen=True)
class Groups:
    """The rows of one dimension as of a day; `live` when computed now because no snapshot exists."""

    as_of: date
    rows: list[GroupRow]
    live: bool = False


@dataclass(frozen=True)
class SeriesPoint:
    day: date
    value: float
    reconstructed: bool = False  # back-filled from the waiting list's history, not taken that day


def take_snapshot(now: datetime) -> int:
    """Compute every group's measures and store them as today's snapshot. Returns the rows written."""
    return _store(timezone.localdate(now), compute_groups(now), taken_at=now)


def forget_all() -> None:
    """Drop every snapshot: for a demo whose synthetic demand was made again."""
    WaitSnapshot.objects.all().delete()


def backfill(now: datetime, *, days: int) -> int:
    """Snapshots for each of the last `days` days that has none, reconstructed from the waiting
    list's history (waits.compute_groups(as_of=...)), each marked `reconstructed`; so trend and SPC
    charts have points from the first day. Days already snapshotted are left as they are. Returns
    the rows written."""
    today = timezone.localdate(now)
    taken = set(WaitSnapshot.objects.filter(date__gte=today - timedelta(days=days)).dates("date", "day"))
    written = 0
    for back in range(days, 0, -1):
        day = today - timedelta(days=back)
        if day in taken:
            continue
        rows = [
            GroupRow(r.dimension, r.key, r.label, {**r.metrics, "reconstructed": True})
            for r in compute_groups(now, as_of=now - timedelta(days=back))
        ]
        written += _store(day, rows, taken_at=now)
    return written


def _store(day: date, rows: list[GroupRow], *, taken_at: datetime) -> int:
    with transaction.atomic():
        WaitSnapshot.objects.on(day).delete()
        WaitSnapshot.objects.bulk_create(
            WaitSnapshot(
                date=day, dimension=r.dimension, key=r.key, label=r.label, metrics=r.metrics, taken_at=taken_at
            )
            for r in rows
        )
    return len(rows)


@dataclass(frozen=True)
class Snapshot:
    """Every group's rows as of one day: the latest snapshot, or live figures before the first."""

    as_of: date
    rows: list[GroupRow]
    live: bool = False

    def of(self, dimension: str) -> Groups:
        return Groups(self.as_of, [row for row in self.rows if row.dimension == dimension], self.live)

    @property
    def network(self) -> GroupRow | None:
        return next((row for row in self.rows if row.dimension == Dimension.NETWORK), None)


def current(now: datetime) -> Snapshot:
    """The latest snapshot in two queries. Before the first one, the figures are worked out now
    (some 16 s at the network's size) and stored as today's snapshot, so only one page waits."""
    day = WaitSnapshot.objects.latest_date()
    if day is None:
        rows = compute_groups(now)
        _store(timezone.localdate(now), rows, taken_at=now)
        return Snapshot(timezone.localdate(now), rows, live=True)
    rows = WaitSnapshot.objects.on(day).order_by("label")
    return Snapshot(day, [GroupRow(s.dimension, s.key, s.label, s.metrics) for s in rows])


def latest(dimension: str, now: datetime) -> Groups:
    """The latest snapshot's rows of one dimension."""
    return current(now).of(dimension)


def series(dimension: str, key: str, metric: str, *, limit: int = 60) -> list[SeriesPoint]:
    """One metric of one group over the last `limit` snapshot days, oldest first; gaps are skipped."""
    snapshots = WaitSnapshot.objects.of(dimension).filter(key=key).order_by("-date")[:limit]
    points = [
        SeriesPoint(s.date, float(s.metrics[metric]), bool(s.metrics.get("reconstructed")))
        for s in snapshots
        if s.metrics.get(metric) is not None
    ]
    return points[::-1]


def groups_with_history(dimension: str) -> list[tuple[str, str]]:
    """(key, label) of every group of a dimension that has a snapshot, for choosing a trend."""
    rows = WaitSnapshot.objects.of(dimension).values_list("key", "label").distinct().order_by("label")
    seen: dict[str, str] = {}
    for key, label in rows:
        seen.setdefault(key, label)
    return sorted(seen.items(), key=lambda item: item[1]) or [(NETWORK_KEY, "West Midlands Imaging Network")]
