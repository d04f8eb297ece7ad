from datetime import timedelta

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from booking.optimiser.backfill import (
    ARRIVAL_BUFFER_MINUTES,
    MIN_GAIN_DAYS,
    BackfillCandidate,
    CandidateTable,
    rank_backfill,
    too_close_to_fill,
)
from booking.optimiser.shortlist import SlotOption
from booking.optimiser.travel import TravelMode, estimate

from .factories import NOW, random_backfill_candidates

seeds = st.integers(min_value=0, max_value=2**32 - 1)


def freed_slot(hours_from_now: float, **features) -> SlotOption:
    return SlotOption(
        slot_id=1,
        site_id=1,
        site_name="Good Hope Hospital",
        site_is_cdc=False,
        starts_at=NOW + timedelta(hours=hours_from_now),
        latitude=52.5,
        longitude=-2.0,
        **features,
    )


def may_take(slot: SlotOption, c: BackfillCandidate) -> bool:
    """The eligibility rules, written the slow obvious way."""
    trip = estimate((c.lat, c.lon), (slot.latitude, slot.longitude), c.mode)
    minutes_until = (slot.starts_at - NOW).total_seconds() / 60
    booked = c.current_booking_starts_at is not None
    gain_days = (c.current_booking_starts_at - slot.starts_at).total_seconds() / 86_400 if booked else None
    return (
        (c.opted_in_short_notice or not booked)
        and (not booked or gain_days >= MIN_GAIN_DAYS)
        and (slot.step_free or not c.needs_step_free)
        and (slot.hearing_loop or not c.needs_hearing_loop)
        and (slot.bariatric or not c.needs_bariatric)
        and (c.max_travel_km is None or trip.km <= c.max_travel_km)
        and minutes_until >= c.min_notice_hours * 60
        and minutes_until >= trip.minutes + ARRIVAL_BUFFER_MINUTES
    )


@settings(max_examples=80, deadline=None)
@given(seed=seeds, hours=st.floats(0.5, 24 * 7), limit=st.integers(1, 20))
def test_ranked_candidates_are_all_eligible_and_the_best_come_first(seed, hours, limit):
    rng = np.random.default_rng(seed)
    slot = freed_slot(hours, step_free=bool(rng.random() < 0.7), bariatric=bool(rng.random() < 0.3))
    candidates = random_backfill_candidates(rng, 60, slot_starts_at=slot.starts_at)

    ranked = rank_backfill(slot, candidates, NOW, limit=limit)

    by_id = {c.referral_id: c for c in candidates}
    assert all(may_take(slot, by_id[r.referral_id]) for r in ranked)
    eligible = [c for c in candidates if may_take(slot, c)]
    assert len(ranked) == min(limit, len(eligible))
    scores = [r.score for r in ranked]
    assert scores == sorted(scores, reverse=True)
    if ranked:
        all_scores = [r.score for r in rank_backfill(slot, candidates, NOW, limit=len(candidates))]
        assert scores[0] == max(all_scores)


def candidate(**overrides) -> BackfillCandidate:
    defaults = dict(
        referral_id=1,
        opted_in_short_notice=True,
        lat=52.5,
        lon=-2.0,
        mode=TravelMode.CAR,
        max_travel_km=None,
        days_waited=30,
        priority_weight=1.0,
        current_booking_starts_at=None,
        min_notice_hours=2.0,
    )
    return BackfillCandidate(**{**defaults, **overrides})


def test_those_who_cannot_get_there_in_time_are_skipped():
    slot = freed_slot(hours_from_now=3)
    walker_far_away = candidate(referral_id=1, lat=52.7, lon=-2.3, mode=TravelMode.WALKING)
    driver_nearby = candidate(referral_id=2, lat=52.51, lon=-2.01)
    needs_a_day = candidate(referral_id=3, lat=52.51, lon=-2.01, min_notice_hours=24)
    ranked = rank_backfill(slot, [walker_far_away, driver_nearby, needs_a_day], NOW)
    assert [r.referral_id for r in ranked] == [2]


def test_booked_patients_are_asked_only_if_they_opted_in_and_would_gain():
    slot = freed_slot(hours_from_now=48)
    later = slot.starts_at + timedelta(days=10)
    opted_in = candidate(referral_id=1, current_booking_starts_at=later)
    not_opted_in = candidate(referral_id=2, current_booking_starts_at=later, opted_in_short_notice=False)
    already_sooner = candidate(referral_id=3, current_booking_starts_at=slot.starts_at - timedelta(days=1))
    not_booked = candidate(referral_id=4, opted_in_short_notice=False)
    ranked = rank_backfill(slot, [opted_in, not_opted_in, already_sooner, not_booked], NOW)
    assert {r.referral_id for r in ranked} == {1, 4}
    gains = {r.referral_id: r for r in ranked}
    assert gains[1].days_gained == 10
    assert "10 days sooner than their current booking" in gains[1].summary


def test_urgent_long_waiters_rank_above_routine_new_ones():
    slot = freed_slot(hours_from_now=48)
    routine_new = candidate(referral_id=1, days_waited=3, priority_weight=1.0)
    urgent_long = candidate(referral_id=2, days_waited=60, priority_weight=3.0, lat=52.55)
    assert [r.referral_id for r in rank_backfill(slot, [routine_new, urgent_long], NOW)] == [2, 1]


def test_a_prebuilt_table_ranks_like_the_list():
    rng = np.random.default_rng(9)
    slot = freed_slot(30)
    candidates = random_backfill_candidates(rng, 200, slot_starts_at=slot.starts_at)
    from_list = rank_backfill(slot, candidates, NOW)
    from_table = rank_backfill(slot, CandidateTable.from_candidates(candidates), NOW)
    assert [r.referral_id for r in from_list] == [r.referral_id for r in from_table]


def test_too_close_to_fill_compares_the_notice_left_with_the_minimum():
    assert too_close_to_fill(NOW + timedelta(hours=1), NOW, min_hours=2)
    assert not too_close_to_fill(NOW + timedelta(hours=3), NOW, min_hours=2)
