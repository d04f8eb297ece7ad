"""How few patients any booking policy could leave waiting 6 weeks or more at the last census.

At the census (the end of the last simulated day) a patient counts if they are still on the list
and their clock started 6 weeks or more before. To count nobody, every patient whose clock started
by then must have been scanned, while urgent and suspected-cancer referrals made since (who are
never held back for routine ones) are scanned too, if referred a week or more before. Each slot gives at most one scan, fewer on
average: a DNA wastes the slot (dna_rate) and a cancellation on the day cannot be refilled
(cancellation_rate x the on-the-day share of notice_mix). A few of those patients cancel and
leave the list instead.

So a lower bound, in expectation, is the excess of those patients over the scans the slots of the
simulated days (day 0 included: the starting list is booked into it) could give them, computed
twice:
- per modality, as if every patient could go to any site in the network;
- with each patient's travel tolerance (sites within their nearest + tolerance_extra_km, and any
  of their own trust's sites for the starting list, which trusts booked on day 0): a max flow from
  patients to site-modality capacity.
It ignores timing within the run (a patient referred late may use any of its slots), so the true
minimum is higher still.
"""

from __future__ import annotations

import numpy as np
from ortools.graph.python.max_flow import SimpleMaxFlow

from .assumptions import FAST_PRIORITIES, Assumptions
from .engine import SIX_WEEKS_DAYS, Geometry
from .population import Population
from .results import CensusBound
from .state import NetworkState

# Urgent and suspected-cancer referrals are scanned within a week, before routine ones (the
# simulator books them first, at a day's notice): those referred a week or more before the census
# have used a slot by then.
URGENT_SCANNED_WITHIN_DAYS = 7


def census_bound(
    state: NetworkState, population: Population, geometry: Geometry, assumptions: Assumptions, days: int
) -> CensusBound:
    a, g = assumptions, geometry
    census = days - 1
    same_day, _ = a.short_notice_share()
    per_slot = 1.0 - a.dna_rate - a.cancellation_rate * same_day
    stays = 1.0 - a.bookings_per_referral * a.cancellation_rate * a.cancellation_leaves_list
    old = population.clock_start <= census - SIX_WEEKS_DAYS
    urgent_since = (
        ~old
        & (population.priority < FAST_PRIORITIES)
        & (population.clock_start <= census - URGENT_SCANNED_WITHIN_DAYS)
    )
    must = np.flatnonzero(old | urgent_since)
    scans = np.array([sum(row[: census + 1]) for row in g.daily_capacity], dtype=np.float64) * per_slot

    anywhere = {}
    for m, code in enumerate(state.modalities):
        need = float((population.modality[must] == m).sum()) * stays
        room = float(scans[np.asarray(g.sm_modality) == m].sum())
        anywhere[code] = max(round(need - room), 0)

    within, by_modality = _within_tolerance(state, population, g, a, must, scans, stays)
    return CensusBound(
        census_day=census,
        must_be_scanned=len(must),
        scans_per_slot=round(per_slot, 4),
        shortfall_by_modality=anywhere,
        shortfall_within_tolerance=within,
        shortfall_within_tolerance_by_modality=by_modality,
    )


def _within_tolerance(
    state: NetworkState,
    population: Population,
    g: Geometry,
    a: Assumptions,
    must: np.ndarray,
    scans: np.ndarray,
    stays: float,
) -> tuple[int, dict[str, int]]:
    """Max flow: groups of patients (home, modality, tolerance, own trust if on the starting list)
    to site-modality pairs they may use, each pair holding the scans its slots can give."""
    m_count = g.n_modalities
    own_trust = np.where(must < population.starting_list_size, population.trust[must], -1)
    groups, sizes = np.unique(
        np.column_stack(
            [population.outcode[must], population.modality[must], population.tolerance[must], own_trust]
        ),
        axis=0,
        return_counts=True,
    )
    flow = SimpleMaxFlow()
    source, sink, first_pair = 0, 1, 2
    first_group = first_pair + len(g.sm_site)
    supplies = []
    for k, ((outcode, modality, tolerance, trust), size) in enumerate(
        zip(groups.tolist(), sizes.tolist(), strict=True)
    ):
        need = round(size * stays)
        supplies.append((flow.add_arc_with_capacity(source, first_group + k, need), modality, need))
        cell = outcode * m_count + modality
        limit = g.nearest_km[cell] + a.tolerance_extra_km[tolerance] + 1e-9
        reach = {sm for km, sm in g.choice_candidates[cell] if km <= limit}
        if trust >= 0:
            reach |= set(g.trust_sms[trust * m_count + modality])
        for sm in sorted(reach):
            flow.add_arc_with_capacity(first_group + k, first_pair + sm, need)
    for sm, room in enumerate(scans.tolist()):
        flow.add_arc_with_capacity(first_pair + sm, sink, int(room))
    flow.solve(source, sink)
    short = np.zeros(m_count, dtype=np.int64)
    for arc, modality, need in supplies:
        short[modality] += need - flow.flow(arc)
    by_modality = {code: int(n) for code, n in zip(state.modalities, short, strict=True) if n}
    return int(short.sum()), by_modality
