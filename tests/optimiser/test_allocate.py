import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from booking.optimiser.allocate import (
    COST_SCALE,
    NO_LATEST_DAY,
    AllocationProblem,
    AllocationWeights,
    allocate,
    build_cost_model,
    greedy_baseline,
    lp_bound,
    wait_summary,
    waits_at_scan,
    waits_before_after,
)
from booking.optimiser.travel import great_circle_km, road_km
from booking.rules.eligibility import ACCESS_BARIATRIC, ACCESS_STEP_FREE
from booking.rules.priority import PRIORITY_WEIGHT

from .factories import random_allocation_problem

seeds = st.integers(min_value=0, max_value=2**32 - 1)
ROUTINE, URGENT = PRIORITY_WEIGHT["routine"], PRIORITY_WEIGHT["urgent"]


def random_problem(seed: int, n_patients: int = 30) -> AllocationProblem:
    """Sizes vary with the seed too: from one site-day to eight sites over eight days."""
    rng = np.random.default_rng(seed)
    return random_allocation_problem(
        rng,
        n_patients=n_patients,
        n_sites=int(rng.integers(1, 9)),
        n_days=int(rng.integers(1, 9)),
        n_compat=int(rng.integers(1, 4)),
        max_capacity=int(rng.integers(1, 5)),
    )


def reachable(problem: AllocationProblem, patient: int, bin_index: int) -> bool:
    km = road_km(
        great_circle_km(
            problem.patient_lat[patient],
            problem.patient_lon[patient],
            problem.bin_lat[bin_index],
            problem.bin_lon[bin_index],
        )
    )
    return bool(
        problem.patient_compat[patient] == problem.bin_compat[bin_index]
        and km <= problem.max_travel_km[patient]
        and problem.patient_earliest_day[patient] <= problem.bin_day_offset[bin_index]
        and problem.bin_day_offset[bin_index] <= problem.patient_latest_day[patient]
        and (problem.patient_needs[patient] & ~problem.bin_features[bin_index]) == 0
    )


@settings(max_examples=80, deadline=None)
@given(seed=seeds, n_patients=st.integers(1, 60))
def test_no_assignment_breaks_travel_exam_access_earliest_day_or_capacity(seed, n_patients):
    problem = random_problem(seed, n_patients)
    for result in (
        allocate(problem),
        greedy_baseline(problem),
        greedy_baseline(problem, nearest_site_only=True),
    ):
        assigned = np.flatnonzero(result.assigned_bin >= 0)
        assert all(reachable(problem, p, result.assigned_bin[p]) for p in assigned)
        used = np.bincount(result.assigned_bin[assigned], minlength=problem.n_bins)
        assert np.all(used <= problem.bin_capacity)


@settings(max_examples=40, deadline=None)
@given(seed=seeds, n_patients=st.integers(1, 50))
def test_min_cost_flow_objective_equals_the_lp_bound(seed, n_patients):
    problem = random_problem(seed, n_patients)
    result = allocate(problem)
    assert result.status == "optimal"
    assert result.objective == pytest.approx(lp_bound(problem, formulation="transportation").value, abs=0.5)
    assert result.objective == pytest.approx(lp_bound(problem, formulation="network").value, abs=0.5)


@settings(max_examples=60, deadline=None)
@given(seed=seeds, n_patients=st.integers(1, 60))
def test_reported_objective_is_the_cost_of_the_assignment(seed, n_patients):
    problem = random_problem(seed, n_patients)
    result = allocate(problem)
    assert build_cost_model(problem).objective(result.assigned_bin) == result.objective


@settings(max_examples=60, deadline=None)
@given(seed=seeds, n_patients=st.integers(1, 60))
def test_greedy_never_beats_the_optimum(seed, n_patients):
    problem = random_problem(seed, n_patients)
    optimum = allocate(problem).objective
    assert greedy_baseline(problem).objective >= optimum
    assert greedy_baseline(problem, nearest_site_only=True).objective >= optimum


@settings(max_examples=60, deadline=None)
@given(seed=seeds, n_patients=st.integers(1, 60))
def test_nobody_is_left_out_while_a_bin_they_can_reach_has_room(seed, n_patients):
    problem = random_problem(seed, n_patients)
    result = allocate(problem)
    used = np.bincount(result.assigned_bin[result.assigned_bin >= 0], minlength=problem.n_bins)
    spare = np.flatnonzero(used < problem.bin_capacity)
    for patient in np.flatnonzero(result.assigned_bin < 0):
        assert not any(reachable(problem, patient, b) for b in spare)


@settings(max_examples=60, deadline=None)
@given(seed=seeds, n_patients=st.integers(2, 60))
def test_a_more_urgent_class_is_never_left_out_for_a_less_urgent_one(seed, n_patients):
    problem = random_problem(seed, n_patients)
    result = allocate(problem)
    urgency = problem.urgency()
    for left_out in np.flatnonzero(result.assigned_bin < 0):
        for served in np.flatnonzero(result.assigned_bin >= 0):
            if urgency[left_out] >= urgency[served] + 1:
                assert not reachable(problem, left_out, result.assigned_bin[served])


def two_patients_one_slot(**patient_overrides) -> AllocationProblem:
    columns = dict(
        patient_id=[1, 2],
        patient_lat=[52.48, 52.45],
        patient_lon=[-1.90, -1.95],
        days_waited=[0, 120],  # the urgent referral arrived today; the routine one waited 17 weeks
        priority_weight=[URGENT, ROUTINE],
        max_travel_km=[30.0, 30.0],
        patient_compat=[0, 0],
        bin_id=[77],
        bin_site_id=[1],
        bin_lat=[52.45],
        bin_lon=[-1.94],
        bin_day_offset=[2],
        bin_capacity=[1],
        bin_compat=[0],
    )
    return AllocationProblem(**{**columns, **patient_overrides})


def test_the_urgent_patient_gets_the_last_slot_even_if_further_and_newer():
    assert allocate(two_patients_one_slot()).assignments == {1: 77}


def test_among_routine_patients_the_longest_waiter_gets_the_last_slot():
    problem = two_patients_one_slot(priority_weight=[ROUTINE, ROUTINE], patient_lat=[52.45, 52.45])
    assert allocate(problem).assignments == {2: 77}


def test_the_longest_waiter_gets_the_earlier_day_at_the_same_site():
    problem = AllocationProblem(
        patient_id=[1, 2],
        patient_lat=[52.45, 52.45],
        patient_lon=[-1.94, -1.94],
        days_waited=[10, 60],
        priority_weight=[ROUTINE, ROUTINE],
        max_travel_km=[10.0, 10.0],
        patient_compat=[0, 0],
        bin_id=[1, 2],
        bin_site_id=[1, 1],
        bin_lat=[52.45, 52.45],
        bin_lon=[-1.94, -1.94],
        bin_day_offset=[3, 20],
        bin_capacity=[1, 1],
        bin_compat=[0, 0],
    )
    assert allocate(problem).assignments == {1: 2, 2: 1}


def test_incompatible_or_far_bins_are_never_offered():
    far = two_patients_one_slot(max_travel_km=[0.5, 0.5])
    assert allocate(far).assignments == {}
    other_exam = two_patients_one_slot(patient_compat=[1, 1])
    assert allocate(other_exam).assignments == {}


def test_access_needs_and_earliest_day_keep_patients_out_of_unsuitable_bins():
    no_bariatric = two_patients_one_slot(patient_needs=[ACCESS_BARIATRIC, 0], bin_features=[ACCESS_STEP_FREE])
    assert allocate(no_bariatric).assignments == {2: 77}
    needs_a_week = two_patients_one_slot(patient_earliest_day=[7, 0])
    assert allocate(needs_a_week).assignments == {2: 77}


def test_an_empty_waiting_list_allocates_nothing():
    problem = random_allocation_problem(np.random.default_rng(0), n_patients=0)
    result = allocate(problem)
    assert result.assignments == {}
    assert result.objective == 0


def test_wait_summary_reports_median_p92_and_breach_shares():
    summary = wait_summary(np.arange(100))
    assert summary.median_days == pytest.approx(49.5)
    assert summary.p92_days == pytest.approx(91.08)
    assert summary.share_over_6_weeks == pytest.approx(0.58)
    assert summary.share_over_13_weeks == pytest.approx(0.09)


def test_waits_at_scan_add_the_day_offset_and_count_the_unassigned_past_the_horizon():
    problem = two_patients_one_slot()
    result = allocate(problem)
    np.testing.assert_array_equal(waits_at_scan(problem, result), [0 + 2, 120 + 2 + 1])
    before, after = waits_before_after(problem, result)
    assert (before.patients, after.patients) == (2, 2)


def due_patient_and_fresh_neighbour(days_waited: int) -> AllocationProblem:
    """Patient 1 lives by site 1 (a slot in 20 days), patient 2 by site 2 (~17 km away, a slot in 4)."""
    return AllocationProblem(
        patient_id=[1, 2],
        patient_lat=[52.40, 52.52],
        patient_lon=[-1.90, -1.90],
        days_waited=[days_waited, 0],
        priority_weight=[ROUTINE, ROUTINE],
        max_travel_km=[40.0, 40.0],
        patient_compat=[0, 0],
        bin_id=[10, 20],
        bin_site_id=[1, 2],
        bin_lat=[52.40, 52.52],
        bin_lon=[-1.90, -1.90],
        bin_day_offset=[20, 4],
        bin_capacity=[1, 1],
        bin_compat=[0, 0],
    )


def test_a_patient_near_five_weeks_travels_further_for_a_slot_before_them():
    assert allocate(due_patient_and_fresh_neighbour(days_waited=30)).assignments == {1: 20, 2: 10}


def test_a_patient_with_weeks_in_hand_keeps_the_nearer_later_slot():
    assert allocate(due_patient_and_fresh_neighbour(days_waited=10)).assignments == {1: 10, 2: 20}


def test_without_the_overdue_weight_waiting_weighs_as_before():
    problem = due_patient_and_fresh_neighbour(days_waited=30)
    assert allocate(problem, AllocationWeights(overdue_per_day=0.0)).assignments == {1: 10, 2: 20}


def test_each_day_past_the_book_by_day_costs_the_overdue_weight():
    problem = due_patient_and_fresh_neighbour(days_waited=30)  # due in 35 - 30 = 5 days
    weights = AllocationWeights(overdue_per_day=10.0, book_by_days=35)
    model = build_cost_model(problem, weights)
    plain = build_cost_model(problem, AllocationWeights(overdue_per_day=0.0, book_by_days=35))
    extra = model.assignment_costs([0, 0], [0, 1]) - plain.assignment_costs([0, 0], [0, 1])
    assert extra.tolist() == [COST_SCALE * 10 * (20 - 5), 0]


@given(seed=seeds, n_patients=st.integers(1, 40))
def test_the_greedy_and_the_lp_price_the_overdue_days_as_the_flow_does(seed, n_patients):
    problem = random_problem(seed, n_patients)
    weights = AllocationWeights(overdue_per_day=25.0, book_by_days=int(seed % 60))
    result = allocate(problem, weights)
    assert result.objective == build_cost_model(problem, weights).objective(result.assigned_bin)
    assert greedy_baseline(problem, weights).objective >= result.objective
    assert lp_bound(problem, weights, formulation="transportation").value == pytest.approx(result.objective)


def test_a_booked_patient_is_offered_only_slots_sooner_than_the_booking_they_hold():
    problem = due_patient_and_fresh_neighbour(days_waited=30)
    booked_for_day_3 = dataclasses.replace(problem, patient_latest_day=[3, NO_LATEST_DAY])
    assert allocate(booked_for_day_3).assignments == {2: 20}
    assert greedy_baseline(booked_for_day_3).assignments == {2: 20}
