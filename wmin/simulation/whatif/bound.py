"""How few patients any booking policy could leave waiting 6 weeks or more at the last census, by
each clock: the wait since referral, and the DM01 clock over the tests DM01 counts.

At the census (the end of the last simulated day) a patient counts if they are still on the list
and their clock started 6 weeks or more before. Every patient whose wait since referral started by
then must be *cleared* before it (referrals made since need not be: any policy may hold them back,
urgent ones included; requiring urgent ones referred a week or more before the census to be scanned
made an earlier version of this bound exceed what the full policy achieved with no DNAs, since a
quarter of them were still waiting at the census):
- by the wait since referral, only a scan clears a patient. Each slot gives at most one scan, fewer
  on average: a DNA wastes the slot (dna_rate) and a cancellation on the day cannot be refilled
  (cancellation_rate x the on-the-day share of notice_mix); a few patients cancel and leave the
  list instead. So a patient needs stays / scans_per_slot slots, in expectation.
- by the DM01 clock (booking/rules/dm01.py), a patient of a trust that restarts clocks is cleared by
  *any* booking: a scan, a DNA or their own cancellation (the clock restarts). Only the on-the-day
  cancellations' slots are lost with it, the others are booked again: such a patient needs
  1 - cancellation_rate x (1 - on-the-day share) slots. A trust that does not restart counts as by
  the wait since referral. Only referrals for a DM01 test count, and only those whose DM01 clock
  (today's, from the database, may have restarted already) will be 6 weeks or more by the census.

A lower bound, in expectation, is those patients' need beyond what the slots of the simulated days
(day 0 included: the starting list is booked into it) can give, computed twice per clock:
- per modality, as if every patient could go to any site in the network;
- with each patient's travel tolerance (sites within their nearest + tolerance_extra_km, and any of
  their own trust's sites for the starting list, which trusts booked on day 0): a max flow from
  groups of patients to site-modality pairs, each holding its slots (`BoundFlow`). Its min cut names
  the saturated site-modalities: every slot there goes, and more would clear more patients
  (advice.py ranks extra lists by it).
It ignores timing within the run (a patient referred late may use any of its slots; a DNA's
restart may fall before the last 6 weeks; and it may hold back the referrals the census does not
count, keeping slots free for a late DNA's new booking, which no policy that books patients as they
are referred can), so the true minimum is higher still. Where a modality's new referrals need nearly
all its slots (`slots_needed_share`), its list cannot shrink and the gap is widest: patients are
booked at the far end of a queue several weeks long, and one who misses that appointment has no
room left before 6 weeks. Shares are of the
starting list (the calibrated list stays level), counted by the same clock.
"""

from __future__ import annotations

from enum import StrEnum

import numpy as np
from ortools.graph.python.max_flow import SimpleMaxFlow

from .assumptions import Assumptions
from .engine import SIX_WEEKS_DAYS, Geometry
from .population import Population
from .results import CensusBound, ClockBound
from .state import NetworkState

# Need and capacity in hundredths of a slot: a group of one patient rounds to within 1 %.
UNITS = 100


class Clock(StrEnum):
    REFERRAL = "referral"
    DM01 = "dm01"


class BoundFlow:
    """One clock's max flow: groups of patients (home, modality, tolerance, own trust if on the
    starting list, slots each needs) -> site-modality pairs they may use -> the sink, each pair's
    arc holding its slots. Raising a pair's slots (`set_extra_slots`) and solving again tells how
    many more patients extra capacity there would clear."""

    def __init__(
        self,
        state: NetworkState,
        population: Population,
        geometry: Geometry,
        assumptions: Assumptions,
        *,
        patients: np.ndarray,
        slots_each: np.ndarray,
        slots: np.ndarray,
    ) -> None:
        g, a = geometry, assumptions
        self.modalities = state.modalities
        self.slots = slots.astype(np.float64)
        m_count = g.n_modalities
        own_trust = np.where(patients < population.starting_list_size, population.trust[patients], -1)
        kinds, kind_of = np.unique(np.round(slots_each * UNITS).astype(np.int64), return_inverse=True)
        groups, sizes = np.unique(
            np.column_stack(
                [
                    population.outcode[patients],
                    population.modality[patients],
                    population.tolerance[patients],
                    own_trust,
                    kind_of.reshape(-1),
                ]
            ),
            axis=0,
            return_counts=True,
        )
        self.flow = SimpleMaxFlow()
        self.source, self.sink, self.first_pair = 0, 1, 2
        first_group = self.first_pair + len(g.sm_site)
        self.supplies: list[tuple[int, int, int, int]] = []  # (arc, modality, need, units each)
        for k, ((outcode, modality, tolerance, trust, kind), size) in enumerate(
            zip(groups.tolist(), sizes.tolist(), strict=True)
        ):
            each = int(kinds[kind])
            need = size * each
            self.supplies.append(
                (self.flow.add_arc_with_capacity(self.source, first_group + k, need), modality, need, each)
            )
            cell = outcode * m_count + modality
            limit = g.nearest_km[cell] + a.tolerance_extra_km[tolerance] + 1e-9
            reach = {sm for km, sm in g.choice_candidates[cell] if km <= limit}
            if trust >= 0:
                reach |= set(g.trust_sms[trust * m_count + modality])
            for sm in sorted(reach):
                self.flow.add_arc_with_capacity(first_group + k, self.first_pair + sm, need)
        self.pair_arcs = [
            self.flow.add_arc_with_capacity(self.first_pair + sm, self.sink, round(room * UNITS))
            for sm, room in enumerate(self.slots.tolist())
        ]
        self.pair_modality = np.asarray(g.sm_modality, dtype=np.int64)
        self.patients = len(patients)
        self.need_by_modality = np.bincount(
            population.modality[patients], weights=slots_each, minlength=m_count
        ).astype(np.float64)
        self.patients_by_modality = np.bincount(population.modality[patients], minlength=m_count)

    def set_extra_slots(self, sm: int, extra: float) -> None:
        self.flow.set_arc_capacity(self.pair_arcs[sm], round((self.slots[sm] + extra) * UNITS))

    def solve(self) -> float:
        """Solve; returns how many patients (in expectation) cannot be cleared within tolerance."""
        status = self.flow.solve(self.source, self.sink)
        if status != self.flow.OPTIMAL:
            raise RuntimeError(f"the bound's max flow did not solve: status {status}")
        return float(self.shortfall_by_modality_index().sum())

    def shortfall_by_modality_index(self) -> np.ndarray:
        short = np.zeros(len(self.modalities))
        for arc, modality, need, each in self.supplies:
            short[modality] += (need - self.flow.flow(arc)) / each
        return short

    def saturated_pairs(self) -> list[int]:
        """Site-modality pairs on the source side of the min cut: their slots are all used, and
        patients who miss out could use more there."""
        side = set(self.flow.get_source_side_min_cut())
        return [sm for sm in range(len(self.pair_arcs)) if self.first_pair + sm in side]

    def shortfall_anywhere(self) -> dict[str, int]:
        """Per modality, as if every patient could go to any site: need beyond all its slots."""
        room = np.bincount(self.pair_modality, weights=self.slots, minlength=len(self.modalities))
        short_slots = np.maximum(self.need_by_modality - room, 0.0)
        per_patient = np.divide(
            self.need_by_modality,
            self.patients_by_modality,
            out=np.ones_like(self.need_by_modality),
            where=self.patients_by_modality > 0,
        )
        return {code: round(n) for code, n in zip(self.modalities, short_slots / per_patient, strict=True)}


class BoundProblem:
    """Both clocks' flows for one run, and what the shares are of."""

    def __init__(
        self,
        state: NetworkState,
        population: Population,
        geometry: Geometry,
        assumptions: Assumptions,
        days: int,
    ) -> None:
        a, g = assumptions, geometry
        self.state, self.geometry = state, geometry
        self.census = days - 1
        same_day, _ = a.short_notice_share()
        self.scans_per_slot = 1.0 - a.dna_rate - a.cancellation_rate * same_day
        stays = 1.0 - a.bookings_per_referral * a.cancellation_rate * a.cancellation_leaves_list
        by_scan = stays / self.scans_per_slot
        by_any_booking = 1.0 - a.cancellation_rate * (1.0 - same_day)

        old = population.clock_start <= self.census - SIX_WEEKS_DAYS
        must = np.flatnonzero(old)
        must_dm01 = np.flatnonzero(
            (population.dm01_clock_start <= self.census - SIX_WEEKS_DAYS) & population.dm01_test
        )
        restarts = np.asarray(state.dm01_clock_restarts, dtype=bool)[population.trust[must_dm01]]
        slots = np.array([sum(row[: self.census + 1]) for row in g.daily_capacity], dtype=np.float64)
        common = {"state": state, "population": population, "geometry": g, "assumptions": a, "slots": slots}
        self.flows = {
            Clock.REFERRAL: BoundFlow(**common, patients=must, slots_each=np.full(len(must), by_scan)),
            Clock.DM01: BoundFlow(
                **common, patients=must_dm01, slots_each=np.where(restarts, by_any_booking, by_scan)
            ),
        }
        weekly_need = state.weekly_arrivals.sum(axis=0) * by_scan
        weekly_slots = state.weekly_capacity.sum(axis=0)
        self.slots_needed_share = {
            code: round(float(need / slots), 4)
            for code, need, slots in zip(state.modalities, weekly_need, weekly_slots, strict=True)
            if slots > 0
        }
        starting = population.starting_list_size
        self.counted_at_start = {
            Clock.REFERRAL: starting,
            Clock.DM01: int(population.dm01_test[:starting].sum()),
        }

    def share(self, clock: Clock, shortfall: float) -> float:
        counted = self.counted_at_start[clock]
        return shortfall / counted if counted else 0.0

    def clock_bound(self, clock: Clock) -> ClockBound:
        flow = self.flows[clock]
        short = flow.solve()
        by_modality = flow.shortfall_by_modality_index()
        sites, modalities = self.state.sites, self.state.modalities
        g = self.geometry
        return ClockBound(
            clock=clock.value,
            counted_at_start=self.counted_at_start[clock],
            must_be_cleared=flow.patients,
            shortfall_within_tolerance=round(short),
            share_within_tolerance=round(self.share(clock, short), 4),
            shortfall_within_tolerance_by_modality={
                code: round(n) for code, n in zip(modalities, by_modality, strict=True) if round(n)
            },
            shortfall_by_modality=flow.shortfall_anywhere(),
            saturated=[
                (sites[g.sm_site[sm]].code, modalities[g.sm_modality[sm]]) for sm in flow.saturated_pairs()
            ],
        )

    def census_bound(self) -> CensusBound:
        return CensusBound(
            census_day=self.census,
            scans_per_slot=round(self.scans_per_slot, 4),
            referral=self.clock_bound(Clock.REFERRAL),
            dm01=self.clock_bound(Clock.DM01),
            slots_needed_share=dict(self.slots_needed_share),
        )


def census_bound(
    state: NetworkState, population: Population, geometry: Geometry, assumptions: Assumptions, days: int
) -> CensusBound:
    return BoundProblem(state, population, geometry, assumptions, days).census_bound()
