"""The managers' dashboards ready on first open: a wait snapshot for today, a few weeks of
reconstructed history before it (so trend and SPC charts have points), and a what-if simulation
from the demo's own waiting list (so the capacity advice has something to say).

Each step is skipped when already done, so `make demo` can run it every time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone

from wmin.network import simulations, snapshots
from wmin.network.capacity import latest_advice_run
from wmin.network.models import SimulationRun, WaitSnapshot

HISTORY_DAYS = 28


@dataclass(frozen=True)
class DashboardsReady:
    snapshot_rows: int  # written now, history included
    simulation: SimulationRun | None  # run now; None when one was already there


def prepare_dashboards(
    now: datetime, *, history_days: int = HISTORY_DAYS, weeks: int = 12, fresh: bool = False
) -> DashboardsReady:
    """`fresh`: the demand was just made again, so earlier snapshots and runs describe another list."""
    if fresh:
        snapshots.forget_all()
        simulations.forget_all()
    rows = snapshots.backfill(now, days=history_days)
    if not WaitSnapshot.objects.on(timezone.localdate(now)).exists():
        rows += snapshots.take_snapshot(now)
    run = None
    if latest_advice_run() is None:
        params = simulations.SimulationParams(weeks=weeks, seed=1, source="database")
        run = SimulationRun.objects.create(params=params.as_dict())
        simulations.run_simulation(run.pk)
        run.refresh_from_db()
    return DashboardsReady(rows, run)
