"""Capacity advice: which extra lists bring the most patients under 6 weeks, and the fewest extra
lists a week that bring the capacity bound (bound.py) below 1 % on the wait since referral.

An extra list is one more list a week on one scanner: a site, a modality and a weekday, as long
as the scanner's usual day there (the site's opening hours over the modality's mean exam time,
NetworkState.list_slots), running every week from the first day it could be booked (the minimum
notice) to the census, every slot of it for the waiting list. Each weekday takes at most one
extra list per scanner. The days a site is closed come first (weekends at most hospitals: its
scanners stand idle), then the weekdays a list would run most often before the census.

The method: greedy with re-solve. Each step adds the one list whose pair's extra slots clear the
most patients when the bound's max flow is solved again, until the bound is below the target. It
rests on one property: the max flow's value, as a function of the site-modality pairs' slots, is
the rank function of a polymatroid (patients -> pairs is a bipartite transport), so it is
submodular: a list never clears more once others are added. Hence
- only pairs on the source side of the min cut (saturated, with patients left over who could use
  them) can ever help, and the bound cannot tell two weekdays of one pair apart (it ignores timing
  within the run), so the candidates are those pairs, each on its first free weekday;
- lazy evaluation (re-solve only the candidate whose last known gain is highest) picks exactly
  what re-solving every candidate at every step would;
- no plan of fewer lists can reach the target than the fewest whose gains *alone* add up to the
  reduction needed: each list clears at most what it clears alone. When the greedy plan is that
  size, it is the fewest; otherwise the gap is stated. (Greedy for submodular cover is within a
  factor 1 + ln(largest single gain) of the fewest, Wolsey 1982.)
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass

from .assumptions import Assumptions
from .bound import BoundProblem, Clock
from .results import CapacityAdvice, ExtraList
from .state import NetworkState

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
TARGET_SHARE = 0.01
MAX_LISTS = 250  # a safety stop: far more than any advice a manager could act on
METHOD = (
    "Greedy with re-solve: each step adds the one extra list that lets the capacity bound's max flow "
    "clear the most patients, until the bound is below the target. The bound's value is submodular in "
    "the sites' slots, so a list never clears more once others are added: only site-modalities in the "
    "max flow's min cut (every slot used) can help, re-solving just the best candidate gives the same "
    "choice as re-solving them all, and no plan with fewer lists than the fewest whose gains alone add up "
    "to the reduction needed can reach the target."
)


@dataclass
class _Pair:
    """One saturated site-modality pair as a source of extra lists."""

    sm: int
    slots_per_list: int
    weekdays: list[int]  # in the order lists are added
    per_weekday: int  # lists a weekday can take: one per scanner
    occurrences: dict[int, int]  # weekday -> lists by the census
    added: int = 0  # lists a week added so far
    extra_slots: float = 0.0

    def next_weekday(self) -> int | None:
        index = self.added // self.per_weekday
        return self.weekdays[index] if index < len(self.weekdays) else None


def capacity_advice(
    problem: BoundProblem,
    state: NetworkState,
    assumptions: Assumptions,
    *,
    target_share: float = TARGET_SHARE,
) -> CapacityAdvice:
    flow = problem.flows[Clock.REFERRAL]
    counted = problem.counted_at_start[Clock.REFERRAL]
    limit = target_share * counted  # the bound must end below this many patients
    now = flow.solve()
    pairs = [_pair(problem, state, assumptions, sm) for sm in flow.saturated_pairs()]
    pairs = [pair for pair in pairs if pair.next_weekday() is not None]

    def gain_of_next(pair: _Pair, base: float) -> float:
        weekday = pair.next_weekday()
        assert weekday is not None
        flow.set_extra_slots(pair.sm, pair.extra_slots + pair.slots_per_list * pair.occurrences[weekday])
        gain = base - flow.solve()
        flow.set_extra_slots(pair.sm, pair.extra_slots)
        return gain

    alone = {pair.sm: gain_of_next(pair, now) for pair in pairs}
    ranking = [
        _extra_list(problem, state, pair, pair.weekdays[0], alone[pair.sm])
        for pair in sorted(pairs, key=lambda p: (-alone[p.sm], p.sm))
        if alone[pair.sm] >= 0.5
    ]
    fewest = _fewest_possible(pairs, alone, now - limit)

    shortfall, plan, step = now, [], 0
    by_sm = {pair.sm: pair for pair in pairs}
    # Lazy greedy: (-last known gain, sm, step it was computed at).
    queue = [(-alone[sm], sm, 0) for sm in by_sm if alone[sm] > 0]
    heapq.heapify(queue)
    while shortfall >= limit and queue and len(plan) < MAX_LISTS:
        negative_gain, sm, computed_at = heapq.heappop(queue)
        pair = by_sm[sm]
        if computed_at != step:
            gain = gain_of_next(pair, shortfall)
            if gain > 1e-9:
                heapq.heappush(queue, (-gain, sm, step))
            continue
        weekday = pair.next_weekday()
        assert weekday is not None
        pair.extra_slots += pair.slots_per_list * pair.occurrences[weekday]
        pair.added += 1
        flow.set_extra_slots(sm, pair.extra_slots)
        shortfall = flow.solve()
        plan.append(_extra_list(problem, state, pair, weekday, -negative_gain))
        step += 1
        following = pair.next_weekday()
        if following is not None:  # stale: re-solved when it comes up; never more than this
            bound = negative_gain * pair.occurrences[following] / pair.occurrences[weekday]
            heapq.heappush(queue, (bound, sm, step - 1))

    dm01 = problem.flows[Clock.DM01]
    for pair in pairs:
        dm01.set_extra_slots(pair.sm, pair.extra_slots)
    dm01_shortfall = dm01.solve()
    for pair in pairs:  # leave both flows as they were
        flow.set_extra_slots(pair.sm, 0.0)
        dm01.set_extra_slots(pair.sm, 0.0)
    return CapacityAdvice(
        clock=Clock.REFERRAL.value,
        target_share=target_share,
        counted_at_start=counted,
        shortfall_now=round(now),
        share_now=round(problem.share(Clock.REFERRAL, now), 4),
        ranking=ranking,
        plan=plan,
        shortfall_after=round(shortfall),
        share_after=round(problem.share(Clock.REFERRAL, shortfall), 4),
        reached=shortfall < limit,
        fewest_possible=fewest,
        dm01_shortfall_after=round(dm01_shortfall),
        dm01_share_after=round(problem.share(Clock.DM01, dm01_shortfall), 4),
        method=METHOD,
    )


def _pair(problem: BoundProblem, state: NetworkState, assumptions: Assumptions, sm: int) -> _Pair:
    g = problem.geometry
    site_index, modality = g.sm_site[sm], g.sm_modality[sm]
    site = state.sites[site_index]
    scanners = max(round(float(state.scanners[site_index, modality])), 1)
    per_list = float(state.list_slots[site_index, modality])
    first_day = max(assumptions.min_notice_days, site.opens_on_day)
    start_weekday = state.start.weekday()
    occurrences = dict.fromkeys(range(7), 0)
    for day in range(first_day, problem.census + 1):
        occurrences[(start_weekday + day) % 7] += 1
    closed = set() if site.open_weekends else {5, 6}
    weekdays = sorted(
        (day for day in range(7) if occurrences[day]),
        key=lambda day: (day not in closed, -occurrences[day], day),
    )
    return _Pair(sm, max(round(per_list), 1), weekdays, scanners, occurrences)


def _extra_list(
    problem: BoundProblem, state: NetworkState, pair: _Pair, weekday: int, patients: float
) -> ExtraList:
    g = problem.geometry
    site = state.sites[g.sm_site[pair.sm]]
    return ExtraList(
        site=site.code,
        site_name=site.name,
        trust=state.trusts[site.trust],
        modality=state.modalities[g.sm_modality[pair.sm]],
        weekday=weekday,
        weekday_name=WEEKDAYS[weekday],
        slots=pair.slots_per_list,
        lists_by_census=pair.occurrences[weekday],
        patients=round(patients),
        latitude=site.latitude,
        longitude=site.longitude,
    )


def _fewest_possible(pairs: list[_Pair], alone: dict[int, float], needed: float) -> int:
    """The fewest lists whose gains alone could add up to more than `needed` (each pair's every
    list counted at its first one's gain, the most any of them can add)."""
    if needed < 0:
        return 0
    copies = sorted(
        (
            # A pair's gain is concave in its slots and nothing without them, so a list that runs
            # more often clears at most proportionally more than the first one did alone.
            alone[pair.sm] * pair.occurrences[weekday] / pair.occurrences[pair.weekdays[0]]
            for pair in pairs
            for weekday in pair.weekdays
            for _ in range(pair.per_weekday)
        ),
        reverse=True,
    )
    total = 0.0
    for count, gain in enumerate(copies, start=1):
        total += gain
        if total > needed:
            return count
    return len(copies) + 1
