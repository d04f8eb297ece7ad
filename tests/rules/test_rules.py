"""The network's rules, in one place: every path that proposes a slot reads these."""

from __future__ import annotations

import pytest

from booking.rules.distance import great_circle_km, great_circle_limit, road_km, road_km_between
from booking.rules.notice import minimum_notice_days, minimum_notice_hours
from booking.rules.priority import PRIORITY_WEIGHT, priority_weight
from booking.rules.waits import over_six_weeks, over_thirteen_weeks


@pytest.mark.parametrize(
    ("travel_mode", "lead_days", "opted_in", "hours"),
    [
        ("car", 0, False, 24.0),
        ("car", 0, True, 4.0),
        ("public_transport", 0, True, 4.0),
        ("hospital_transport", 0, False, 48.0),
        ("hospital_transport", 0, True, 48.0),  # transport has to be arranged, opted in or not
        ("car", 3, True, 72.0),  # preparation wins when it needs longer
        ("hospital_transport", 1, False, 48.0),
    ],
)
def test_minimum_notice_takes_the_longest_of_mode_opt_in_and_preparation(travel_mode, lead_days, opted_in, hours):
    assert minimum_notice_hours(travel_mode=travel_mode, preparation_lead_days=lead_days, short_notice_opt_in=opted_in) == hours


def test_minimum_notice_in_days_rounds_up_for_plans_made_in_days():
    assert minimum_notice_days(travel_mode="car", preparation_lead_days=0) == 1
    assert minimum_notice_days(travel_mode="hospital_transport", preparation_lead_days=0) == 2
    assert minimum_notice_days(travel_mode="car", preparation_lead_days=5) == 5


def test_six_and_thirteen_weeks_count_the_day_they_are_reached():
    assert not over_six_weeks(41) and over_six_weeks(42)
    assert not over_thirteen_weeks(90) and over_thirteen_weeks(91)


def test_priority_weights_order_urgent_before_cancer_before_soon_before_routine():
    assert PRIORITY_WEIGHT["urgent"] > PRIORITY_WEIGHT["cancer"] > PRIORITY_WEIGHT["soon"] > PRIORITY_WEIGHT["routine"]
    assert priority_weight("routine") == 1.0


def test_distance_birmingham_to_coventry_is_about_30_km_straight_and_more_by_road():
    birmingham, coventry = (52.4862, -1.8904), (52.4068, -1.5197)
    straight = great_circle_km(*birmingham, *coventry)
    assert 26 < straight < 28
    assert road_km_between(*birmingham, *coventry) == pytest.approx(road_km(straight))
    assert great_circle_limit(road_km(straight)) == pytest.approx(straight)

