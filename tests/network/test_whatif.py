"""The what-if simulator's core: seeded, side by side, calibrated, and no Django in it."""

from __future__ import annotations

import ast
import dataclasses
from datetime import date
from pathlib import Path

import numpy as np
import pytest
from django.conf import settings

from tests.network.whatif_states import two_trusts
from wmin.simulation import whatif
from wmin.simulation.whatif import Assumptions, Policy, csv_rows, load_reference, simulate, synthetic_state
from wmin.simulation.whatif import engine as whatif_engine

CORE = Path(whatif.__file__).parent


def test_the_same_seed_gives_the_same_results_and_another_seed_does_not():
    state = two_trusts()
    first = simulate(state, weeks=4, seed=7).as_dict()
    again = simulate(state, weeks=4, seed=7).as_dict()
    other = simulate(state, weeks=4, seed=8).as_dict()
    for outcome in (first, again, other):
        for policy in outcome["policies"]:
            policy.pop("seconds")
    assert first == again
    assert first != other


def test_choice_and_allocation_leave_fewer_waiting_6_weeks_than_the_status_quo():
    outcome = simulate(two_trusts(), weeks=8, seed=1)
    final = {p.policy: p.summary.share_over_6_weeks for p in outcome.policies}
    assert final[Policy.CHOICE_ALLOCATION_BACKFILL] <= final[Policy.STATUS_QUO]
    assert final[Policy.PATIENT_CHOICE] <= final[Policy.STATUS_QUO]
    assert final[Policy.STATUS_QUO] > 0.2  # the busy trust's deep queue stays deep on its own
    spread = {p.policy: p.summary.icb_spread_weeks for p in outcome.policies}
    assert spread[Policy.CHOICE_ALLOCATION_BACKFILL] < spread[Policy.STATUS_QUO]


def test_status_quo_books_only_the_trusts_own_sites():
    outcome = simulate(two_trusts(), weeks=3, seed=1, policies=[Policy.STATUS_QUO])
    assert all(week.moved_cross_trust == 0 for week in outcome.policies[0].weeks)


def test_backfill_refills_more_cancelled_slots_than_the_status_quo():
    outcome = simulate(two_trusts(), weeks=8, seed=2)
    refill = {p.policy: p.summary.refill_rate for p in outcome.policies}
    assert refill[Policy.CHOICE_ALLOCATION_BACKFILL] >= refill[Policy.STATUS_QUO]


def test_weekly_outcomes_and_progress():
    seen: list[float] = []
    outcome = simulate(two_trusts(), weeks=3, seed=1, progress=seen.append)
    assert seen == sorted(seen) and seen[-1] == pytest.approx(1.0)
    for policy in outcome.policies:
        assert [w.week for w in policy.weeks] == [0, 1, 2, 3]
        assert set(policy.weeks[-1].icb_median_wait_weeks) == {"I0", "I1"}
        assert 0 <= policy.weeks[-1].share_over_6_weeks <= 1


def test_allocation_uses_the_optimisers_min_cost_flow_and_a_named_stand_in_without_it(monkeypatch):
    outcome = simulate(two_trusts(), weeks=2, seed=1, policies=[Policy.CHOICE_ALLOCATION_BACKFILL])
    assert outcome.policies[0].allocator == whatif_engine.MIN_COST_FLOW
    monkeypatch.setattr(whatif_engine, "allocate", None)
    outcome = simulate(two_trusts(), weeks=2, seed=1, policies=[Policy.CHOICE_ALLOCATION_BACKFILL])
    assert outcome.policies[0].allocator == whatif_engine.GREEDY_STAND_IN
    assert outcome.policies[0].weeks[-1].bookings > 0


def test_csv_rows_one_per_policy_per_week():
    result = simulate(two_trusts(), weeks=2, seed=1).as_dict()
    header, rows = csv_rows(result)
    assert header[:3] == ["policy", "week", "waiting"]
    assert "median_wait_weeks_I0" in header
    assert len(rows) == 3 * 3
    assert {row[0] for row in rows} == {p.value for p in Policy}


def test_synthetic_network_is_calibrated_to_the_published_figures():
    reference = load_reference(Path(settings.FIXTURES_DIR))
    state = synthetic_state(reference, seed=1, start=date(2026, 11, 23), scale=0.05, calibrate_capacity=False)
    assert len(state.sites) == 47 and len(state.trusts) == 15 and len(state.icbs) == 6
    waits = state.waiting.days_waited
    assert (waits >= 42).mean() == pytest.approx(0.20, abs=0.015)  # 1 in 5 over 6 weeks
    assert len(state.waiting) == pytest.approx(125_700 * 0.05, rel=0.05)
    share = state.weekly_arrivals.sum(axis=1) / state.weekly_arrivals.sum()
    activity = [t.annual_activity for t in reference.trusts]
    assert share[1] == pytest.approx(activity[1] / sum(activity), rel=0.1)  # UHB, by its activity
    coventry_cdc = next(s for s in state.sites if s.code == "WMIN-CDC-COV")
    assert coventry_cdc.opens_on_day == 8  # planned to open 1 December 2026


def test_the_dm01_clock_restarts_where_the_trust_restarts_and_the_wait_since_referral_never_moves():
    restarting = simulate(two_trusts(), weeks=6, seed=1)
    state = two_trusts()
    keeping = simulate(dataclasses.replace(state, dm01_clock_restarts=(False, False)), weeks=6, seed=1)
    for restarted, kept in zip(restarting.policies, keeping.policies, strict=True):
        # Nothing a policy does reads the DM01 clock, so the wait since referral is the same ...
        assert [w.share_over_6_weeks for w in restarted.weeks] == [w.share_over_6_weeks for w in kept.weeks]
        # ... and with no restart (every exam here a DM01 test) the two clocks agree.
        assert [w.share_over_6_weeks_dm01 for w in kept.weeks] == [w.share_over_6_weeks for w in kept.weeks]
        assert restarted.summary.share_over_6_weeks_dm01 < kept.summary.share_over_6_weeks_dm01
        assert restarted.census.over_6_weeks_dm01 < restarted.census.over_6_weeks


def test_the_dm01_figures_count_only_referrals_for_a_dm01_test():
    state = dataclasses.replace(two_trusts(), modality_dm01_share=np.array([0.0]))
    outcome = simulate(state, weeks=2, seed=1, policies=[Policy.STATUS_QUO])
    assert {(w.dm01_waiting, w.share_over_6_weeks_dm01) for w in outcome.policies[0].weeks} == {(0, 0.0)}
    assert outcome.policies[0].weeks[-1].share_over_6_weeks > 0
    assert outcome.bound.dm01.must_be_cleared == outcome.bound.dm01.counted_at_start == 0


def _one_booking(assumptions: Assumptions, **state_changes) -> whatif_engine.PolicyRun:
    """A run whose first patient is booked on day 0 into site 0's slot on day 10."""
    state = dataclasses.replace(two_trusts(), **state_changes)
    population = whatif.population.draw_population(state, days=28, seed=1, assumptions=assumptions)
    geometry = whatif_engine.build_geometry(state, assumptions, 28)
    run = whatif_engine.PolicyRun(
        Policy.STATUS_QUO, state, population, geometry, assumptions, weeks=4, seed=1
    )
    run._admit(0, 1)
    run._book(0, 0, 10, day=0)
    return run


@pytest.mark.parametrize(
    ("state_changes", "restarts"),
    [
        ({}, True),
        ({"dm01_clock_restarts": (False, False)}, False),
        ({"modality_dm01_share": np.array([0.0])}, False),
    ],
)
def test_a_missed_appointment_restarts_the_dm01_clock_from_its_day_by_the_rule(state_changes, restarts):
    run = _one_booking(
        dataclasses.replace(Assumptions(), dna_rate=1.0, cancellation_rate=0.0), **state_changes
    )
    before = int(run.dm01_clock[0])
    run._appointments(10)
    assert run.state_of[0] == whatif_engine.WAITING
    assert int(run.dm01_clock[0]) == (10 if restarts else before)
    assert run.clock[0] == int(run.referral_clock[0]) == before


def test_a_patients_cancellation_restarts_the_dm01_clock_from_the_day_they_cancelled():
    always_cancel = dataclasses.replace(
        Assumptions(), cancellation_rate=1.0, cancellation_leaves_list=0.0, notice_mix=((3, 3, 1.0),)
    )
    run = _one_booking(always_cancel)
    before = int(run.dm01_clock[0])
    run._cancellations(7)  # 3 days' notice of day 10
    assert run.state_of[0] == whatif_engine.WAITING
    assert (int(run.dm01_clock[0]), run.clock[0]) == (7, before)


def test_the_core_imports_no_django():
    for path in CORE.glob("*.py"):
        if path.name == "from_database.py":
            continue
        tree = ast.parse(path.read_text())
        imported = [n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
        imported += [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
        assert not any(name.split(".")[0] == "django" for name in imported), path.name
        product = {name for name in imported if name.split(".")[0] in ("booking", "slots", "wmin")}
        # Only the product's pure parts: the rules and the allocation's min-cost flow.
        assert all(
            name.startswith("booking.rules.") or name == "booking.optimiser.allocate" for name in product
        ), path.name


def test_the_ring_fence_belongs_to_the_allocation_policy_only_and_wastes_no_slots():
    fenced = simulate(two_trusts(), weeks=6, seed=4)
    open_to_all = simulate(
        two_trusts(), weeks=6, seed=4, assumptions=dataclasses.replace(Assumptions(), ring_fence_share=0.0)
    )
    by_policy = {p.policy: p for p in fenced.policies}
    unfenced = {p.policy: p for p in open_to_all.policies}
    for policy in (Policy.STATUS_QUO, Policy.PATIENT_CHOICE):
        assert by_policy[policy].summary == unfenced[policy].summary
    allocation = Policy.CHOICE_ALLOCATION_BACKFILL
    assert by_policy[allocation].summary.utilisation >= unfenced[allocation].summary.utilisation - 0.01


def test_the_simulated_allocation_weighs_as_the_products_optimiser_does():
    from booking.optimiser.allocate import AllocationWeights

    product, simulated = AllocationWeights(), Assumptions()
    assert (simulated.allocation_travel_per_km, simulated.allocation_wait_per_day) == (
        product.travel_per_km,
        product.wait_per_day,
    )
    assert (simulated.allocation_book_by_days, simulated.allocation_overdue_per_day) == (
        product.book_by_days,
        product.overdue_per_day,
    )


def _policy_run(policy: Policy, weeks: int) -> whatif_engine.PolicyRun:
    state, assumptions = two_trusts(), Assumptions()
    days = weeks * 7
    population = whatif.population.draw_population(state, days=days, seed=1, assumptions=assumptions)
    geometry = whatif_engine.build_geometry(state, assumptions, days)
    return whatif_engine.PolicyRun(policy, state, population, geometry, assumptions, weeks=weeks, seed=1)


def test_the_refill_rate_counts_only_cancelled_slots_whose_day_came_within_the_run():
    run = _policy_run(Policy.PATIENT_CHOICE, weeks=4)
    outcome = run.run()
    settled = [day < run.days for day in run.cancel_slot_day]
    assert sum(w.cancellations for w in outcome.weeks) == sum(settled) < len(settled)
    assert sum(w.refilled for w in outcome.weeks) == sum(
        done for done, counted in zip(run.refilled, settled, strict=True) if counted
    )


def test_a_cancelled_slot_booked_while_ring_fenced_slots_wait_counts_as_refilled():
    run = _policy_run(Policy.CHOICE_ALLOCATION_BACKFILL, weeks=2)
    sm, day = 0, 20
    run.free[sm][day], run.reserve[sm][day] = 4, 3  # three ring-fenced and one cancelled, open
    run.refilled, run.cancel_week, run.cancel_slot_day = [False], [1], [day]
    run.pending_refill[sm * run.day_key + day] = [0]
    run._book(0, sm, day, day=1)
    assert run.refilled == [True] and run.reserve[sm][day] == 3


def test_the_census_breakdown_counts_each_patient_over_6_weeks_once():
    outcome = simulate(two_trusts(), weeks=8, seed=3)
    for policy in outcome.policies:
        c, last = policy.census, policy.weeks[-1]
        causes = (
            c.over_6_weeks_at_the_start
            + c.after_did_not_attend
            + c.after_cancelling
            + c.booked_for_6_weeks_or_more
            + c.not_booked
        )
        assert causes == c.over_6_weeks == sum(c.by_modality.values()) == sum(c.by_icb.values())
        assert (c.waiting, round(c.over_6_weeks / c.waiting, 4)) == (last.waiting, last.share_over_6_weeks)


def _bound_with_capacity(factor: float, **state_changes) -> whatif.bound.CensusBound:
    base = two_trusts()
    state = dataclasses.replace(base, weekly_capacity=base.weekly_capacity * factor, **state_changes)
    assumptions, days = Assumptions(), 8 * 7
    population = whatif.population.draw_population(state, days=days, seed=1, assumptions=assumptions)
    geometry = whatif_engine.build_geometry(state, assumptions, days)
    return whatif.bound.census_bound(state, population, geometry, assumptions, days)


def test_the_census_bound_is_everyone_without_slots_and_nobody_with_plenty():
    none, plenty, today = _bound_with_capacity(1e-9), _bound_with_capacity(10.0), _bound_with_capacity(1.0)
    for clock in ("referral", "dm01"):
        empty, ample, now = getattr(none, clock), getattr(plenty, clock), getattr(today, clock)
        assert empty.shortfall_within_tolerance == pytest.approx(empty.must_be_cleared, rel=0.02)
        assert empty.shortfall_anywhere == pytest.approx(empty.must_be_cleared, rel=0.02)
        assert ample.shortfall_within_tolerance == ample.shortfall_anywhere == 0 and not ample.saturated
        assert now.shortfall_anywhere <= now.shortfall_within_tolerance <= empty.shortfall_within_tolerance


def test_the_dm01_bound_is_the_referral_bound_without_restarts_and_lower_with_them():
    kept = _bound_with_capacity(0.7, dm01_clock_restarts=(False, False))
    restarted = _bound_with_capacity(0.7)
    assert kept.dm01.shortfall_within_tolerance == kept.referral.shortfall_within_tolerance > 0
    assert kept.dm01.share_within_tolerance == kept.referral.share_within_tolerance
    assert restarted.dm01.shortfall_within_tolerance < kept.dm01.shortfall_within_tolerance
    assert restarted.referral == kept.referral
    assert kept.dm01.saturated == restarted.dm01.saturated == [("S0", "MR"), ("S1", "MR"), ("S2", "MR")]
    # With a little more room, a booking clearing a patient is enough: nothing is saturated.
    assert _bound_with_capacity(0.8).dm01.saturated == []


def test_every_simulation_reports_both_bounds_and_the_capacity_advice():
    outcome = simulate(two_trusts(), weeks=4, seed=1)
    assert outcome.bound.referral.clock == "referral" and outcome.bound.dm01.clock == "dm01"
    assert (
        outcome.advice is not None
        and outcome.advice.share_now == outcome.bound.referral.share_within_tolerance
    )
    as_dict = outcome.as_dict()
    assert as_dict["advice"]["plan"] == [dataclasses.asdict(extra) for extra in outcome.advice.plan]


def test_a_dna_too_late_in_the_wait_to_be_booked_again_before_6_weeks_is_counted_as_such():
    run = _policy_run(Policy.PATIENT_CHOICE, weeks=8)
    run.uniform = lambda: 0.0  # every appointment is a DNA
    census = run.days - 1
    late, early = run.population.starting_list_size, run.population.starting_list_size + 1
    for p in (late, early):
        run.priority[p] = 3  # routine: needs min_notice_days to be booked again
    # Both referred 50 days before the census; `late` misses an appointment at 40 days' wait (a new
    # booking 1 + 3 days later falls at 44), `early` at 20 days' wait (room to spare).
    run.population.clock_start[[late, early]] = census - 50
    for p, wait in ((late, 40), (early, 20)):
        day = census - 50 + wait
        run.state_of[p], run.booked_day[p] = whatif_engine.BOOKED, day
        run.calendar[day] = [(whatif_engine.APPOINTMENT, p, run.booking_number[p])]
        run._appointments(day)
    assert run.first_rebookable_day[late] - (census - 50) == 44
    assert run.first_rebookable_day[early] - (census - 50) == 24
    census_breakdown = run._census_breakdown(census)
    assert census_breakdown.after_did_not_attend == 2
    assert census_breakdown.failed_too_late_to_rebook == 1
