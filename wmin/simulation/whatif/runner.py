"""Run the simulator: every policy over the same patients, one after another."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from .advice import capacity_advice
from .assumptions import Assumptions
from .bound import BoundProblem
from .engine import PolicyRun, build_geometry
from .policies import Policy
from .population import draw_population
from .results import SimulationOutcome
from .state import NetworkState


def simulate(
    state: NetworkState,
    *,
    weeks: int,
    seed: int,
    policies: Sequence[Policy] = tuple(Policy),
    assumptions: Assumptions | None = None,
    progress: Callable[[float], None] | None = None,
) -> SimulationOutcome:
    """Simulate `weeks` weeks under each policy from `state`; the same seed gives the same result."""
    if weeks < 1:
        raise ValueError("simulate at least one week")
    assumptions = assumptions or Assumptions()
    days = weeks * 7
    population = draw_population(state, days=days, seed=seed, assumptions=assumptions)
    geometry = build_geometry(state, assumptions, days)
    bound = BoundProblem(state, population, geometry, assumptions, days)
    outcome = SimulationOutcome(
        label=state.label,
        seed=seed,
        weeks=weeks,
        start=state.start.isoformat(),
        icbs=dict(zip(state.icbs, state.icb_names, strict=True)),
        calibration=dict(state.calibration),
        assumptions=assumptions.as_dict(),
        bound=bound.census_bound(),
        advice=capacity_advice(bound, state, assumptions),
    )
    for i, policy in enumerate(policies):

        def report(fraction: float, i: int = i) -> None:
            if progress is not None:
                progress((i + fraction) / len(policies))

        run = PolicyRun(
            policy, state, population, geometry, assumptions, weeks=weeks, seed=seed, progress=report
        )
        outcome.policies.append(run.run())
    return outcome
