"""Making Data Count rules on crafted series: limits, a point outside them, runs of 7, trends of 6."""

import pytest

from wmin.network.spc import Better, Variation, analyse

FLAT = [10.0, 11.0] * 10  # mean 10.5, every moving range 1


def test_limits_are_mean_plus_or_minus_2_66_mean_moving_ranges():
    result = analyse(FLAT)
    assert result.mean == pytest.approx(10.5)
    assert result.mean_moving_range == pytest.approx(1.0)
    assert result.upper_limit == pytest.approx(10.5 + 2.66)
    assert result.lower_limit == pytest.approx(10.5 - 2.66)
    assert result.special_cause_count == 0
    assert all(p.variation == Variation.COMMON for p in result.points)


def test_a_point_beyond_a_limit_is_special_cause_and_higher_waits_are_a_concern():
    series = [*FLAT, 25.0]
    result = analyse(series, Better.LOWER)
    last = result.points[-1]
    assert last.outside_limits and last.value > result.upper_limit
    assert last.variation == Variation.CONCERN
    assert [p.index for p in result.points if p.outside_limits] == [len(series) - 1]


def test_a_low_point_beyond_a_limit_is_an_improvement_when_lower_is_better():
    result = analyse([*FLAT, -5.0], Better.LOWER)
    assert result.points[-1].outside_limits
    assert result.points[-1].variation == Variation.IMPROVEMENT
    assert analyse([*FLAT, -5.0], Better.HIGHER).points[-1].variation == Variation.CONCERN


def test_seven_points_on_one_side_of_the_mean_are_a_shift_exactly_those_seven():
    series = [10.0, 0.0] * 6 + [6.0] * 7 + [0.0, 10.0]  # mean 5.33; alternating points break runs
    result = analyse(series)
    assert [p.index for p in result.points if p.shift] == list(range(12, 19))
    assert not any(p.outside_limits or p.trend for p in result.points)
    assert all(p.variation == Variation.CONCERN for p in result.points if p.shift)


def test_six_points_on_one_side_are_not_a_shift():
    series = [10.0, 0.0] * 6 + [6.0] * 6 + [0.0, 10.0]
    assert not any(p.shift for p in analyse(series).points)


def test_a_point_on_the_mean_breaks_a_run():
    series = [0.0] * 6 + [1.0] + [2.0] * 6  # mean 1.0: six below, one on, six above
    assert not any(p.shift for p in analyse(series).points)


def test_six_points_each_rising_are_a_trend_and_five_are_not():
    trend = [5.0, 3.0, 5.0, 3.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 3.0, 5.0, 3.0]
    result = analyse(trend)
    assert [p.index for p in result.points if p.trend] == [4, 5, 6, 7, 8, 9]
    assert all(p.variation == Variation.CONCERN for p in result.points if p.trend)  # rising waits
    five = [5.0, 3.0, 5.0, 3.0, 1.0, 2.0, 3.0, 4.0, 5.0, 3.0, 5.0, 3.0]
    assert not any(p.trend for p in analyse(five).points)


def test_a_falling_trend_of_waits_is_an_improvement_and_ties_break_it():
    falling = [4.0, 6.0, 4.0, 9.0, 8.0, 7.0, 6.0, 5.0, 4.0, 6.0, 4.0]
    result = analyse(falling)
    assert [p.index for p in result.points if p.trend] == [3, 4, 5, 6, 7, 8]
    assert all(p.variation == Variation.IMPROVEMENT for p in result.points if p.trend)
    with_tie = [4.0, 6.0, 4.0, 9.0, 8.0, 7.0, 7.0, 5.0, 4.0, 6.0, 4.0]
    assert not any(p.trend for p in analyse(with_tie).points)


def test_short_and_empty_series():
    assert analyse([]).points == []
    single = analyse([3.0])
    assert single.mean == 3.0 and not single.points[0].special_cause
