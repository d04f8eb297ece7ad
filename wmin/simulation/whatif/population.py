"""Every patient the simulation will see: the starting waiting list and each day's new referrals.

Drawn once per seed and shared by every policy (common random numbers), so policies differ only in
what they do, not in who turns up.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from .assumptions import Assumptions
from .state import IntArray, NetworkState


@dataclass(frozen=True)
class Population:
    trust: IntArray
    modality: IntArray
    outcode: IntArray
    priority: IntArray
    clock_start: IntArray  # simulation day the waiting-list clock started (negative: before day 0)
    dm01_clock_start: IntArray  # day the DM01 clock last started: clock_start or a later restart
    arrival_day: IntArray  # day the patient joins the simulation (0 for the starting list)
    tolerance: IntArray  # index into Assumptions.tolerance_extra_km
    opted_in: npt.NDArray[np.bool_]  # will take a slot at short notice
    dm01_test: npt.NDArray[np.bool_]  # the exam is one DM01 counts (the rest have no DM01 clock)
    day_start: IntArray  # patients joining on day d are [day_start[d], day_start[d + 1])
    starting_list_size: int  # the first patients are the starting waiting list, oldest first

    def __len__(self) -> int:
        return len(self.trust)


def draw_population(state: NetworkState, *, days: int, seed: int, assumptions: Assumptions) -> Population:
    rng = np.random.default_rng([seed, 21])
    waiting = state.waiting
    order = np.lexsort((np.arange(len(waiting)), -waiting.days_waited))  # oldest first
    columns = {
        "trust": [waiting.trust[order]],
        "modality": [waiting.modality[order]],
        "outcode": [waiting.outcode[order]],
        "priority": [waiting.priority[order]],
        "clock_start": [-waiting.days_waited[order]],
        "arrival_day": [np.zeros(len(waiting), dtype=np.int64)],
    }
    daily = state.weekly_arrivals / 7.0
    counts = rng.poisson(np.broadcast_to(daily, (days, *daily.shape)))  # day x trust x modality
    n_trusts, n_modalities = daily.shape
    trust_of_cell = np.repeat(np.arange(n_trusts), n_modalities)
    modality_of_cell = np.tile(np.arange(n_modalities), n_trusts)
    for day in range(days):
        per_cell = counts[day].reshape(-1)
        total = int(per_cell.sum())
        trust = np.repeat(trust_of_cell, per_cell)
        columns["trust"].append(trust)
        columns["modality"].append(np.repeat(modality_of_cell, per_cell))
        columns["priority"].append(
            rng.choice(len(assumptions.priority_mix), size=total, p=assumptions.priority_mix)
        )
        columns["clock_start"].append(np.full(total, day, dtype=np.int64))
        columns["arrival_day"].append(np.full(total, day, dtype=np.int64))
        outcode = np.zeros(total, dtype=np.int64)
        for t in np.unique(trust):
            mine = trust == t
            outcode[mine] = rng.choice(len(state.outcodes), size=int(mine.sum()), p=state.home_weights[t])
        columns["outcode"].append(outcode)
    arrays = {name: np.concatenate(parts).astype(np.int64) for name, parts in columns.items()}
    size = len(arrays["trust"])
    tolerance = rng.choice(len(assumptions.tolerance_extra_km), size=size, p=assumptions.tolerance_mix)
    opted_in = rng.random(size) < assumptions.short_notice_opt_in
    # Its own stream, so that drawing it changed none of the draws above.
    dm01_test = np.random.default_rng([seed, 22]).random(size) < state.modality_dm01_share[arrays["modality"]]
    if waiting.dm01_test is not None:  # known for the starting list
        dm01_test[: len(waiting)] = waiting.dm01_test[order]
    dm01_clock_start = arrays["clock_start"].copy()
    if waiting.dm01_days_waited is not None:  # today's DM01 clocks, never earlier than the referral
        dm01_clock_start[: len(waiting)] = np.maximum(
            -waiting.dm01_days_waited[order], dm01_clock_start[: len(waiting)]
        )
    day_start = np.searchsorted(arrays["arrival_day"], np.arange(days + 1), side="left")
    return Population(
        trust=arrays["trust"],
        modality=arrays["modality"],
        outcode=arrays["outcode"],
        priority=arrays["priority"],
        clock_start=arrays["clock_start"],
        dm01_clock_start=dm01_clock_start,
        arrival_day=arrays["arrival_day"],
        tolerance=tolerance.astype(np.int64),
        opted_in=opted_in,
        dm01_test=dm01_test,
        day_start=day_start.astype(np.int64),
        starting_list_size=len(waiting),
    )
