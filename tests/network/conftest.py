from __future__ import annotations

import pytest

from tests.network.whatif_states import two_trusts
from wmin.network.models import SimulationRun, SimulationStatus
from wmin.simulation.whatif import simulate


@pytest.fixture
def finished_simulation(db) -> SimulationRun:
    results = simulate(two_trusts(), weeks=2, seed=1).as_dict()
    return SimulationRun.objects.create(
        status=SimulationStatus.FINISHED,
        progress=100,
        params={"weeks": 2, "seed": 1, "scale": 0.05, "source": "synthetic"},
        results=results,
    )


@pytest.fixture
def running_simulation(db) -> SimulationRun:
    return SimulationRun.objects.create(
        status=SimulationStatus.RUNNING,
        progress=40,
        params={"weeks": 12, "seed": 1, "scale": 0.05, "source": "synthetic"},
    )
