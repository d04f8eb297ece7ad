"""What-if simulation runs: starting one (audited, queued on commit), running it with progress,
and reading runs back. Views and the Celery task call these; the simulator itself is
wmin.simulation.whatif (no Django)."""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.http import Http404
from django.utils import timezone

from audit.models import AuditAction
from audit.trail import record
from wmin.celery import delay_or_report
from wmin.simulation.whatif import Policy, load_reference, simulate, synthetic_state
from wmin.simulation.whatif.from_database import state_from_database

from .models import SimulationRun, SimulationStatus

logger = logging.getLogger(__name__)

SOURCES = {
    "synthetic": "A synthetic network calibrated to the network's published figures",
    "database": "Today's waiting list from the database",
}


class InvalidParams(ValueError):
    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(errors.values()))
        self.errors = errors


@dataclass(frozen=True)
class SimulationParams:
    weeks: int = 12
    seed: int = 1
    scale: float = 0.05  # share of the real network's patients and slots (1.0 = full size)
    source: str = "synthetic"

    @classmethod
    def from_form(cls, data: Any) -> SimulationParams:
        """Validated parameters from a submitted form; raises InvalidParams with a message per field."""
        errors: dict[str, str] = {}
        weeks = _whole(data.get("weeks", ""), 1, 26, "weeks", "Enter a number of weeks from 1 to 26", errors)
        seed = _whole(
            data.get("seed", ""), 0, 2**31 - 1, "seed", "Enter a seed: a whole number, 0 or more", errors
        )
        try:
            scale = float(data.get("scale", ""))
            if not 0.01 <= scale <= 1.0:
                raise ValueError
        except ValueError:
            errors["scale"] = "Enter a size between 0.01 and 1 (1 is the whole network)"
            scale = 0.0
        source = data.get("source", "synthetic")
        if source not in SOURCES:
            errors["source"] = "Choose where the simulation starts from"
        if errors:
            raise InvalidParams(errors)
        return cls(weeks=weeks, seed=seed, scale=scale, source=source)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SimulationParams:
        return cls(**{k: data[k] for k in ("weeks", "seed", "scale", "source") if k in data})

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _whole(value: str, low: int, high: int, field: str, message: str, errors: dict[str, str]) -> int:
    try:
        number = int(str(value).strip())
        if low <= number <= high:
            return number
    except ValueError:
        pass
    errors[field] = message
    return low


def start_simulation(params: SimulationParams, user: Any) -> SimulationRun:
    """Record the run, audit it, and queue the work once the transaction commits."""
    from .tasks import run_what_if_simulation

    run = SimulationRun.objects.create(
        params=params.as_dict(), created_by=user if user.is_authenticated else None
    )
    record(
        AuditAction.RUN,
        run,
        summary=f"Started what-if simulation {run.pk}: {params.weeks} weeks, seed {params.seed}",
        detail=params.as_dict(),
    )
    def queue() -> None:
        if not delay_or_report(run_what_if_simulation, run.pk):
            SimulationRun.objects.filter(pk=run.pk, status=SimulationStatus.QUEUED).update(
                status=SimulationStatus.FAILED,
                error="The task queue was not available, so this simulation did not start. Start it again.",
            )

    transaction.on_commit(queue)
    return run


def run_simulation(run_id: int) -> bool:
    """Run a queued simulation. Claims it first, so a task delivered twice runs it once."""
    claimed = SimulationRun.objects.filter(pk=run_id, status=SimulationStatus.QUEUED).update(
        status=SimulationStatus.RUNNING, started_at=timezone.now(), progress=0
    )
    if not claimed:
        return False
    run = SimulationRun.objects.get(pk=run_id)
    params = SimulationParams.from_dict(run.params)
    reported = {"percent": 0}

    def progress(fraction: float) -> None:
        percent = min(int(fraction * 100), 99)
        if percent > reported["percent"]:
            reported["percent"] = percent
            SimulationRun.objects.filter(pk=run_id).update(progress=percent)

    try:
        outcome = simulate(
            _starting_state(params, timezone.now()),
            weeks=params.weeks,
            seed=params.seed,
            policies=tuple(Policy),
            progress=progress,
        )
    except Exception as exc:  # record any failure on the run for the manager to see, then log it
        logger.exception("What-if simulation %s failed", run_id)
        SimulationRun.objects.filter(pk=run_id).update(
            status=SimulationStatus.FAILED,
            error=f"{type(exc).__name__}: {exc}"[:2000],
            finished_at=timezone.now(),
        )
        return False
    SimulationRun.objects.filter(pk=run_id).update(
        status=SimulationStatus.FINISHED, progress=100, results=outcome.as_dict(), finished_at=timezone.now()
    )
    return True


def _starting_state(params: SimulationParams, now: datetime):  # -> NetworkState
    if params.source == "database":
        return state_from_database(now, seed=params.seed)
    reference = load_reference(Path(settings.FIXTURES_DIR))
    return synthetic_state(reference, seed=params.seed, start=timezone.localdate(now), scale=params.scale)


def forget_all() -> None:
    """Drop every what-if run: for a demo whose synthetic demand was made again."""
    SimulationRun.objects.all().delete()


def recent_simulations(limit: int = 20) -> list[SimulationRun]:
    return list(SimulationRun.objects.select_related("created_by").order_by("-created_at", "-pk")[:limit])


def get_simulation_or_404(pk: int) -> SimulationRun:
    run = SimulationRun.objects.filter(pk=pk).first()
    if run is None:
        raise Http404("No such simulation")
    return run
