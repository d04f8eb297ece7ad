from datetime import UTC, date, datetime, timedelta

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from booking.optimiser.shortlist import (
    NETWORK_TIMEZONE,
    WAIT_DAY_IN_TRAVEL_MINUTES,
    PatientNeeds,
    SlotOption,
    SlotTable,
    shortlist,
)
from booking.optimiser.travel import TravelMode, estimate
from booking.rules.notice import minimum_notice_hours

from .factories import NOW, random_needs, random_slot_options

seeds = st.integers(min_value=0, max_value=2**32 - 1)


def allowed(needs: PatientNeeds, option: SlotOption) -> bool:
    """The hard constraints, written the slow obvious way."""
    local = option.starts_at.astimezone(NETWORK_TIMEZONE)
    hour = local.hour
    in_time_of_day = {
        "any": True,
        "morning": hour < 12,
        "afternoon": 12 <= hour < 17,
        "evening": hour >= 17,
    }[needs.time_of_day]
    return (
        option.starts_at >= needs.earliest
        and local.date() not in needs.unavailable_dates
        and in_time_of_day
        and (option.step_free or not needs.needs_step_free)
        and (option.hearing_loop or not needs.needs_hearing_loop)
        and (option.bariatric or not needs.needs_bariatric)
        and (needs.max_travel_km is None or travel(needs, option).km <= needs.max_travel_km + 1e-9)
    )


def travel(needs: PatientNeeds, option: SlotOption):
    site = (option.latitude, option.longitude)
    trips = [estimate(needs.origin, site, needs.mode)]
    if needs.alt_origin is not None:
        trips.append(estimate(needs.alt_origin, site, needs.mode))
    return min(trips, key=lambda t: t.km)


def score(needs: PatientNeeds, option: SlotOption, now: datetime) -> float:
    days = (option.starts_at - now).total_seconds() / 86_400
    return (
        needs.travel_weight * travel(needs, option).minutes
        + needs.wait_weight * WAIT_DAY_IN_TRAVEL_MINUTES * days
    )


@settings(max_examples=60, deadline=None)
@given(seed=seeds, per_site=st.integers(1, 4))
def test_shortlist_never_breaks_a_hard_constraint_and_misses_no_site(seed, per_site):
    rng = np.random.default_rng(seed)
    options = random_slot_options(rng, 300)
    needs = random_needs(rng)
    by_id = {o.slot_id: o for o in options}

    entries = shortlist(needs, options, now=NOW, per_site=per_site)

    assert all(allowed(needs, by_id[e.slot_id]) for e in entries)
    eligible = [o for o in options if allowed(needs, o)]
    assert {e.site_id for e in entries} == {o.site_id for o in eligible}
    for site in {o.site_id for o in eligible}:
        site_scores = sorted(score(needs, o, NOW) for o in eligible if o.site_id == site)
        shown = [e.score for e in entries if e.site_id == site]
        np.testing.assert_allclose(shown, site_scores[:per_site], rtol=1e-9, atol=1e-6)


@settings(max_examples=40, deadline=None)
@given(seed=seeds)
def test_sites_are_ranked_by_their_best_slot(seed):
    rng = np.random.default_rng(seed)
    entries = shortlist(random_needs(rng), random_slot_options(rng, 200), now=NOW)
    first_score_of_site: dict[int, float] = {}
    for entry in entries:
        first_score_of_site.setdefault(entry.site_id, entry.score)
    best = list(first_score_of_site.values())
    assert best == sorted(best)
    site_order = list(first_score_of_site)
    assert [e.site_id for e in entries] == sorted((e.site_id for e in entries), key=site_order.index)


def one_site_options(starts: list[datetime], **features) -> list[SlotOption]:
    return [
        SlotOption(i, 1, "Washwood Heath CDC", True, s, 52.488, -1.849, **features)
        for i, s in enumerate(starts)
    ]


def plain_needs(**overrides) -> PatientNeeds:
    defaults = dict(origin=(52.48, -1.85), mode=TravelMode.CAR, earliest=NOW)
    return PatientNeeds(**{**defaults, **overrides})


def test_unavailable_dates_are_taken_in_the_network_time_zone():
    # 23:30 UTC on 1 April is 00:30 on 2 April in London (BST).
    late = datetime(2026, 4, 1, 23, 30, tzinfo=UTC)
    needs = plain_needs(unavailable_dates={date(2026, 4, 2)})
    assert shortlist(needs, one_site_options([late]), now=NOW) == []
    assert len(shortlist(plain_needs(unavailable_dates={date(2026, 4, 1)}), one_site_options([late]))) == 1


def test_slots_before_the_earliest_start_are_never_shown():
    # 2 days' notice, 5 days' preparation: the longer wins.
    earliest = NOW + timedelta(hours=minimum_notice_hours(travel_mode="car", preparation_lead_days=5))
    starts = [NOW + timedelta(days=d) for d in (1, 3, 4.9, 5, 6)]
    entries = shortlist(plain_needs(earliest=earliest), one_site_options(starts), now=NOW, per_site=10)
    assert sorted(e.slot_id for e in entries) == [3, 4]


def test_access_needs_exclude_sites_without_the_feature():
    starts = [NOW + timedelta(days=3)]
    assert shortlist(plain_needs(needs_step_free=True), one_site_options(starts, step_free=False)) == []
    assert shortlist(plain_needs(needs_bariatric=True), one_site_options(starts, bariatric=False)) == []
    assert (
        len(shortlist(plain_needs(needs_hearing_loop=True), one_site_options(starts, hearing_loop=True))) == 1
    )


def test_max_travel_excludes_far_sites():
    starts = [NOW + timedelta(days=3)]
    far_away = plain_needs(origin=(52.71, -2.79), max_travel_km=30)  # Shrewsbury
    assert shortlist(far_away, one_site_options(starts)) == []
    assert len(shortlist(plain_needs(max_travel_km=5), one_site_options(starts))) == 1


def test_a_work_address_brings_a_far_site_within_reach():
    starts = [NOW + timedelta(days=3)]
    needs = plain_needs(origin=(52.71, -2.79), alt_origin=(52.49, -1.86), max_travel_km=10)
    [entry] = shortlist(needs, one_site_options(starts))
    assert entry.from_alt_origin
    assert "other address" in " ".join(entry.reasons)


def test_time_of_day_keeps_only_that_part_of_the_day():
    starts = [datetime(2026, 3, 25, h, 0, tzinfo=UTC) for h in (8, 13, 18)]  # GMT: local equals UTC
    parts = {
        part: {
            e.slot_id for e in shortlist(plain_needs(time_of_day=part), one_site_options(starts), per_site=5)
        }
        for part in ("morning", "afternoon", "evening", "any")
    }
    assert parts == {"morning": {0}, "afternoon": {1}, "evening": {2}, "any": {0, 1, 2}}


def test_summaries_say_why_in_plain_english():
    near_hospital = SlotOption(1, 10, "City Hospital", False, NOW + timedelta(days=20), 52.4886, -1.9325)
    cdc = SlotOption(2, 20, "Washwood Heath CDC", True, NOW + timedelta(days=3), 52.4883, -1.8491)
    needs = plain_needs(origin=(52.49, -1.86))
    entries = shortlist(needs, [near_hospital, cdc], now=NOW, modality_label="CT")
    summaries = {e.site_name: e.summary for e in entries}
    assert summaries["Washwood Heath CDC"] == "Nearest CT with a slot this week"
    assert "Shortest wait: 3 days" in entries[0].reasons
    assert any(r.startswith("CDC ") and "closer than your nearest hospital" in r for r in entries[0].reasons)


def test_limit_and_per_site_bound_the_list():
    rng = np.random.default_rng(3)
    options = random_slot_options(rng, 500)
    needs = plain_needs(origin=(52.5, -2.0))
    assert len(shortlist(needs, options, per_site=2, limit=5)) == 5
    counts = np.bincount([e.site_id for e in shortlist(needs, options, per_site=2)])
    assert counts.max() == 2


def test_a_prebuilt_table_gives_the_same_shortlist_as_the_options():
    rng = np.random.default_rng(4)
    options = random_slot_options(rng, 400)
    needs = random_needs(rng)
    from_options = shortlist(needs, options, now=NOW)
    from_table = shortlist(needs, SlotTable.from_options(options), now=NOW)
    assert [e.slot_id for e in from_options] == [e.slot_id for e in from_table]


def test_empty_pool_gives_an_empty_shortlist():
    assert shortlist(plain_needs(), []) == []
