"""The managers' capacity advice page: the latest simulation's advice, its tables, the sites on the map."""

from __future__ import annotations

import csv
import io

import pytest
from django.urls import reverse

from tests.conftest import FROZEN_NOW
from tests.factories import ModalityFactory, SiteFactory
from tests.network.test_capacity_advice import ADVICE_ASSUMPTIONS
from tests.network.whatif_states import three_sites_for_advice
from wmin.network.models import SimulationRun, SimulationStatus
from wmin.simulation.whatif import simulate

pytestmark = pytest.mark.django_db


@pytest.fixture
def advised_run(frozen_clock) -> SimulationRun:
    """A finished two-week run on the hand-counted network: three lists a week at South."""
    ModalityFactory(code="MR", name="Magnetic resonance imaging (MRI)")
    SiteFactory(code="S0", name="South Hospital", latitude=52.0, longitude=-2.0)
    SiteFactory(code="S1", name="North Hospital", latitude=52.0, longitude=-1.5)
    results = simulate(three_sites_for_advice(), weeks=2, seed=1, assumptions=ADVICE_ASSUMPTIONS).as_dict()
    return SimulationRun.objects.create(
        status=SimulationStatus.FINISHED,
        progress=100,
        params={"weeks": 2, "seed": 1, "scale": 1.0, "source": "synthetic"},
        results=results,
        finished_at=FROZEN_NOW,
    )


def test_the_page_shows_the_fewest_lists_ranked_sites_and_rings_them_on_the_map(manager_client, advised_run):
    body = manager_client.get(reverse("network:capacity")).content.decode()
    assert f"what-if simulation {advised_run.pk}" in body
    assert "3 extra lists a week brings that below 1.0%" in body
    assert body.count("<td class=\"nhsuk-table__cell\">South Hospital") == 4  # three in the plan, one ranked
    for day in ("Thursday", "Friday", "Saturday"):
        assert day in body
    assert "this plan is the fewest" in body
    assert 'class="network-map__mark"' in body and "+3 MR" in body
    assert "extra lists advised: 3 Magnetic resonance imaging (MRI)" in body  # the ringed site's tooltip
    assert "South Hospital (MRI)" not in body  # saturated pairs are named by the modality's name
    assert "Saturated site-modalities (1)" in body


def test_the_advice_downloads_as_csv_plan_then_ranking(manager_client, advised_run):
    response = manager_client.get(reverse("network:capacity") + "?format=csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [(r["part"], r["site"], r["weekday_name"], r["patients"]) for r in rows] == [
        ("plan", "S0", "Thursday", "6"),
        ("plan", "S0", "Friday", "6"),
        ("plan", "S0", "Saturday", "4"),
        ("ranking", "S0", "Thursday", "6"),
    ]


def test_without_a_finished_simulation_the_page_says_so(manager_client, frozen_clock, running_simulation):
    body = manager_client.get(reverse("network:capacity")).content.decode()
    assert "No what-if simulation has finished yet" in body
    assert reverse("network:simulations") in body


def test_the_newest_finished_run_with_advice_is_the_one_shown(manager_client, advised_run, finished_simulation):
    SimulationRun.objects.filter(pk=finished_simulation.pk).update(finished_at=advised_run.finished_at)
    body = manager_client.get(reverse("network:capacity")).content.decode()
    assert f"what-if simulation {max(advised_run.pk, finished_simulation.pk)}" in body
