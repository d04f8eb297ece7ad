"""The optimiser against the database: load rows into the pure core, record what it proposes.

Everything written here is a proposal: `Offer` rows (and the `OptimiserRun` that made them), never a
booking. Queries read only the columns the core needs (`values_list`), one query per kind of row.

Time: every function takes `now`. Allocation bins count days as 24-hour periods from `now`, so a
patient whose notice and preparation need N hours may use bins from day ceil(N / 24) on, and every
slot in those bins honours the notice exactly.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from functools import cache

import numpy as np
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from booking.models import (
    Booking,
    OfferSource,
    OfferStatus,
    OptimiserRun,
    Priority,
    Referral,
    ReferralStatus,
    RunKind,
)
from booking.models.bookings import ACTIVE_BOOKING_STATUSES
from booking.models.offers import OPEN_OFFER_STATUSES, Offer
from booking.presenters import waited_text
from booking.rules.eligibility import NO_MAX_AGE, access_bits, birth_date_bounds, date_key, travel_limit
from booking.rules.notice import (
    SHORT_NOTICE_HOURS,
    STANDARD_NOTICE_HOURS,
    minimum_notice_days,
)
from booking.rules.priority import PRIORITY_WEIGHT
from slots.geography import centroids
from slots.models import Site, Slot, SlotStatus

from .allocate import (
    NO_LATEST_DAY,
    SIX_WEEKS_DAYS,
    WAIT_CAP_DAYS,
    Allocation,
    AllocationProblem,
    AllocationWeights,
    allocate,
    greedy_baseline,
    wait_summary,
    waits_at_scan,
)
from .backfill import (
    MIN_GAIN_DAYS,
    BackfillCandidate,
    CandidateTable,
    RankedCandidate,
    fit_to_slot,
    rank_backfill,
    too_close_to_fill,
    unbooked_score_bound,
)
from .candidates import LoadedCandidates, active_booking_start, load_candidates
from .chains import ChainPlan, best_chain, chain_patients
from .shortlist import NETWORK_TIMEZONE, SlotOption
from .travel import great_circle_km, great_circle_limit

ALLOCATION_HORIZON_DAYS = 42
ALLOCATION_OFFER_VALID = timedelta(hours=72)
# A patient booked to be scanned at 6 weeks' wait or more is offered an earlier slot by the network
# allocation too, if it is at least this many days sooner (they keep their booking otherwise).
ALLOCATION_MOVE_MIN_GAIN_DAYS = 3
BACKFILL_CASCADE = 5  # offers recorded per freed slot, sent one after another in rank order
BACKFILL_RESPONSE_WINDOW = timedelta(hours=2)
BACKFILL_RADIUS_KM = 80.0
BACKFILL_CHUNK = 500  # waiting-list rows read per query, longest waiters first
CHAIN_MAX_MOVES = 4
CHAIN_MOVERS = 3  # booked patients whose move a chain considers (each costs a ranking of their slot)
CHAIN_TAKERS = 3  # waiting patients ranked for each slot a mover would free
CHAIN_TIME_LIMIT_SECONDS = 0.5


# Network allocation ----------------------------------------------------------------------------


def run_network_allocation(
    *,
    now: datetime,
    triggered_by_id: int | None = None,
    horizon_days: int = ALLOCATION_HORIZON_DAYS,
    weights: AllocationWeights | None = None,
) -> OptimiserRun:
    """Propose one offer per waiting patient the network can serve; record the run.

    Patients booked for a scan at 6 weeks' wait or more are in it too, for slots at least
    ALLOCATION_MOVE_MIN_GAIN_DAYS sooner than their booking (accepting moves the booking).
    Referrals already holding an open offer, and slots already offered, are left out, so running
    twice proposes nothing twice.
    """
    wall_start = time.perf_counter()
    waiting = _load_waiting_list(now)
    pool = _load_open_pool(now, horizon_days, {w.modality_id for w in waiting.rows})
    loaded = time.perf_counter()
    problem = _allocation_problem(waiting, pool)
    allocation = allocate(problem, weights)
    greedy = greedy_baseline(problem, weights)
    nearest_site_only = greedy_baseline(problem, weights, nearest_site_only=True)
    solved = time.perf_counter()

    with transaction.atomic():
        run = OptimiserRun.objects.create(
            kind=RunKind.ALLOCATION,
            started_at=now,
            triggered_by_id=triggered_by_id,
            patients=problem.n_patients,
            slots=problem.n_slots,
            arcs=allocation.arcs,
            build_seconds=allocation.build_seconds,
            solve_seconds=allocation.solve_seconds,
            objective=float(allocation.objective),
            status=allocation.status,
            waits_before=asdict(wait_summary(waits_at_scan(problem, nearest_site_only))),
            waits_after=asdict(wait_summary(waits_at_scan(problem, allocation))),
        )
        offers = Offer.objects.bulk_create(_allocation_offers(run, problem, allocation, pool, now))
        run.proposed = len(offers)
        run.finished_at = now + timedelta(seconds=time.perf_counter() - wall_start)
        run.detail = {
            "bins": problem.n_bins,
            "patient_site_pairs": allocation.patient_site_pairs,
            "assigned": allocation.assigned_count,
            "unlocated_referrals": waiting.unlocated,
            "greedy_objective": float(greedy.objective),
            "greedy_assigned": greedy.assigned_count,
            "nearest_site_only_assigned": nearest_site_only.assigned_count,
            "waits_today": asdict(wait_summary(problem.days_waited)),
            "load_seconds": loaded - wall_start,
            "optimise_seconds": solved - loaded,
            "horizon_days": horizon_days,
            "weights": asdict(weights or AllocationWeights()),
        }
        run.save(update_fields=["proposed", "finished_at", "detail"])
    return run


@dataclass(frozen=True)
class _WaitingList:
    rows: list[BackfillCandidate]
    latest_day: list[int]  # booked patients: the last day that gains enough on the booking
    unlocated: int  # referrals whose postcode district we cannot place


def _load_waiting_list(now: datetime) -> _WaitingList:
    offered = Offer.objects.filter(status__in=OPEN_OFFER_STATUSES).values("referral_id")
    booked_late = _booked_at_six_weeks_or_more(now)
    loaded = load_candidates(
        Referral.objects.filter(Q(status=ReferralStatus.WAITING) | Q(pk__in=booked_late)).exclude(pk__in=offered).order_by(),
        now=now,
    )
    rows = loaded.candidates
    return _WaitingList(rows, [booked_late.get(r.referral_id, NO_LATEST_DAY) for r in rows], loaded.unlocated)


def _booked_at_six_weeks_or_more(now: datetime) -> dict[int, int]:
    """referral id -> the last allocation day offset worth offering, for patients booked to be
    scanned at 6 weeks' wait or more whose booking is far enough ahead to gain on."""
    gain = timedelta(days=ALLOCATION_MOVE_MIN_GAIN_DAYS)
    rows = (
        Booking.objects.filter(status__in=ACTIVE_BOOKING_STATUSES, referral__status=ReferralStatus.BOOKED)
        .filter(slot__starts_at__gte=F("referral__clock_start") + timedelta(days=SIX_WEEKS_DAYS))
        .filter(slot__starts_at__gte=now + gain)
        .values_list("referral_id", "slot__starts_at")
    )
    # Bins count whole days from now, and every slot of bin d starts before now + d + 1 days.
    return {pk: (starts_at - gain - now).days - 1 for pk, starts_at in rows}


@dataclass(frozen=True)
class _Pool:
    """Open, un-offered pool slots (in start order) grouped into bins of one site, modality, day
    (24-hour periods from now) and local date (so a date a patient cannot do closes whole bins)."""

    slot_ids: np.ndarray
    slot_starts: list[datetime]
    bin_of_slot: np.ndarray
    bin_site: np.ndarray
    bin_modality: np.ndarray
    bin_day: np.ndarray
    bin_date_key: np.ndarray  # yyyymmdd
    sites: dict[int, tuple[str, float, float, int, int, int]]  # pk -> (name, lat, lon, access, min age, max age)


def _load_open_pool(now: datetime, horizon_days: int, modality_ids: set[int]) -> _Pool:
    offered = Offer.objects.filter(status__in=OPEN_OFFER_STATUSES).values("slot_id")
    rows = list(
        Slot.objects.filter(
            status=SlotStatus.OPEN,
            pooled=True,
            modality_id__in=modality_ids,
            starts_at__gte=now,
            starts_at__lt=now + timedelta(days=horizon_days),
        )
        .exclude(pk__in=offered)
        .order_by("starts_at", "pk")
        .values_list("pk", "site_id", "modality_id", "starts_at")
    )
    sites = {
        pk: (
            name,
            lat,
            lon,
            access_bits(step_free=step, hearing_loop=loop, bariatric=bar),
            min_age,
            NO_MAX_AGE if max_age is None else max_age,
        )
        for pk, name, lat, lon, step, loop, bar, min_age, max_age in Site.objects.values_list(
            "pk", "name", "latitude", "longitude", "step_free", "hearing_loop", "bariatric_scanner", "min_age", "max_age"
        )
    }
    slot_ids = np.array([r[0] for r in rows], dtype=np.int64)
    starts = [r[3] for r in rows]
    day = np.array([int((s - now).total_seconds() // 86_400) for s in starts], dtype=np.int64)
    local_date = np.array([date_key(s.astimezone(NETWORK_TIMEZONE).date()) for s in starts], dtype=np.int64)
    keys = np.column_stack(
        [np.array([r[1] for r in rows], dtype=np.int64), np.array([r[2] for r in rows], dtype=np.int64), day, local_date]
    ).reshape(-1, 4)
    bins, bin_of_slot = np.unique(keys, axis=0, return_inverse=True)
    return _Pool(slot_ids, starts, bin_of_slot.reshape(-1), bins[:, 0], bins[:, 1], bins[:, 2], bins[:, 3], sites)


def _allocation_problem(waiting: _WaitingList, pool: _Pool) -> AllocationProblem:
    rows = waiting.rows
    capacity = np.bincount(pool.bin_of_slot, minlength=len(pool.bin_site))
    site = [pool.sites[int(s)] for s in pool.bin_site]
    unavailable = [(i, date_key(day)) for i, r in enumerate(rows) for day in r.unavailable_dates]
    return AllocationProblem(
        patient_id=[r.referral_id for r in rows],
        patient_lat=[r.lat for r in rows],
        patient_lon=[r.lon for r in rows],
        days_waited=[r.days_waited for r in rows],
        priority_weight=[r.priority_weight for r in rows],
        max_travel_km=[travel_limit(r.max_travel_km) for r in rows],
        patient_compat=[r.modality_id for r in rows],
        # The allocation plans days ahead: the short-notice opt-in does not count (booking.rules.notice).
        patient_earliest_day=[
            minimum_notice_days(travel_mode=r.mode, preparation_lead_days=r.preparation_lead_days) for r in rows
        ],
        patient_latest_day=waiting.latest_day,
        patient_needs=[
            access_bits(step_free=r.needs_step_free, hearing_loop=r.needs_hearing_loop, bariatric=r.needs_bariatric)
            for r in rows
        ],
        patient_birth_key=[date_key(r.birth_date) if r.birth_date else 0 for r in rows],
        unavailable_patient=[i for i, _ in unavailable],
        unavailable_date_key=[key for _, key in unavailable],
        bin_date_key=pool.bin_date_key,
        bin_min_age=[s[4] for s in site],
        bin_max_age=[s[5] for s in site],
        bin_id=np.arange(len(pool.bin_site)),
        bin_site_id=pool.bin_site,
        bin_lat=[s[1] for s in site],
        bin_lon=[s[2] for s in site],
        bin_day_offset=pool.bin_day,
        bin_capacity=capacity,
        bin_compat=pool.bin_modality,
        bin_features=[s[3] for s in site],
    )


def _allocation_offers(
    run: OptimiserRun, problem: AllocationProblem, allocation: Allocation, pool: _Pool, now: datetime
) -> list[Offer]:
    """Within a bin, the most urgent, longest-waiting patient gets the earliest slot."""
    slots_of_bin: dict[int, list[int]] = {}
    for slot_index, bin_index in enumerate(pool.bin_of_slot.tolist()):
        slots_of_bin.setdefault(bin_index, []).append(slot_index)  # already in start order
    urgency = problem.urgency()
    assigned = np.flatnonzero(allocation.assigned_bin >= 0)
    assigned = assigned[np.lexsort((-problem.days_waited[assigned], -urgency[assigned]))]
    next_seat: dict[int, int] = {}
    offers = []
    for patient in assigned.tolist():
        bin_index = int(allocation.assigned_bin[patient])
        seat = next_seat.get(bin_index, 0)
        next_seat[bin_index] = seat + 1
        slot_index = slots_of_bin[bin_index][seat]
        site_name = pool.sites[int(pool.bin_site[bin_index])][0]
        offers.append(
            Offer(
                referral_id=int(problem.patient_id[patient]),
                slot_id=int(pool.slot_ids[slot_index]),
                source=OfferSource.ALLOCATION,
                status=OfferStatus.PROPOSED,
                reason=(
                    f"Network allocation: {site_name}, {_day(pool.slot_starts[slot_index])}; "
                    f"waiting {waited_text(int(problem.days_waited[patient]))} when offered"
                )[:240],
                expires_at=now + ALLOCATION_OFFER_VALID,
                run=run,
            )
        )
    return offers


def _day(moment: datetime) -> str:
    """The slot's own date (a relative "in 1 day" was wrong by the time anyone read it)."""
    return timezone.localtime(moment).strftime("%a %-d %b")


# Backfill --------------------------------------------------------------------------------------


def backfill_freed_slot(slot_id: int, *, now: datetime, cascade: int = BACKFILL_CASCADE) -> list[Offer]:
    """Rank the waiting list for a slot that has just come free and record the cascade of offers.

    Returns the open offers for the slot in rank order. A slot that already has open offers is left
    as it is (the cascade is under way), so a repeated call does nothing twice.
    """
    started = time.perf_counter()
    slot = (
        Slot.objects.select_related("site")
        .filter(pk=slot_id, status=SlotStatus.OPEN, pooled=True)
        .only(
            "pk",
            "starts_at",
            "modality_id",
            "site__name",
            "site__kind",
            "site__latitude",
            "site__longitude",
            "site__step_free",
            "site__hearing_loop",
            "site__bariatric_scanner",
            "site__min_age",
            "site__max_age",
        )
        .first()
    )
    if slot is None or too_close_to_fill(slot.starts_at, now, SHORT_NOTICE_HOURS):
        return []
    existing = list(
        Offer.objects.filter(slot_id=slot_id, status__in=OPEN_OFFER_STATUSES).order_by("rank", "pk")
    )
    if existing:
        return existing

    option = slot_option(slot)
    chosen, rows, read = _rank_for_slot(slot, option, now, cascade)
    chain = _chain_plan(option, chosen, rows, now)
    chosen, chain_first = _chain_first(option, chosen, rows, chain, now, cascade)
    solved = time.perf_counter()

    with transaction.atomic():
        run = OptimiserRun.objects.create(
            kind=RunKind.BACKFILL,
            started_at=now,
            finished_at=now + timedelta(seconds=solved - started),
            patients=read,
            slots=1,
            solve_seconds=solved - started,
            status="ranked",
            proposed=len(chosen),
            detail={
                "slot_id": slot_id,
                "ranked": [r.referral_id for r in chosen],
                "chain": _chain_detail(chain),
            },
        )
        expires = min(now + BACKFILL_RESPONSE_WINDOW, slot.starts_at - timedelta(hours=SHORT_NOTICE_HOURS))
        offers = Offer.objects.bulk_create(
            [
                Offer(
                    referral_id=r.referral_id,
                    slot_id=slot_id,
                    source=OfferSource.CHAIN if r.referral_id == chain_first else OfferSource.BACKFILL,
                    status=OfferStatus.PROPOSED,
                    rank=rank,
                    reason=(CHAIN_REASON + r.summary if r.referral_id == chain_first else r.summary)[:240],
                    expires_at=expires if rank == 1 else None,  # later ones get theirs when sent
                    run=run,
                )
                for rank, r in enumerate(chosen, start=1)
            ]
        )
    return offers


def slot_option(slot: Slot) -> SlotOption:
    """A slot and its site as the optimiser's core reads them (select the site with the slot)."""
    site = slot.site
    return SlotOption(
        slot_id=slot.pk,
        site_id=site.pk,
        site_name=site.name,
        site_is_cdc=site.is_cdc,
        starts_at=slot.starts_at,
        latitude=site.latitude,
        longitude=site.longitude,
        step_free=site.step_free,
        hearing_loop=site.hearing_loop,
        bariatric=site.bariatric_scanner,
        min_age=site.min_age,
        max_age=site.max_age,
    )


def _rank_for_slot(
    slot: Slot, option: SlotOption, now: datetime, wanted: int
) -> tuple[list[RankedCandidate], list[BackfillCandidate], int]:
    """The best `wanted` candidates for the slot, the candidates read, and how many rows were read.

    Bookings that could move are few and read at once. The waiting list is long, so it is read in
    chunks per priority, longest waiters first; a priority is left once even the best score its
    unread rows could reach (`unbooked_score_bound`) is below the current `wanted`-th best score.
    The result is exactly what ranking the whole list would give.
    """
    rules = _candidate_rules(slot, now)
    movable = _movable_bookings(slot, rules, now)
    rows, read = movable.candidates, movable.read
    scores = list(_eligible_scores(option, rows, now))
    bound = {
        priority: unbooked_score_bound(PRIORITY_WEIGHT[priority], WAIT_CAP_DAYS) for priority in Priority
    }
    offset = dict.fromkeys(Priority, 0)
    while bound:
        priority = max(bound, key=bound.get)
        if len(scores) >= wanted and bound[priority] < np.partition(scores, -wanted)[-wanted]:
            break
        chunk = _waiting_chunk(rules, priority, offset[priority], now)
        offset[priority] += chunk.read
        read += chunk.read
        if chunk.read < BACKFILL_CHUNK:
            del bound[priority]
        elif chunk.rows:  # the rest of this priority has waited no longer than its last row read
            bound[priority] = unbooked_score_bound(PRIORITY_WEIGHT[priority], chunk.candidates[-1].days_waited)
        rows += chunk.candidates
        scores += _eligible_scores(option, chunk.candidates, now)
    return rank_backfill(option, CandidateTable.from_candidates(rows), now, limit=wanted), rows, read


# Chains: a booked patient moving earlier frees their slot for someone who needs it more ----------

CHAIN_REASON = "Moving you earlier frees your later appointment for a patient who needs it sooner; "


def _chain_plan(
    option: SlotOption, ranked: list[RankedCandidate], rows: list[BackfillCandidate], now: datetime
) -> ChainPlan | None:
    """The best chain of moves into the freed slot (CP-SAT), when one beats a single fill.

    Its pool: the booked patients who could move (the best-ranked CHAIN_MOVERS of them), the
    waiting patients ranked for the freed slot, and those ranked for each slot a mover would free
    (who may be unable to make the freed slot at all). None when no chain of two or more moves helps.
    """
    by_referral = {row.referral_id: row for row in rows}
    ranked_movers = [c.referral_id for c in ranked if c.is_booked]
    movers = (
        ranked_movers
        + [
            row.referral_id
            for row in rows
            if row.current_booking_starts_at is not None and row.referral_id not in ranked_movers
        ]
    )[:CHAIN_MOVERS]
    if not movers:
        return None
    bookings = Booking.objects.filter(referral_id__in=movers, status__in=ACTIVE_BOOKING_STATUSES).select_related(
        "slot__site"
    )
    booked, waiting = [], {}
    for booking in bookings:
        held = slot_option(booking.slot)
        booked.append((by_referral[booking.referral_id], held))
        takers, taker_rows, _ = _rank_for_slot(booking.slot, held, now, CHAIN_TAKERS)
        taker_row = {row.referral_id: row for row in taker_rows}
        for taker in takers:
            if not taker.is_booked:
                waiting.setdefault(taker.referral_id, taker_row[taker.referral_id])
    for candidate in ranked:
        if not candidate.is_booked:
            waiting.setdefault(candidate.referral_id, by_referral[candidate.referral_id])
    plan = best_chain(
        option.slot_id,
        chain_patients(option, booked, list(waiting.values()), now, unbooked_reference_days=ALLOCATION_HORIZON_DAYS),
        max_moves=CHAIN_MAX_MOVES,
        time_limit_seconds=CHAIN_TIME_LIMIT_SECONDS,
    )
    return plan if len(plan.moves) > 1 else None


def _chain_first(
    option: SlotOption,
    ranked: list[RankedCandidate],
    rows: list[BackfillCandidate],
    chain: ChainPlan | None,
    now: datetime,
    cascade: int,
) -> tuple[list[RankedCandidate], int | None]:
    """The cascade with the chain's first mover offered first; (ranked, None) when there is no chain."""
    if chain is None:
        return ranked, None
    first = chain.moves[0].referral_id
    mover = next((c for c in ranked if c.referral_id == first), None)
    if mover is None:
        row = next(r for r in rows if r.referral_id == first)
        mover = rank_backfill(option, [row], now, limit=1)[0]
    rest = [c for c in ranked if c.referral_id != first]
    return [mover, *rest][:cascade], first


def _chain_detail(chain: ChainPlan | None) -> dict[str, object] | None:
    if chain is None:
        return None
    return {
        "moves": [asdict(move) for move in chain.moves],
        "weighted_days_gained": round(chain.total_weighted_days_gained, 1),
        "status": chain.status,
        "solve_seconds": round(chain.solve_seconds, 4),
    }


def _candidate_rules(slot: Slot, now: datetime) -> Q:
    """What SQL can rule out before the core looks: other modalities, preparation that cannot fit,
    patients far away, patients outside the ages the site scans, and, inside a day's notice, those
    who did not opt in to short notice. (The core applies the eligibility rule exactly; this only
    keeps a slot nobody on the list may take, at a children's hospital say, from reading it all.)"""
    hours_until = (slot.starts_at - now).total_seconds() / 3600.0
    rules: dict[str, object] = {
        "exam_type__modality_id": slot.modality_id,
        "exam_type__preparation_lead_days__lte": int(hours_until // 24),
        "patient__outcode__in": _outcodes_within(slot.site.latitude, slot.site.longitude, BACKFILL_RADIUS_KM),
    }
    if hours_until < STANDARD_NOTICE_HOURS:
        rules["patient__short_notice_opt_in"] = True
    return Q(**rules) & _ages_scanned(slot.site, timezone.localtime(slot.starts_at, NETWORK_TIMEZONE).date())


def _ages_scanned(site: Site, day: date) -> Q:
    """Patients the site's ages may admit on `day` (`birth_date_bounds`: a day wide on each side); no
    date of birth only where the site has no minimum age, as the rule says."""
    born_by, born_after = birth_date_bounds(site.min_age, site.max_age, day)
    ages = Q()
    if born_by is not None:
        ages &= Q(patient__date_of_birth__lte=born_by)
    if born_after is not None:
        ages &= Q(patient__date_of_birth__gt=born_after) | Q(patient__date_of_birth__isnull=True)
    return ages


def _movable_bookings(slot: Slot, rules: Q, now: datetime) -> LoadedCandidates:
    """Booked patients who opted in to short notice (nobody is moved unasked) and would gain on their booking."""
    return load_candidates(
        Referral.objects.filter(rules, patient__short_notice_opt_in=True, status=ReferralStatus.BOOKED)
        .annotate(current_start=active_booking_start())
        .filter(current_start__gte=slot.starts_at + timedelta(days=MIN_GAIN_DAYS))
        .order_by(),
        now=now,
        current_start="current_start",
    )


def _waiting_chunk(rules: Q, priority: str, offset: int, now: datetime) -> LoadedCandidates:
    return load_candidates(
        Referral.objects.filter(
            rules, priority=priority, status__in=[ReferralStatus.WAITING, ReferralStatus.OFFERED]
        ).order_by("clock_start", "pk")[offset : offset + BACKFILL_CHUNK],
        now=now,
    )


def _eligible_scores(option: SlotOption, rows: list[BackfillCandidate], now: datetime) -> list[float]:
    if not rows:
        return []
    fit = fit_to_slot(option, CandidateTable.from_candidates(rows), now)
    return fit.score[fit.eligible].tolist()


def _outcodes_within(lat: float, lon: float, road_km_limit: float) -> list[str]:
    names, lats, lons = _outcode_arrays()
    near = great_circle_km(lat, lon, lats, lons) <= great_circle_limit(road_km_limit)
    return [names[i] for i in np.flatnonzero(near)]


@cache
def _outcode_arrays() -> tuple[list[str], np.ndarray, np.ndarray]:
    places = centroids()
    names = list(places)
    return names, np.array([places[n][0] for n in names]), np.array([places[n][1] for n in names])
