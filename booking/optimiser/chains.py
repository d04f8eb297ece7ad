"""Chains of moves after a cancellation: A takes the freed slot, which frees A's later slot for B...

Backfill offers one slot to one patient. When booked patients could move earlier, filling the freed
slot with one of them frees *their* slot, which can go to someone else, and so on. The best chain
maximises the (urgency-weighted) days gained, each slot taken at most once, each patient moving at
most once, at most `max_moves` moves (each move is a phone call or a message to answer, so a chain
must also gain at least MOVE_COST_DAYS per move to be worth it). Instances are small (tens of
patients), so CP-SAT with a time limit solves them exactly in practice.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from ortools.sat.python import cp_model

from .backfill import BackfillCandidate, CandidateTable, fit_to_slot
from .shortlist import SlotOption

GAIN_SCALE = 100  # CP-SAT needs integers: hundredths of a weighted day
MOVE_COST_DAYS = 0.5


@dataclass(frozen=True)
class ChainPatient:
    """One patient who could take part: the slot they hold (None if waiting) and what each slot they
    could take is worth to them, in urgency-weighted days gained."""

    referral_id: int
    held_slot_id: int | None
    gains: Mapping[int, float]


@dataclass(frozen=True)
class ChainMove:
    step: int
    referral_id: int
    from_slot_id: int | None
    to_slot_id: int
    weighted_days_gained: float
    reason: str


@dataclass(frozen=True)
class ChainPlan:
    moves: list[ChainMove]
    total_weighted_days_gained: float
    status: str
    solve_seconds: float

    @property
    def slot_left_open(self) -> int | None:
        """The slot the chain frees at its end (offer it through ordinary backfill)."""
        return self.moves[-1].from_slot_id if self.moves else None


def best_chain(
    freed_slot_id: int,
    patients: Sequence[ChainPatient],
    *,
    max_moves: int = 4,
    time_limit_seconds: float = 2.0,
) -> ChainPlan:
    started = time.perf_counter()
    holder = {p.held_slot_id: p for p in patients if p.held_slot_id is not None}
    if freed_slot_id in holder:
        raise ValueError("the freed slot cannot also be held by a patient")
    slots = [freed_slot_id, *holder]

    model = cp_model.CpModel()
    position = {s: model.new_int_var(0, max_moves, f"position_{s}") for s in slots}
    model.add(position[freed_slot_id] == 0)
    takes: dict[tuple[int, int], cp_model.IntVar] = {}
    for patient in patients:
        for slot, gain in patient.gains.items():
            if slot in position and slot != patient.held_slot_id and gain > 0:
                takes[patient.referral_id, slot] = model.new_bool_var(f"take_{patient.referral_id}_{slot}")

    moves_of = {p.referral_id: [v for (r, _), v in takes.items() if r == p.referral_id] for p in patients}
    for patient in patients:
        model.add_at_most_one(moves_of[patient.referral_id])
    for slot in slots:
        takers = [v for (_, s), v in takes.items() if s == slot]
        if slot == freed_slot_id:
            model.add_at_most_one(takers)
        else:
            # a held slot is free only if its holder moves, and the chain reaches it one step later
            model.add(sum(takers) <= sum(moves_of[holder[slot].referral_id]))
    for (referral_id, slot), take in takes.items():
        held = next(p.held_slot_id for p in patients if p.referral_id == referral_id)
        if held is not None:
            model.add(position[held] == position[slot] + 1).only_enforce_if(take)
    model.add(sum(takes.values()) <= max_moves)

    gain_of = {(p.referral_id, s): g for p in patients for s, g in p.gains.items()}
    model.maximize(
        sum(round((gain_of[key] - MOVE_COST_DAYS) * GAIN_SCALE) * take for key, take in takes.items())
    )
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = time_limit_seconds
    solver.parameters.num_workers = 2
    status = solver.solve(model)
    status_name = solver.status_name(status).lower()
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return ChainPlan([], 0.0, status_name, time.perf_counter() - started)

    chosen = {slot: referral_id for (referral_id, slot), take in takes.items() if solver.value(take)}
    by_id = {p.referral_id: p for p in patients}
    moves, slot = [], freed_slot_id
    while slot in chosen:
        patient = by_id[chosen[slot]]
        gain = gain_of[patient.referral_id, slot]
        moves.append(
            ChainMove(
                len(moves) + 1,
                patient.referral_id,
                patient.held_slot_id,
                slot,
                gain,
                _reason(patient, slot, gain),
            )
        )
        if patient.held_slot_id is None:
            break
        slot = patient.held_slot_id
    total = sum(m.weighted_days_gained for m in moves)
    return ChainPlan(moves, total, status_name, time.perf_counter() - started)


def _reason(patient: ChainPatient, slot: int, gain: float) -> str:
    if patient.held_slot_id is None:
        return f"Waiting patient takes slot {slot} (worth {gain:.1f} weighted days)"
    return f"Moves from slot {patient.held_slot_id} to slot {slot}, {gain:.1f} weighted days sooner"


def chain_patients(
    freed: SlotOption,
    booked: Sequence[tuple[BackfillCandidate, SlotOption]],
    waiting: Sequence[BackfillCandidate],
    now: datetime,
    *,
    unbooked_reference_days: float,
) -> list[ChainPatient]:
    """Gains for every (patient, slot) pair the backfill rules allow, ready for `best_chain`.

    `booked` pairs each booked candidate (opted in to moving) with the slot they hold.
    """
    candidates = [c for c, _ in booked] + list(waiting)
    if not candidates:
        return []
    table = CandidateTable.from_candidates(candidates)
    gains: list[dict[int, float]] = [{} for _ in candidates]
    unbooked = np.isnan(table.current_booking_epoch)
    for slot in [freed, *(held for _, held in booked)]:
        fit = fit_to_slot(slot, table, now)
        # Days sooner than otherwise: a booked patient's otherwise is their booking; an unbooked
        # patient's is the end of the allocation horizon, by which the network plans to scan them.
        # So a chain moves a waiter to a later slot only when the mover it serves is more urgent.
        days_until = (slot.starts_at - now).total_seconds() / 86_400.0
        gained = np.where(unbooked, unbooked_reference_days - days_until, fit.days_gained)
        for row in np.flatnonzero(fit.eligible & (gained > 0)):
            gains[row][slot.slot_id] = float(fit.urgency[row] * gained[row])
    held_ids = [held.slot_id for _, held in booked] + [None] * len(waiting)
    return [
        ChainPatient(c.referral_id, held, gain)
        for c, held, gain in zip(candidates, held_ids, gains, strict=True)
    ]
