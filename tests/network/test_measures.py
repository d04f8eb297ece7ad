"""The dashboard's sums on a small network whose answers are known."""

import datetime as dt

import numpy as np
import pytest

from booking.optimiser.travel import great_circle_km, road_km
from slots.geography import centroids
from tests.conftest import FROZEN_NOW
from tests.network.factories import WAITS_DAYS, small_network
from wmin.network.measures import median_weeks, percentile_weeks
from wmin.network.waits import compute_groups

pytestmark = pytest.mark.django_db


@pytest.fixture
def groups(frozen_clock):
    network = small_network(FROZEN_NOW)
    rows = {(row.dimension, row.key): row.metrics for row in compute_groups(FROZEN_NOW)}
    return network, rows


def test_median_and_92nd_percentile_interpolate_between_ranks():
    assert median_weeks([7, 14, 21, 28]) == 2.5
    # ranks 0..9: the 92nd percentile is 8.28 of the way: 91 + 0.28 * (100 - 91) days
    assert percentile_weeks(WAITS_DAYS) == round((91 + 0.28 * 9) / 7, 2)
    assert median_weeks([]) is None


def test_trust_waits_dm01_shares_and_percentiles(groups):
    _, rows = groups
    alpha = rows[("trust", "TA1")]
    waits = [*WAITS_DAYS, 14]  # the patient moved to Beta still counts for the referring trust
    assert alpha["waiting"] == len(waits)  # scanned and removed referrals are not waiting
    assert alpha["median_wait_weeks"] == round(float(np.median(waits)) / 7, 2)
    assert alpha["p92_wait_weeks"] == round(float(np.percentile(waits, 92)) / 7, 2)
    assert alpha["over_6_weeks"] == 5  # 42 days counts: DM01 is "6 weeks or more"
    assert alpha["share_over_6_weeks"] == round(5 / 11, 4)
    assert alpha["over_13_weeks"] == 2
    assert alpha["share_over_13_weeks"] == round(2 / 11, 4)
    assert rows[("icb", "QA1")]["waiting"] == 11
    assert rows[("network", "all")]["waiting"] == 11
    assert rows[("modality", "MR")]["over_6_weeks"] == 5


def test_site_waits_count_patients_booked_there(groups):
    _, rows = groups
    assert rows[("site", "SA1")]["waiting"] == 1
    assert rows[("site", "SA1")]["median_wait_weeks"] == round(5 / 7, 2)
    assert rows[("site", "SB1")]["waiting"] == 1


def test_booked_versus_released_slots_in_the_window(groups):
    _, rows = groups
    alpha = rows[("site", "SA1")]
    # In the window: 3 ahead not blocked (1 booked), and 4 past slots (3 booked, 1 open after a cancellation).
    assert alpha["released_slots"] == 7
    assert alpha["booked_slots"] == 4
    assert alpha["booked_share"] == round(4 / 7, 4)


def test_refill_and_dna_rates(groups):
    _, rows = groups
    alpha = rows[("trust", "TA1")]
    assert (alpha["cancelled_slots"], alpha["refilled_slots"], alpha["refill_rate"]) == (2, 1, 0.5)
    assert (alpha["attended"], alpha["did_not_attend"]) == (2, 1)
    assert alpha["dna_rate"] == round(1 / 3, 4)


def test_patients_moved_to_another_trust_and_their_added_travel(groups):
    network, rows = groups
    lat, lon = centroids()["B15"]
    to_beta = road_km(great_circle_km(lat, lon, network.site_b.latitude, network.site_b.longitude))
    to_alpha = road_km(great_circle_km(lat, lon, network.site_a.latitude, network.site_a.longitude))
    alpha = rows[("trust", "TA1")]
    assert alpha["moved_cross_site"] == 1
    assert alpha["mean_added_travel_km"] == round(to_beta - to_alpha, 1)
    assert rows[("site", "SB1")]["moved_cross_site"] == 1
    assert rows[("trust", "TB1")]["moved_cross_site"] == 0


def test_every_site_trust_and_icb_has_a_row_even_without_patients(groups):
    _, rows = groups
    assert rows[("trust", "TB1")]["waiting"] == 0
    assert rows[("trust", "TB1")]["median_wait_weeks"] is None


def test_window_excludes_old_slots(frozen_clock):
    network = small_network(FROZEN_NOW)
    later = FROZEN_NOW + dt.timedelta(days=45)
    rows = {(r.dimension, r.key): r.metrics for r in compute_groups(later)}
    # 45 days on the window runs from day 17 to day 87: only the slot 60 days ahead is in it.
    assert rows[("site", network.site_a.code)]["released_slots"] == 1
