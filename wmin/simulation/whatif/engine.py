"""The discrete-event simulation: one day at a time, events on a calendar of days.

Each day, in order:
1. new referrals join the list (the starting list on day 0, booked first the way trusts do today);
2. the day's cancellations free their slots (refilled at once if the policy can at short notice);
3. the booking round: waiting patients, urgent first then longest waiting, are booked by the policy
   into released slots (up to Assumptions.horizon_days ahead, with at least the minimum notice;
   under network allocation a share of slots is ring-fenced for patients at risk of 6 weeks);
4. the day's appointments happen: a scan, or a DNA (the slot is lost and the patient rebooked);
5. at the end of each week the waiting list is measured, by both clocks.
Every patient has two clocks: the wait since referral, which never moves and by which every policy
puts the longest waiters first (as the product's optimiser does), and the DM01 clock, which restarts
by booking/rules/dm01.py when the patient cancels or does not attend at a trust that restarts
clocks. The simulator's cancellations are all the patient's: it does not model hospital ones.
Every booking draws at once whether it will be cancelled and at what notice; stale events (the
patient has since been moved) are ignored by a per-patient booking number.

Plain Python and numpy; the network allocation comes from booking/optimiser/allocate.py (pure too).
"""

from __future__ import annotations

import heapq
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from booking.rules.dm01 import ClockEvent, restarted_dm01_clock
from booking.rules.waits import SIX_WEEKS_DAYS

from .assumptions import FAST_PRIORITIES, Assumptions
from .geography import road_km
from .policies import Policy
from .population import Population
from .results import CensusBreakdown, PolicyOutcome, WeekOutcome, summarise
from .state import NetworkState

try:  # the optimiser's min-cost flow (another module of the product)
    from booking.optimiser.allocate import NO_LATEST_DAY, AllocationProblem, AllocationWeights, allocate
except ImportError:  # pragma: no cover - only while that module is missing
    allocate = None

NOT_ARRIVED, WAITING, BOOKED, SCANNED, LEFT = -1, 0, 1, 2, 3
CANCEL, APPOINTMENT = 0, 1
REBOOKED_AFTER_DNA, REBOOKED_AFTER_CANCELLING = 1, 2
MIN_COST_FLOW = "min-cost flow (booking/optimiser/allocate.py)"
GREEDY_STAND_IN = "greedy stand-in (booking/optimiser/allocate.py not importable)"
Progress = Callable[[float], None]


@dataclass(frozen=True)
class Geometry:
    """What never changes during a run: site-modality pairs, distances, nearest sites, capacity."""

    n_modalities: int
    sm_site: list[int]
    sm_modality: list[int]
    sm_trust: list[int]
    site_lat: list[float]
    site_lon: list[float]
    outcode_site_km: list[list[float]]  # [outcode][site]
    nearest_km: list[float]  # [outcode * M + modality]: nearest site open at the start
    choice_candidates: list[list[tuple[float, int]]]  # [outcode * M + modality]: (km, sm) by km
    trust_sms: list[list[int]]  # [trust * M + modality]
    sm_nearby_outcodes: list[list[tuple[int, float]]]  # [sm]: (outcode, km) that may reach it, by km
    daily_capacity: list[list[int]]  # [sm][day]


def build_geometry(state: NetworkState, assumptions: Assumptions, days: int) -> Geometry:
    n_modalities = len(state.modalities)
    pairs = [
        (s, m)
        for s in range(len(state.sites))
        for m in range(n_modalities)
        if state.weekly_capacity[s, m] > 0
    ]
    sm_site = [s for s, _ in pairs]
    sm_modality = [m for _, m in pairs]
    sites = state.sites
    site_lat = np.array([s.latitude for s in sites])
    site_lon = np.array([s.longitude for s in sites])
    km = road_km(state.outcode_lat[:, None], state.outcode_lon[:, None], site_lat[None, :], site_lon[None, :])
    n_outcodes = len(state.outcodes)
    max_extra = max(assumptions.tolerance_extra_km)
    nearest = [0.0] * (n_outcodes * n_modalities)
    candidates: list[list[tuple[float, int]]] = [[] for _ in range(n_outcodes * n_modalities)]
    nearby: list[list[tuple[int, float]]] = [[] for _ in pairs]
    for m in range(n_modalities):
        sms = [i for i, (_, mm) in enumerate(pairs) if mm == m]
        open_sms = [i for i in sms if sites[sm_site[i]].opens_on_day == 0] or sms
        if not sms:
            continue
        for o in range(n_outcodes):
            row = km[o]
            near = min(row[sm_site[i]] for i in open_sms)
            nearest[o * n_modalities + m] = float(near)
            reach = sorted(
                (float(row[sm_site[i]]), i) for i in sms if row[sm_site[i]] <= near + max_extra + 1e-9
            )
            candidates[o * n_modalities + m] = reach
            for distance, i in reach:
                nearby[i].append((o, distance))
    for i in range(len(pairs)):
        nearby[i].sort(key=lambda item: item[1])
    trust_sms: list[list[int]] = [[] for _ in range(len(state.trusts) * n_modalities)]
    for i, (s, m) in enumerate(pairs):
        trust_sms[sites[s].trust * n_modalities + m].append(i)
    return Geometry(
        n_modalities=n_modalities,
        sm_site=sm_site,
        sm_modality=sm_modality,
        sm_trust=[sites[s].trust for s in sm_site],
        site_lat=site_lat.tolist(),
        site_lon=site_lon.tolist(),
        outcode_site_km=km.tolist(),
        nearest_km=nearest,
        choice_candidates=candidates,
        trust_sms=trust_sms,
        sm_nearby_outcodes=nearby,
        daily_capacity=[_daily_slots(state, s, m, days + assumptions.horizon_days + 2) for s, m in pairs],
    )


def _daily_slots(state: NetworkState, site_index: int, modality: int, days: int) -> list[int]:
    """Whole slots per day from a weekly figure, spread over the days the site opens, carrying the
    fractions forward so the weekly total holds."""
    site = state.sites[site_index]
    open_days = 7 if site.open_weekends else 5
    per_day = state.weekly_capacity[site_index, modality] / open_days
    first_weekday = state.start.weekday()
    slots, carried = [], 0.5
    for day in range(days):
        if day < site.opens_on_day or (not site.open_weekends and (first_weekday + day) % 7 >= 5):
            slots.append(0)
            continue
        carried += per_day
        whole = int(carried)
        carried -= whole
        slots.append(whole)
    return slots


class _Uniforms:
    """Uniform draws in blocks: much faster than one numpy call per draw, and as reproducible."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng
        self.block: list[float] = []
        self.position = 0

    def __call__(self) -> float:
        if self.position >= len(self.block):
            self.block = self.rng.random(65536).tolist()
            self.position = 0
        value = self.block[self.position]
        self.position += 1
        return value


class PolicyRun:
    """One policy over the whole horizon. `run()` returns its weekly outcomes."""

    def __init__(
        self,
        policy: Policy,
        state: NetworkState,
        population: Population,
        geometry: Geometry,
        assumptions: Assumptions,
        *,
        weeks: int,
        seed: int,
        progress: Progress | None = None,
    ) -> None:
        self.policy, self.state, self.population, self.g, self.a = (
            policy,
            state,
            population,
            geometry,
            assumptions,
        )
        self.weeks, self.days = weeks, weeks * 7
        self.progress = progress
        self.uniform = _Uniforms(np.random.default_rng([seed, 31]))
        self.allocator = (
            ""
            if policy != Policy.CHOICE_ALLOCATION_BACKFILL
            else (MIN_COST_FLOW if allocate else GREEDY_STAND_IN)
        )
        n = len(population)
        self.trust = population.trust.tolist()
        self.modality = population.modality.tolist()
        self.outcode = population.outcode.tolist()
        self.priority = population.priority.tolist()
        self.clock = population.clock_start.tolist()  # the wait since referral: never moves
        self.referral_clock = population.clock_start
        self.dm01_clock = population.dm01_clock_start.copy()  # restarts by the DM01 rule
        self.counts_for_dm01 = population.dm01_test.tolist()
        self.counted_in_dm01 = population.dm01_test
        self.trust_restarts = state.dm01_clock_restarts
        self.extra = [assumptions.tolerance_extra_km[i] for i in population.tolerance.tolist()]
        self.tolerance_index = population.tolerance.tolist()
        self.opted_in = population.opted_in.tolist()
        self.sort_key = [
            (pr << 42) | ((c + 10**6) << 21) | i
            for i, (pr, c) in enumerate(zip(self.priority, self.clock, strict=True))
        ]
        self.state_of = [NOT_ARRIVED] * n
        self.booked_sm = [-1] * n
        self.booked_day = [-1] * n
        self.booking_number = [0] * n
        self.rebooked_after = [0] * n  # bits: REBOOKED_AFTER_DNA, REBOOKED_AFTER_CANCELLING
        # the first day a patient could be booked again after their first DNA or cancellation
        self.first_rebookable_day = [-1] * n
        self.added_km = [0.0] * n  # of the patient's current booking
        self.free = [list(row) for row in geometry.daily_capacity]
        share = assumptions.ring_fence_share if policy == Policy.CHOICE_ALLOCATION_BACKFILL else 0.0
        # Ring-fenced slots per site-modality-day still unused (None: no ring fence).
        self.reserve = (
            [[int(c * share + 0.5) for c in row] for row in geometry.daily_capacity] if share > 0 else None
        )
        self.calendar: list[list[tuple[int, int, int]]] = [
            [] for _ in range(self.days + assumptions.horizon_days + 3)
        ]
        self.pending_refill: dict[int, list[int]] = {}  # sm * DAY_KEY + day -> cancellation ids
        self.refilled: list[bool] = []
        self.cancel_week: list[int] = []
        self.cancel_slot_day: list[int] = []
        self.waiting: list[int] = []  # patients waiting and unbooked, in no particular order
        self.pool_all: dict[int, deque[int]] = {}
        self.pool_opted_in: dict[int, deque[int]] = {}
        self.day_key = self.days + assumptions.horizon_days + 3
        self._reset_week()
        self.total_added_km = 0.0
        self.total_bookings = 0

    # ----------------------------------------------------------------------------------------
    def run(self) -> PolicyOutcome:
        started = time.perf_counter()
        outcomes = []
        for day in range(self.days):
            if day == 0:  # the starting list, booked as trusts book today, is week 0
                self._admit(0, self.population.starting_list_size)
                self._book_as_today(day, lower=0, counted=False)
                outcomes.append(self._measure(0, day))
                self._admit(self.population.starting_list_size, int(self.population.day_start[1]))
            else:
                self._admit(int(self.population.day_start[day]), int(self.population.day_start[day + 1]))
            self._cancellations(day)
            self._booking_round(day)
            self._appointments(day)
            if (day + 1) % 7 == 0:
                outcomes.append(self._measure((day + 1) // 7, day))
            if self.progress is not None:
                self.progress((day + 1) / self.days)
        outcomes = self._with_final_refills(outcomes)
        summary = summarise(outcomes, self.total_added_km, self.total_bookings)
        return PolicyOutcome(
            self.policy.value,
            self.policy.title,
            self.allocator,
            outcomes,
            summary,
            round(time.perf_counter() - started, 2),
            self._census_breakdown(self.days - 1),
        )

    def _with_final_refills(self, outcomes: list[WeekOutcome]) -> list[WeekOutcome]:
        """A slot cancelled in one week may be refilled in the next: count refills at the end, and
        only of slots whose day came within the run (whether a later one is refilled is not known
        yet; counting them as lost made a policy that books further ahead look worse)."""
        settled = np.asarray(self.cancel_slot_day, dtype=np.int64) < self.days
        weeks = np.asarray(self.cancel_week, dtype=np.int64)[settled]
        refilled = np.asarray(self.refilled, dtype=bool)[settled]
        cancelled = np.bincount(weeks, minlength=self.weeks + 2)
        refills = np.bincount(weeks[refilled], minlength=self.weeks + 2)
        return [
            replace(o, cancellations=int(cancelled[o.week]), refilled=int(refills[o.week])) for o in outcomes
        ]

    # ----------------------------------------------------------------------------------------
    def _reset_week(self) -> None:
        self.week_bookings = self.week_moved = self.week_scans = self.week_dna = 0
        self.week_added_km = 0.0
        self.week_used = 0

    def _admit(self, start: int, end: int) -> None:
        for p in range(start, end):
            self._join_list(p)

    def _join_list(self, p: int) -> None:
        self.state_of[p] = WAITING
        self.waiting.append(p)
        key = self.outcode[p] * self.g.n_modalities + self.modality[p]
        self.pool_all.setdefault(key, deque()).append(p)
        if self.opted_in[p]:
            self.pool_opted_in.setdefault(key, deque()).append(p)

    # ----------------------------------------------------------------------------------------
    def _book(
        self, p: int, sm: int, slot_day: int, day: int, *, refill: bool = False, counted: bool = True
    ) -> None:
        row = self.free[sm]
        key = sm * self.day_key + slot_day
        pending = self.pending_refill.get(key)
        # A cancelled slot is open, never ring-fenced: it is taken once the open room left is no
        # more than the cancellations (counting the cancelled slots as the last to go).
        reserved = self.reserve[sm] if self.reserve is not None else None
        open_room = row[slot_day] - (reserved[slot_day] if reserved is not None else 0)
        if pending and (refill or open_room <= len(pending)):
            self.refilled[pending.pop()] = True
            if not pending:
                del self.pending_refill[key]
        if reserved is not None and 0 < reserved[slot_day] >= row[slot_day]:
            reserved[slot_day] -= 1  # no open slot was left: this booking takes a ring-fenced one
        row[slot_day] -= 1
        self.state_of[p] = BOOKED
        self.booked_sm[p], self.booked_day[p] = sm, slot_day
        self.booking_number[p] += 1
        number = self.booking_number[p]
        g = self.g
        if counted:
            m, o = self.modality[p], self.outcode[p]
            added = g.outcode_site_km[o][g.sm_site[sm]] - g.nearest_km[o * g.n_modalities + m]
            added = added if added > 0 else 0.0
            self.added_km[p] = added
            self.week_bookings += 1
            self.week_added_km += added
            self.total_added_km += added
            self.total_bookings += 1
            if g.sm_trust[sm] != self.trust[p]:
                self.week_moved += 1
        uniform = self.uniform
        if uniform() < self.a.cancellation_rate:
            notice = self._notice()
            cancel_day = max(day + 1, slot_day - notice)
            self.calendar[min(cancel_day, slot_day)].append((CANCEL, p, number))
        else:
            self.calendar[slot_day].append((APPOINTMENT, p, number))

    def _notice(self) -> int:
        u = self.uniform()
        for low, high, weight in self.a.notice_mix:
            if u < weight:
                return low + int(self.uniform() * (high - low + 1))
            u -= weight
        return self.a.notice_mix[-1][1]

    # ----------------------------------------------------------------------------------------
    def _cancellations(self, day: int) -> None:
        a = self.a
        for kind, p, number in self.calendar[day]:
            if kind != CANCEL or self.state_of[p] != BOOKED or self.booking_number[p] != number:
                continue
            sm, slot_day = self.booked_sm[p], self.booked_day[p]
            self.free[sm][slot_day] += 1
            cancellation = len(self.refilled)
            self.refilled.append(False)
            self.cancel_week.append(day // 7 + 1)
            self.cancel_slot_day.append(slot_day)
            if self.uniform() < a.cancellation_leaves_list:
                self.state_of[p] = LEFT
            else:
                self._dm01_event(p, ClockEvent.PATIENT_CANCELLED, day)
                self.rebooked_after[p] |= REBOOKED_AFTER_CANCELLING
                self._note_rebookable(p, day)  # booked again in today's round
                self._join_list(p)
            notice = slot_day - day
            if notice <= 0:
                continue  # on the day: nobody can be found in time
            self.pending_refill.setdefault(sm * self.day_key + slot_day, []).append(cancellation)
            if notice < a.min_notice_days:
                self._short_notice(sm, slot_day, day)

    def _short_notice(self, sm: int, slot_day: int, day: int) -> None:
        """Too late for a normal booking: backfill offers, or an occasional phone call today."""
        a = self.a
        if self.policy == Policy.CHOICE_ALLOCATION_BACKFILL:
            candidates = self._short_notice_candidates(sm, slot_day, opted_in_only=True, same_trust=False)
            for _, _, _, p in candidates[: a.backfill_max_offers]:
                if self.uniform() < a.backfill_offer_acceptance:
                    self._move_into(p, sm, slot_day, day)
                    return
            return
        if self.uniform() >= a.local_short_notice_refill:
            return
        same_trust = self.policy == Policy.STATUS_QUO
        candidates = self._short_notice_candidates(sm, slot_day, opted_in_only=False, same_trust=same_trust)
        if candidates:
            self._move_into(candidates[0][3], sm, slot_day, day)

    def _move_into(self, p: int, sm: int, slot_day: int, day: int, *, refill: bool = True) -> None:
        if self.state_of[p] == BOOKED:  # moving earlier frees their later slot for someone else
            old_sm = self.booked_sm[p]
            self.free[old_sm][self.booked_day[p]] += 1
            # A move replaces a booking: count the new one instead of the old.
            self.week_bookings -= 1
            self.total_bookings -= 1
            self.week_added_km -= self.added_km[p]
            self.total_added_km -= self.added_km[p]
            self.week_moved -= self.g.sm_trust[old_sm] != self.trust[p]
        self._book(p, sm, slot_day, day, refill=refill)

    def _short_notice_candidates(
        self,
        sm: int,
        slot_day: int,
        *,
        opted_in_only: bool,
        same_trust: bool,
        per_outcode: int = 6,
        look: int = 120,
    ) -> list[tuple[int, int, float, int]]:
        """The best few patients for a freed slot: urgent first, then longest waiting, then nearest.

        Scans the oldest entries of each nearby postcode district's list (lists are kept roughly in
        clock order), so it finds the longest waiters without scanning everyone.
        """
        g = self.g
        m, site_trust = g.sm_modality[sm], g.sm_trust[sm]
        pools = self.pool_opted_in if opted_in_only else self.pool_all
        state_of, booked_day, extra = self.state_of, self.booked_day, self.extra
        gain = self.a.backfill_min_gain_days
        found: list[tuple[int, int, float, int]] = []
        for o, km in g.sm_nearby_outcodes[sm]:
            pool = pools.get(o * g.n_modalities + m)
            if not pool:
                continue
            while pool and state_of[pool[0]] in (SCANNED, LEFT):
                pool.popleft()
            limit = g.nearest_km[o * g.n_modalities + m]
            taken = 0
            for checked, p in enumerate(pool):
                if checked >= look or taken >= per_outcode:
                    break
                status = state_of[p]
                if status == WAITING or (status == BOOKED and booked_day[p] >= slot_day + gain):
                    if same_trust:
                        if self.trust[p] != site_trust:
                            continue
                    elif km > limit + extra[p] + 1e-9:
                        continue
                    found.append((self.priority[p], self.clock[p], km, p))
                    taken += 1
        return heapq.nsmallest(self.a.backfill_max_offers, found)

    # ----------------------------------------------------------------------------------------
    def _waiting_in_order(self) -> list[int]:
        state_of = self.state_of
        waiting = [p for p in self.waiting if state_of[p] == WAITING]
        waiting = list(dict.fromkeys(waiting))
        waiting.sort(key=self.sort_key.__getitem__)
        return waiting

    def _booking_round(self, day: int) -> None:
        order = self._waiting_in_order()
        if self.policy == Policy.STATUS_QUO:
            self._book_own_trust(order, day, self.a.min_notice_days)
        elif self.policy == Policy.PATIENT_CHOICE:
            self._book_by_choice(order, day)
        else:
            if day % self.a.allocation_every_days == 0:
                fast = [p for p in order if self.priority[p] < FAST_PRIORITIES]
                self._book_by_choice(fast, day)
                rest = [p for p in order if self.state_of[p] == WAITING] + self._long_waiters_booked_late(day)
                at_risk = self._allocate(rest, day, ring_fenced_too=False)
                self._allocate(at_risk, day, ring_fenced_too=True)
            self._book_by_choice([p for p in order if self.state_of[p] == WAITING], day)
        self.waiting = [p for p in order if self.state_of[p] == WAITING]

    def _long_waiters_booked_late(self, day: int) -> list[int]:
        """Booked patients who will have waited 6 weeks or more by their scan, and whom an earlier
        slot could still reach: allocation may offer them one (they keep their booking otherwise)."""
        state_of = np.asarray(self.state_of)
        booked_day = np.asarray(self.booked_day)
        late = (state_of == BOOKED) & (booked_day - self.referral_clock >= SIX_WEEKS_DAYS)
        late &= booked_day >= day + self.a.min_notice_days + self.a.backfill_min_gain_days
        return np.flatnonzero(late).tolist()

    def _book_as_today(self, day: int, *, lower: int, counted: bool) -> None:
        """The bookings trusts already hold at the start: as the status quo books, from tomorrow."""
        order = self._waiting_in_order()
        self._book_own_trust(order, day, lower, counted=counted)
        self.waiting = [p for p in order if self.state_of[p] == WAITING]

    def _pointers(self, lower: int) -> list[int]:
        return [lower] * len(self.free)

    def _book_own_trust(self, order: list[int], day: int, min_notice: int, *, counted: bool = True) -> None:
        g, free = self.g, self.free
        upper = day + self.a.horizon_days
        pointers = (self._pointers(day + self.a.fast_min_notice_days), self._pointers(day + min_notice))
        failed: set[int] = set()
        for p in order:
            fast = 0 if self.priority[p] < FAST_PRIORITIES else 1
            group = (self.trust[p] * g.n_modalities + self.modality[p]) * 2 + fast
            if group in failed:
                continue
            pointer = pointers[fast]
            km_row = g.outcode_site_km[self.outcode[p]]
            best_day, best_km, best_sm = upper + 1, 0.0, -1
            for sm in g.trust_sms[self.trust[p] * g.n_modalities + self.modality[p]]:
                row, q = free[sm], pointer[sm]
                while q <= upper and row[q] <= 0:
                    q += 1
                pointer[sm] = q
                if q > upper:
                    continue
                km = km_row[g.sm_site[sm]]
                if q < best_day or (q == best_day and km < best_km):
                    best_day, best_km, best_sm = q, km, sm
            if best_sm < 0:
                failed.add(group)
                continue
            self._book(p, best_sm, best_day, day, counted=counted)

    def _book_by_choice(self, order: list[int], day: int) -> None:
        """Each patient in turn takes the slot with the best blend of travel and wait in tolerance.

        With a ring fence, a patient first looks at open slots only, and at ring-fenced ones too if
        the best open slot would bring them to 6 weeks (urgent and cancer patients look at both).
        """
        g, reserve = self.g, self.reserve
        # pointers[fast][ring_fenced_too]: the first day at each site-modality that may have room.
        pointers = [
            [self._pointers(day + self.a.fast_min_notice_days) for _ in range(2)],
            [self._pointers(day + self.a.min_notice_days) for _ in range(2)],
        ]
        failed: set[int] = set()
        n_tolerances = len(self.a.tolerance_extra_km)
        for p in order:
            fast = 0 if self.priority[p] < FAST_PRIORITIES else 1
            cell = self.outcode[p] * g.n_modalities + self.modality[p]
            group = ((cell * n_tolerances + self.tolerance_index[p]) * 2 + fast) * 2
            best: tuple[int, int] | None = None
            for fenced_too in (1,) if reserve is None or fast == 0 else (0, 1):
                if group + fenced_too in failed:
                    continue
                found = self._choose(
                    p, cell, day, pointers[fast][fenced_too], ring_fenced_too=bool(fenced_too)
                )
                if found is None:
                    failed.add(group + fenced_too)
                    continue
                if best is None or found[0] < best[0]:
                    best = found
                if best[0] - self.clock[p] < SIX_WEEKS_DAYS:
                    break  # an open slot before 6 weeks: leave the ring-fenced ones to others
            if best is not None:
                self._book(p, best[1], best[0], day)

    def _choose(
        self, p: int, cell: int, day: int, pointer: list[int], *, ring_fenced_too: bool
    ) -> tuple[int, int] | None:
        """(day, site-modality) of the patient's best slot within tolerance, or None."""
        g, free, reserve = self.g, self.free, self.reserve
        upper = day + self.a.horizon_days
        per_day = self.a.choice_km_per_week_sooner / 7.0
        released = day + self.a.ring_fence_release_days
        limit = g.nearest_km[cell] + self.extra[p] + 1e-9
        best_score, best_day, best_sm = float("inf"), -1, -1
        for km, sm in g.choice_candidates[cell]:
            if km > limit:
                break
            row, q = free[sm], pointer[sm]
            if ring_fenced_too or reserve is None:
                while q <= upper and row[q] <= 0:
                    q += 1
            else:
                held = reserve[sm]
                while q <= upper and row[q] - (held[q] if q > released else 0) <= 0:
                    q += 1
            pointer[sm] = q
            if q > upper:
                continue
            score = km + per_day * (q - day)
            if score < best_score:
                best_score, best_day, best_sm = score, q, sm
        return None if best_sm < 0 else (best_day, best_sm)

    def _allocate(self, patients: list[int], day: int, *, ring_fenced_too: bool) -> list[int]:
        """Network allocation: the min-cost flow proposes, each patient accepts or declines.

        Without `ring_fenced_too` only open slots are offered, and a patient whom no open slot would
        see before 6 weeks is not offered one but returned, to be allocated ring-fenced slots too.
        """
        if not patients:
            return []
        a = self.a
        lower, upper = day + a.min_notice_days, day + a.horizon_days
        bins_sm, bins_day, capacity = [], [], []
        released = day + a.ring_fence_release_days
        for sm, row in enumerate(self.free):
            held = self.reserve[sm] if self.reserve is not None and not ring_fenced_too else None
            for q in range(lower, upper + 1):
                room = row[q] - held[q] if held is not None and q > released else row[q]
                if room > 0:
                    bins_sm.append(sm)
                    bins_day.append(q)
                    capacity.append(room)
        if not bins_sm:
            return [p for p in patients if not ring_fenced_too and self.reserve is not None]
        if allocate is None:
            assigned = self._greedy_stand_in(patients, day, bins_sm, bins_day, capacity)
        else:
            assigned = self._min_cost_flow(patients, day, bins_sm, bins_day, capacity)
        defer_breaches = self.reserve is not None and not ring_fenced_too
        at_risk = []
        for p, b in zip(patients, assigned, strict=True):
            if defer_breaches and (b < 0 or bins_day[b] - self.clock[p] >= SIX_WEEKS_DAYS):
                at_risk.append(p)
                continue
            if b < 0:
                continue
            sm, slot_day = bins_sm[b], bins_day[b]
            booked = self.state_of[p] == BOOKED
            if booked and slot_day > self.booked_day[p] - a.backfill_min_gain_days:
                continue  # no earlier than what they hold: nothing to offer
            room = self.free[sm][slot_day]
            if self.reserve is not None and not ring_fenced_too and slot_day > released:
                room -= self.reserve[sm][slot_day]
            if self.uniform() >= a.allocation_offer_acceptance or room <= 0:
                continue
            if booked:
                self._move_into(p, sm, slot_day, day, refill=False)
            else:
                self._book(p, sm, slot_day, day)
        return at_risk

    def _min_cost_flow(
        self, patients: list[int], day: int, bins_sm: list[int], bins_day: list[int], capacity: list[int]
    ) -> list[int]:
        g, a = self.g, self.a
        index = np.asarray(patients, dtype=np.int64)
        outcodes = self.population.outcode[index]
        modality = self.population.modality[index]
        nearest = np.asarray(g.nearest_km)[outcodes * g.n_modalities + modality]
        extra = np.asarray(a.tolerance_extra_km)[self.population.tolerance[index]]
        sm = np.asarray(bins_sm)
        sites = np.asarray(g.sm_site)[sm]
        # A booked patient is offered only a slot at least backfill_min_gain_days sooner (as
        # booking/optimiser/services.py does for patients booked at 6 weeks or more).
        booked = np.asarray(self.state_of)[index] == BOOKED
        latest = np.where(
            booked, np.asarray(self.booked_day)[index] - a.backfill_min_gain_days - day, NO_LATEST_DAY
        )
        problem = AllocationProblem(
            patient_id=index,
            patient_lat=self.state.outcode_lat[outcodes],
            patient_lon=self.state.outcode_lon[outcodes],
            days_waited=day - self.referral_clock[index],
            priority_weight=np.asarray(a.priority_weight)[self.population.priority[index]],
            max_travel_km=nearest + extra + 1e-6,
            patient_compat=modality,
            bin_id=np.arange(len(bins_sm)),
            bin_site_id=sites,
            bin_lat=np.asarray(g.site_lat)[sites],
            bin_lon=np.asarray(g.site_lon)[sites],
            bin_day_offset=np.asarray(bins_day) - day,
            bin_capacity=np.asarray(capacity),
            bin_compat=np.asarray(g.sm_modality)[sm],
            patient_latest_day=latest,
        )
        weights = AllocationWeights(
            travel_per_km=a.allocation_travel_per_km,
            wait_per_day=a.allocation_wait_per_day,
            book_by_days=a.allocation_book_by_days,
            overdue_per_day=a.allocation_overdue_per_day,
        )
        return allocate(problem, weights).assigned_bin.tolist()

    def _greedy_stand_in(
        self, patients: list[int], day: int, bins_sm: list[int], bins_day: list[int], capacity: list[int]
    ) -> list[int]:
        """Used only when booking/optimiser/allocate.py cannot be imported: longest and most urgent
        first, each takes the bin with the least travel + urgency-weighted wait within tolerance."""
        g, a = self.g, self.a
        by_sm: dict[int, list[int]] = {}
        for b, sm in enumerate(bins_sm):
            by_sm.setdefault(sm, []).append(b)
        remaining = list(capacity)
        urgency = {
            p: a.priority_weight[self.priority[p]] * (1 + min(max(day - self.clock[p], 0), 91) / 91)
            for p in patients
        }
        assigned = dict.fromkeys(patients, -1)
        for p in sorted(patients, key=lambda q: (-urgency[q], self.clock[q], q)):
            cell = self.outcode[p] * g.n_modalities + self.modality[p]
            limit = g.nearest_km[cell] + self.extra[p] + 1e-9
            best, best_cost = -1, float("inf")
            for km, sm in g.choice_candidates[cell]:
                if km > limit:
                    break
                for b in by_sm.get(sm, ()):
                    if remaining[b] > 0:
                        cost = a.allocation_travel_per_km * km + a.allocation_wait_per_day * urgency[p] * (
                            bins_day[b] - day
                        )
                        if cost < best_cost:
                            best, best_cost = b, cost
                        break  # bins of one site are in day order: the first with room is the cheapest
            if best >= 0:
                remaining[best] -= 1
                assigned[p] = best
        return [assigned[p] for p in patients]

    def _dm01_event(self, p: int, event: ClockEvent, day: int) -> None:
        restarted = restarted_dm01_clock(
            int(self.dm01_clock[p]),
            event,
            day,
            counts_for_dm01=self.counts_for_dm01[p],
            trust_restarts=self.trust_restarts[self.trust[p]],
        )
        if restarted is not None:
            self.dm01_clock[p] = restarted

    # ----------------------------------------------------------------------------------------
    def _appointments(self, day: int) -> None:
        dna_rate = self.a.dna_rate
        for kind, p, number in self.calendar[day]:
            if kind != APPOINTMENT or self.state_of[p] != BOOKED or self.booking_number[p] != number:
                continue
            self.week_used += 1
            if self.uniform() < dna_rate:
                self.week_dna += 1
                self._dm01_event(p, ClockEvent.DID_NOT_ATTEND, day)
                self.rebooked_after[p] |= REBOOKED_AFTER_DNA
                self._note_rebookable(p, day + 1)  # today's round has run: booked again tomorrow
                self._join_list(p)
            else:
                self.week_scans += 1
                self.state_of[p] = SCANNED
        self.calendar[day] = []

    def _note_rebookable(self, p: int, round_day: int) -> None:
        if self.first_rebookable_day[p] < 0:
            fast = self.priority[p] < FAST_PRIORITIES
            notice = self.a.fast_min_notice_days if fast else self.a.min_notice_days
            self.first_rebookable_day[p] = round_day + notice

    # ----------------------------------------------------------------------------------------
    def _census_breakdown(self, day: int) -> CensusBreakdown:
        state_of = np.asarray(self.state_of)
        on_list = (state_of == WAITING) | (state_of == BOOKED)
        over = np.flatnonzero(on_list & (day - self.referral_clock >= SIX_WEEKS_DAYS))
        dm01 = on_list & self.counted_in_dm01
        population = self.population
        rebooked = np.asarray(self.rebooked_after)[over]
        at_start = (over < population.starting_list_size) & (population.clock_start[over] <= -SIX_WEEKS_DAYS)
        dna = ~at_start & (rebooked & REBOOKED_AFTER_DNA > 0)
        cancelled = ~at_start & ~dna & (rebooked & REBOOKED_AFTER_CANCELLING > 0)
        rest = ~at_start & ~dna & ~cancelled
        booked = rest & (state_of[over] == BOOKED)
        first_slot = np.asarray(self.first_rebookable_day)[over]
        names = self.state
        icb_of_trust = np.asarray(names.trust_icb)

        def counts(labels: list[str], index: np.ndarray) -> dict[str, int]:
            found = np.bincount(index, minlength=len(labels))
            return {label: int(n) for label, n in zip(labels, found, strict=True) if n}

        return CensusBreakdown(
            waiting=int(on_list.sum()),
            over_6_weeks=len(over),
            dm01_waiting=int(dm01.sum()),
            over_6_weeks_dm01=int((dm01 & (day - self.dm01_clock >= SIX_WEEKS_DAYS)).sum()),
            over_6_weeks_at_the_start=int(at_start.sum()),
            after_did_not_attend=int(dna.sum()),
            after_cancelling=int(cancelled.sum()),
            booked_for_6_weeks_or_more=int(booked.sum()),
            not_booked=int((rest & ~booked).sum()),
            failed_too_late_to_rebook=int(
                ((dna | cancelled) & (first_slot - population.clock_start[over] >= SIX_WEEKS_DAYS)).sum()
            ),
            by_modality=counts(names.modalities, population.modality[over]),
            by_icb=counts(names.icbs, icb_of_trust[population.trust[over]]),
            by_travel_tolerance_km=counts(
                [f"{km:g}" for km in self.a.tolerance_extra_km], population.tolerance[over]
            ),
        )

    def _measure(self, week: int, day: int) -> WeekOutcome:
        state_of = np.asarray(self.state_of)
        on_list = (state_of == WAITING) | (state_of == BOOKED)
        waits = day - self.referral_clock[on_list]
        dm01_waits = day - self.dm01_clock[on_list & self.counted_in_dm01]
        icb_of_trust = np.asarray(self.state.trust_icb)
        icb = icb_of_trust[self.population.trust[on_list]]
        medians = {}
        for i, code in enumerate(self.state.icbs):
            mine = waits[icb == i]
            if mine.size:
                medians[code] = round(float(np.median(mine)) / 7, 2)
        cancel_week = np.asarray(self.cancel_week, dtype=np.int64)
        refilled = np.asarray(self.refilled, dtype=bool)
        this_week = cancel_week == week
        first, last = max(day - 6, 0), day
        offered = sum(sum(row[first : last + 1]) for row in self.g.daily_capacity) if week > 0 else 0
        outcome = WeekOutcome(
            week=week,
            waiting=int(on_list.sum()),
            unbooked=int((state_of == WAITING).sum()),
            share_over_6_weeks=round(float((waits >= SIX_WEEKS_DAYS).mean()), 4) if waits.size else 0.0,
            dm01_waiting=int(dm01_waits.size),
            share_over_6_weeks_dm01=round(float((dm01_waits >= SIX_WEEKS_DAYS).mean()), 4)
            if dm01_waits.size
            else 0.0,
            share_over_13_weeks=round(float((waits >= 91).mean()), 4) if waits.size else 0.0,
            median_wait_weeks=round(float(np.median(waits)) / 7, 2) if waits.size else 0.0,
            icb_median_wait_weeks=medians,
            icb_spread_weeks=round(max(medians.values()) - min(medians.values()), 2) if medians else 0.0,
            bookings=self.week_bookings if week > 0 else 0,
            cancellations=int(this_week.sum()),
            refilled=int((this_week & refilled).sum()),
            scans=self.week_scans,
            did_not_attend=self.week_dna,
            moved_cross_trust=self.week_moved if week > 0 else 0,
            mean_added_travel_km=round(self.week_added_km / self.week_bookings, 2)
            if week > 0 and self.week_bookings
            else None,
            slots_offered=offered,
            slots_used=self.week_used,
        )
        self._reset_week()
        return outcome
