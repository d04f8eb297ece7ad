from datetime import timedelta

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from booking.optimiser.backfill import BackfillCandidate
from booking.optimiser.chains import MOVE_COST_DAYS, ChainPatient, best_chain, chain_patients
from booking.optimiser.shortlist import SlotOption
from booking.optimiser.travel import TravelMode

from .factories import NOW

seeds = st.integers(min_value=0, max_value=2**32 - 1)


def random_chain_patients(rng: np.random.Generator, n_booked: int, n_waiting: int) -> list[ChainPatient]:
    """Booked patients hold slots 1..n_booked; the freed slot is 0. Gains are random and sparse."""
    slots = range(n_booked + 1)
    patients = []
    for i in range(n_booked + n_waiting):
        held = i + 1 if i < n_booked else None
        gains = {s: float(rng.uniform(0.1, 20)) for s in slots if s != held and rng.random() < 0.4}
        patients.append(ChainPatient(referral_id=100 + i, held_slot_id=held, gains=gains))
    return patients


def brute_force_best(freed: int, patients: list[ChainPatient], max_moves: int) -> float:
    by_holder = {p.held_slot_id: p for p in patients if p.held_slot_id is not None}

    def best_from(slot: int, moved: frozenset, moves_left: int) -> float:
        if moves_left == 0:
            return 0.0
        best = 0.0
        for p in patients:
            if p.referral_id in moved or slot not in p.gains or p.held_slot_id == slot:
                continue
            value = p.gains[slot] - MOVE_COST_DAYS
            if p.held_slot_id is not None and p.held_slot_id in by_holder:
                value += best_from(p.held_slot_id, moved | {p.referral_id}, moves_left - 1)
            best = max(best, value)
        return best

    return best_from(freed, frozenset(), max_moves)


@settings(max_examples=60, deadline=None)
@given(seed=seeds, n_booked=st.integers(0, 6), n_waiting=st.integers(0, 4), max_moves=st.integers(1, 4))
def test_chains_never_double_use_a_slot_or_a_patient_and_stay_short(seed, n_booked, n_waiting, max_moves):
    patients = random_chain_patients(np.random.default_rng(seed), n_booked, n_waiting)
    plan = best_chain(0, patients, max_moves=max_moves)

    taken = [m.to_slot_id for m in plan.moves]
    movers = [m.referral_id for m in plan.moves]
    assert len(set(taken)) == len(taken)
    assert len(set(movers)) == len(movers)
    assert len(plan.moves) <= max_moves
    if plan.moves:
        assert plan.moves[0].to_slot_id == 0
        for before, after in zip(plan.moves, plan.moves[1:], strict=False):
            assert after.to_slot_id == before.from_slot_id
    by_id = {p.referral_id: p for p in patients}
    assert all(m.to_slot_id in by_id[m.referral_id].gains for m in plan.moves)


@settings(max_examples=40, deadline=None)
@given(seed=seeds, n_booked=st.integers(0, 5), n_waiting=st.integers(0, 3), max_moves=st.integers(1, 4))
def test_the_chain_found_is_the_best_one(seed, n_booked, n_waiting, max_moves):
    patients = random_chain_patients(np.random.default_rng(seed), n_booked, n_waiting)
    plan = best_chain(0, patients, max_moves=max_moves)
    value = sum(m.weighted_days_gained - MOVE_COST_DAYS for m in plan.moves)
    assert value == pytest.approx(brute_force_best(0, patients, max_moves), abs=0.05)


def slot(slot_id: int, days_from_now: float) -> SlotOption:
    return SlotOption(
        slot_id, 1, "Russells Hall Hospital", False, NOW + timedelta(days=days_from_now), 52.50, -2.12
    )


def test_moving_a_booked_patient_earlier_frees_their_slot_for_a_waiting_one():
    freed, held = slot(1, days_from_now=2), slot(2, days_from_now=12)
    nearby = dict(
        lat=52.5, lon=-2.1, mode=TravelMode.CAR, max_travel_km=None, days_waited=40, priority_weight=1.0
    )
    booked = BackfillCandidate(
        referral_id=7,
        opted_in_short_notice=True,
        current_booking_starts_at=held.starts_at,
        min_notice_hours=2.0,
        **nearby,
    )
    # the waiting patient needs a week's notice, so only the later slot suits them
    waiting = BackfillCandidate(
        referral_id=99,
        opted_in_short_notice=False,
        current_booking_starts_at=None,
        min_notice_hours=24 * 7,
        **nearby,
    )

    plan = best_chain(
        freed.slot_id, chain_patients(freed, [(booked, held)], [waiting], NOW, unbooked_reference_days=42)
    )

    assert [(m.referral_id, m.from_slot_id, m.to_slot_id) for m in plan.moves] == [(7, 2, 1), (99, None, 2)]
    assert plan.slot_left_open is None
    assert "sooner" in plan.moves[0].reason


def test_no_one_to_move_gives_an_empty_plan():
    plan = best_chain(0, [])
    assert plan.moves == []
    assert plan.status == "optimal"
