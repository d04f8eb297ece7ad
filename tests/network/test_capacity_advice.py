"""Capacity advice on a network small enough to count by hand (tests/network/whatif_states.py).

Two weeks: the census is day 13, so each site's slots are those of days 0-13, and an extra list
runs from day 3 (the minimum notice): Thursday to Sunday twice before the census, Monday to
Wednesday once. Nobody DNAs or cancels, so a slot clears one patient.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from tests.network.whatif_states import three_sites_for_advice
from wmin.simulation.whatif import Assumptions
from wmin.simulation.whatif.advice import capacity_advice
from wmin.simulation.whatif.bound import BoundProblem
from wmin.simulation.whatif.engine import build_geometry
from wmin.simulation.whatif.population import draw_population

ADVICE_ASSUMPTIONS = dataclasses.replace(
    Assumptions(), dna_rate=0.0, cancellation_rate=0.0, tolerance_mix=(1.0, 0.0, 0.0, 0.0)
)
DAYS = 14


def _problem(**changes) -> BoundProblem:
    state = three_sites_for_advice(**changes)
    population = draw_population(state, days=DAYS, seed=1, assumptions=ADVICE_ASSUMPTIONS)
    geometry = build_geometry(state, ADVICE_ASSUMPTIONS, DAYS)
    return BoundProblem(state, population, geometry, ADVICE_ASSUMPTIONS, DAYS)


def _advise(**changes):
    problem = _problem(**changes)
    return problem, capacity_advice(problem, problem.state, ADVICE_ASSUMPTIONS)


def test_the_bound_and_its_min_cut_are_as_counted_by_hand():
    bound = _problem().census_bound().referral
    # South: 30 patients, 14 slots -> 16 short. North: 10 patients, 28 slots -> none. Far: out of reach.
    assert (bound.must_be_cleared, bound.shortfall_within_tolerance, bound.counted_at_start) == (40, 16, 40)
    assert bound.share_within_tolerance == 0.4
    assert bound.saturated == [("S0", "MR")]


def test_lists_go_to_the_saturated_site_on_the_days_they_run_most_until_the_bound_is_below_1_percent():
    _, advice = _advise()
    # Below 1 % of 40 patients means nobody short: 16 more slots at South. A Thursday, Friday or
    # Saturday list runs twice (6 slots); three lists give 18.
    assert [(e.site, e.weekday_name, e.slots, e.lists_by_census, e.patients) for e in advice.plan] == [
        ("S0", "Thursday", 3, 2, 6),
        ("S0", "Friday", 3, 2, 6),
        ("S0", "Saturday", 3, 2, 4),
    ]
    assert (advice.shortfall_now, advice.shortfall_after, advice.reached) == (16, 0, True)
    assert [(e.site, e.patients) for e in advice.ranking] == [("S0", 6)]
    assert advice.fewest_possible == 3  # two lists clear at most 12: the plan is the fewest


def test_the_list_that_clears_more_comes_first_and_the_gap_to_the_fewest_possible_is_stated():
    # North now has 4 slots for its 10 patients: 6 short, and a list there (2 slots, twice) clears 4.
    _, advice = _advise(north_slots_a_week=2.0)
    assert advice.shortfall_now == 22
    assert [(e.site, e.patients) for e in advice.ranking] == [("S0", 6), ("S1", 4)]
    # South needs 3 lists (16 slots in sixes), North 2 (6 in fours): 5 in all. Greedy takes South's
    # while they clear more, breaks the tie at 4 for the first site, then North's.
    assert [(e.site, e.weekday_name, e.patients) for e in advice.plan] == [
        ("S0", "Thursday", 6),
        ("S0", "Friday", 6),
        ("S0", "Saturday", 4),
        ("S1", "Thursday", 4),
        ("S1", "Friday", 2),
    ]
    assert advice.reached and advice.shortfall_after == 0
    # Four lists alone could clear 24 > 22, so the bound on the fewest is 4: one short of the plan.
    assert advice.fewest_possible == 4


def test_advice_leaves_the_bound_as_it_found_it():
    problem, advice = _advise()
    assert problem.census_bound().referral.shortfall_within_tolerance == advice.shortfall_now == 16


def test_recent_urgent_referrals_need_not_be_scanned_by_the_census():
    # Any policy may still be waiting for a slot for them, and in the simulator the full policy
    # was (a quarter of urgent referrals 1-6 weeks old at the census): the bound must not count them.
    state = three_sites_for_advice()
    waiting = state.waiting
    urgent = dataclasses.replace(
        waiting,
        trust=np.r_[waiting.trust, [0] * 5],
        modality=np.r_[waiting.modality, [0] * 5],
        outcode=np.r_[waiting.outcode, [0] * 5],
        priority=np.r_[waiting.priority, [0] * 5],
        days_waited=np.r_[waiting.days_waited, [10] * 5],
    )
    state = dataclasses.replace(state, waiting=urgent)
    population = draw_population(state, days=DAYS, seed=1, assumptions=ADVICE_ASSUMPTIONS)
    geometry = build_geometry(state, ADVICE_ASSUMPTIONS, DAYS)
    bound = BoundProblem(state, population, geometry, ADVICE_ASSUMPTIONS, DAYS).census_bound().referral
    assert (bound.must_be_cleared, bound.shortfall_within_tolerance) == (40, 16)


def test_the_bound_states_the_share_of_each_modalitys_slots_new_referrals_need():
    state = dataclasses.replace(three_sites_for_advice(), weekly_arrivals=np.array([[7.0], [0.0], [0.0]]))
    population = draw_population(state, days=DAYS, seed=1, assumptions=ADVICE_ASSUMPTIONS)
    geometry = build_geometry(state, ADVICE_ASSUMPTIONS, DAYS)
    bound = BoundProblem(state, population, geometry, ADVICE_ASSUMPTIONS, DAYS).census_bound()
    # Nobody DNAs or cancels, so a referral needs one slot: 7 a week of 7 + 14 + 35.
    assert bound.slots_needed_share == {"MR": 0.125}
