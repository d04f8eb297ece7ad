"""The optimiser's runs as managers see them: size, timing, what each proposed and how many accepted."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Q

from booking.models import OfferStatus, OptimiserRun


@dataclass(frozen=True)
class RunRow:
    pk: int
    kind: str
    started_at: datetime
    patients: int
    slots: int
    solve_seconds: float
    objective: float | None
    status: str
    proposed: int
    accepted: int
    median_before_weeks: float | None
    median_after_weeks: float | None
    over_six_before: float | None
    over_six_after: float | None
    chain_moves: int = 0
    chain_days_gained: float | None = None

    @property
    def acceptance(self) -> float | None:
        return self.accepted / self.proposed if self.proposed else None


def _weeks(waits: dict, *keys: str) -> float | None:
    for key in keys:
        if waits.get(key) is not None:
            value = float(waits[key])
            return value / 7 if key.endswith("_days") else value
    return None


def _share(waits: dict) -> float | None:
    for key in ("share_over_6_weeks", "share_over_six_weeks", "over_6_weeks_share"):
        if waits.get(key) is not None:
            return float(waits[key])
    return None


def recent_runs(limit: int = 100) -> list[RunRow]:
    runs = OptimiserRun.objects.annotate(
        accepted_offers=Count("offers", filter=Q(offers__status=OfferStatus.ACCEPTED))
    ).order_by("-started_at")[:limit]
    return [
        RunRow(
            pk=run.pk,
            kind=run.get_kind_display(),
            started_at=run.started_at,
            patients=run.patients,
            slots=run.slots,
            solve_seconds=run.solve_seconds,
            objective=run.objective,
            status=run.status,
            proposed=run.proposed,
            accepted=run.accepted_offers,
            median_before_weeks=_weeks(run.waits_before, "median_days", "median_weeks"),
            median_after_weeks=_weeks(run.waits_after, "median_days", "median_weeks"),
            over_six_before=_share(run.waits_before),
            over_six_after=_share(run.waits_after),
            **_chain(run.detail),
        )
        for run in runs
    ]


def _chain(detail: dict) -> dict[str, object]:
    """A backfill run's proposed chain of moves, as counts only (no patient on a manager's page)."""
    chain = (detail or {}).get("chain") or {}
    return {"chain_moves": len(chain.get("moves", [])), "chain_days_gained": chain.get("weighted_days_gained")}
