import numpy as np
import pytest

from booking.optimiser.travel import (
    ROAD_DETOUR_FACTOR,
    TravelMode,
    estimate,
    estimate_many,
    great_circle_km,
)

QUEEN_ELIZABETH = (52.450146, -1.941776)
UNIVERSITY_HOSPITAL_COVENTRY = (52.421211, -1.438403)


def test_great_circle_matches_a_known_distance():
    # QEHB to UHCW is about 34 km as the crow flies.
    assert great_circle_km(*QUEEN_ELIZABETH, *UNIVERSITY_HOSPITAL_COVENTRY) == pytest.approx(34.3, abs=0.5)


def test_great_circle_is_zero_to_itself_and_symmetric():
    assert great_circle_km(*QUEEN_ELIZABETH, *QUEEN_ELIZABETH) == 0.0
    there = great_circle_km(*QUEEN_ELIZABETH, *UNIVERSITY_HOSPITAL_COVENTRY)
    back = great_circle_km(*UNIVERSITY_HOSPITAL_COVENTRY, *QUEEN_ELIZABETH)
    assert there == pytest.approx(back)


def test_vectorised_distance_equals_the_scalar_one():
    rng = np.random.default_rng(1)
    lats, lons = rng.uniform(52, 53, 50), rng.uniform(-3, -1.4, 50)
    many = great_circle_km(QUEEN_ELIZABETH[0], QUEEN_ELIZABETH[1], lats, lons)
    one_by_one = [great_circle_km(*QUEEN_ELIZABETH, lat, lon) for lat, lon in zip(lats, lons, strict=True)]
    np.testing.assert_allclose(many, one_by_one)


def test_road_distance_is_the_detour_factor_times_the_crow_flies():
    trip = estimate(QUEEN_ELIZABETH, UNIVERSITY_HOSPITAL_COVENTRY, TravelMode.CAR)
    crow = great_circle_km(*QUEEN_ELIZABETH, *UNIVERSITY_HOSPITAL_COVENTRY)
    assert trip.km == pytest.approx(crow * ROAD_DETOUR_FACTOR)


def test_modes_rank_by_speed_for_a_cross_city_trip():
    minutes = {
        mode: estimate(QUEEN_ELIZABETH, UNIVERSITY_HOSPITAL_COVENTRY, mode).minutes for mode in TravelMode
    }
    assert minutes[TravelMode.CAR] < minutes[TravelMode.PUBLIC_TRANSPORT] < minutes[TravelMode.WALKING]
    assert minutes[TravelMode.HOSPITAL_TRANSPORT] == pytest.approx(minutes[TravelMode.CAR] + 30)


def test_array_estimate_matches_single_estimates():
    lats, lons = np.array([52.4, 52.6]), np.array([-1.9, -2.1])
    many = estimate_many(QUEEN_ELIZABETH, lats, lons, TravelMode.PUBLIC_TRANSPORT)
    for i in range(2):
        one = estimate(QUEEN_ELIZABETH, (lats[i], lons[i]), TravelMode.PUBLIC_TRANSPORT)
        assert many.km[i] == pytest.approx(one.km)
        assert many.minutes[i] == pytest.approx(one.minutes)


def test_travel_mode_values_are_the_stored_strings():
    assert [m.value for m in TravelMode] == ["car", "public_transport", "walking", "hospital_transport"]
