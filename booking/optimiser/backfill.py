"""Whom to offer a freed slot to, first.

Eligible: patients not yet booked, and booked patients who opted in to short-notice offers and would
gain at least a day on their current booking; whom the eligibility rule (`booking.rules.eligibility`)
lets have the slot: access features, travel limit, dates they cannot do, the ages the site scans,
their own minimum notice; and who can get there in time, i.e. the slot starts after their travel
time plus ARRIVAL_BUFFER_MINUTES.

Score, higher first:

    urgency * (days gained + OPT_IN_BONUS_DAYS if opted in)  -  travel minutes / WAIT_DAY_IN_TRAVEL_MINUTES

with urgency = priority weight * (1 + min(days waited, 91) / 91), as in the network allocation. A
patient not yet booked is assumed to gain UNBOOKED_GAIN_DAYS (their next routine offer is at least
that far away). Opting in earns a small bonus because those patients accept more often, so the
cascade of time-limited offers ends sooner.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import numpy as np
import numpy.typing as npt

from booking.rules.eligibility import (
    NO_MAX_AGE,
    access_bits,
    access_met,
    ages_allowed,
    ages_on,
    date_key,
    travel_limit,
    within_travel,
)

from .allocate import WAIT_CAP_DAYS
from .shortlist import NETWORK_TIMEZONE, WAIT_DAY_IN_TRAVEL_MINUTES, SlotOption
from .travel import MODE_PROFILES, TravelMode, great_circle_km, road_km

ARRIVAL_BUFFER_MINUTES = 30.0
UNBOOKED_GAIN_DAYS = 14.0
OPT_IN_BONUS_DAYS = 3.0
MIN_GAIN_DAYS = 1.0
_MODES = tuple(TravelMode)
_SPEED_KMH = np.array([MODE_PROFILES[m].speed_kmh for m in _MODES])
_OVERHEAD_MINUTES = np.array([MODE_PROFILES[m].overhead_minutes for m in _MODES])
_PRIORITY_LABEL = {8.0: "urgent", 6.0: "suspected cancer", 2.0: "soon", 1.0: "routine"}


@dataclass(frozen=True, kw_only=True)
class BackfillCandidate:
    referral_id: int
    opted_in_short_notice: bool
    lat: float
    lon: float
    mode: TravelMode
    max_travel_km: float | None
    days_waited: int
    priority_weight: float
    current_booking_starts_at: datetime | None
    needs_step_free: bool = False
    needs_hearing_loop: bool = False
    needs_bariatric: bool = False
    min_notice_hours: float = 24.0
    birth_date: date | None = None
    unavailable_dates: frozenset[date] = frozenset()
    modality_id: int = 0
    preparation_lead_days: int = 0


@dataclass(frozen=True)
class RankedCandidate:
    referral_id: int
    score: float
    travel_km: float
    travel_minutes: float
    days_gained: float
    is_booked: bool
    reasons: list[str] = field(default_factory=list)

    @property
    def summary(self) -> str:
        return "; ".join(self.reasons)


def too_close_to_fill(slot_start: datetime, now: datetime, min_hours: float) -> bool:
    """True when nobody could be offered the slot in time: leave it, do not start a cascade."""
    return slot_start - now < timedelta(hours=min_hours)


@dataclass(frozen=True)
class CandidateTable:
    """Candidates as parallel arrays; `current_booking_epoch` is NaN when not booked."""

    referral_id: npt.NDArray[np.int64]
    opted_in_short_notice: npt.NDArray[np.bool_]
    lat: npt.NDArray[np.float64]
    lon: npt.NDArray[np.float64]
    mode_index: npt.NDArray[np.intp]
    max_travel_km: npt.NDArray[np.float64]
    days_waited: npt.NDArray[np.int64]
    priority_weight: npt.NDArray[np.float64]
    current_booking_epoch: npt.NDArray[np.float64]
    access_needs: npt.NDArray[np.int64]  # ACCESS_* bits
    min_notice_hours: npt.NDArray[np.float64]
    birth_key: npt.NDArray[np.int64]  # yyyymmdd; 0 when unknown
    # every (candidate row, date ordinal) they cannot do, flattened once so a slot's mask is one numpy step
    unavailable_row: npt.NDArray[np.intp]
    unavailable_ordinal: npt.NDArray[np.int64]

    def __len__(self) -> int:
        return len(self.referral_id)

    @classmethod
    def from_candidates(cls, candidates: Sequence[BackfillCandidate]) -> CandidateTable:
        def column(get, dtype):
            return np.fromiter((get(c) for c in candidates), dtype=dtype, count=len(candidates))

        mode_index = {mode: i for i, mode in enumerate(_MODES)}
        unavailable = [
            (row, day.toordinal()) for row, c in enumerate(candidates) for day in c.unavailable_dates
        ]
        return cls(
            referral_id=column(lambda c: c.referral_id, np.int64),
            opted_in_short_notice=column(lambda c: c.opted_in_short_notice, bool),
            lat=column(lambda c: c.lat, np.float64),
            lon=column(lambda c: c.lon, np.float64),
            mode_index=column(lambda c: mode_index[TravelMode(c.mode)], np.intp),
            max_travel_km=column(lambda c: travel_limit(c.max_travel_km), np.float64),
            days_waited=column(lambda c: c.days_waited, np.int64),
            priority_weight=column(lambda c: c.priority_weight, np.float64),
            current_booking_epoch=column(
                lambda c: (
                    np.nan if c.current_booking_starts_at is None else c.current_booking_starts_at.timestamp()
                ),
                np.float64,
            ),
            access_needs=np.asarray(
                access_bits(
                    step_free=column(lambda c: c.needs_step_free, bool),
                    hearing_loop=column(lambda c: c.needs_hearing_loop, bool),
                    bariatric=column(lambda c: c.needs_bariatric, bool),
                ),
                dtype=np.int64,
            ),
            min_notice_hours=column(lambda c: c.min_notice_hours, np.float64),
            birth_key=column(lambda c: date_key(c.birth_date) if c.birth_date else 0, np.int64),
            unavailable_row=np.array([row for row, _ in unavailable], dtype=np.intp),
            unavailable_ordinal=np.array([ordinal for _, ordinal in unavailable], dtype=np.int64),
        )

    def needs(self) -> npt.NDArray[np.int64]:
        """Each candidate's access needs as ACCESS_* bits."""
        return self.access_needs

    def can_do_date(self, day: date) -> npt.NDArray[np.bool_]:
        """Candidates who did not say they cannot do `day`."""
        ok = np.ones(len(self), dtype=bool)
        ok[self.unavailable_row[self.unavailable_ordinal == day.toordinal()]] = False
        return ok


@dataclass(frozen=True)
class SlotFit:
    """How every candidate fits one slot (arrays over the candidate table)."""

    eligible: npt.NDArray[np.bool_]
    score: npt.NDArray[np.float64]
    days_gained: npt.NDArray[np.float64]
    travel_km: npt.NDArray[np.float64]
    travel_minutes: npt.NDArray[np.float64]
    urgency: npt.NDArray[np.float64]


def fit_to_slot(slot: SlotOption, table: CandidateTable, now: datetime) -> SlotFit:
    km = road_km(great_circle_km(table.lat, table.lon, slot.latitude, slot.longitude))
    minutes = km / _SPEED_KMH[table.mode_index] * 60.0 + _OVERHEAD_MINUTES[table.mode_index]
    minutes_until = (slot.starts_at - now).total_seconds() / 60.0
    slot_epoch = slot.starts_at.timestamp()

    booked = ~np.isnan(table.current_booking_epoch)
    days_gained = np.where(booked, (table.current_booking_epoch - slot_epoch) / 86_400.0, UNBOOKED_GAIN_DAYS)
    local_day = slot.starts_at.astimezone(NETWORK_TIMEZONE).date()
    features = access_bits(step_free=slot.step_free, hearing_loop=slot.hearing_loop, bariatric=slot.bariatric)
    max_age = NO_MAX_AGE if slot.max_age is None else slot.max_age
    eligible = (
        (table.opted_in_short_notice | ~booked)
        & (~booked | (days_gained >= MIN_GAIN_DAYS))
        # booking.rules.eligibility, over every candidate:
        & access_met(table.needs(), features)
        & within_travel(km, table.max_travel_km)
        & table.can_do_date(local_day)
        & ages_allowed(ages_on(table.birth_key, date_key(local_day)), slot.min_age, max_age)
        & (minutes_until >= table.min_notice_hours * 60.0)
        & (minutes_until >= minutes + ARRIVAL_BUFFER_MINUTES)
    )
    urgency = table.priority_weight * (
        1.0 + np.minimum(np.maximum(table.days_waited, 0), WAIT_CAP_DAYS) / WAIT_CAP_DAYS
    )
    bonus = np.where(table.opted_in_short_notice, OPT_IN_BONUS_DAYS, 0.0)
    score = urgency * (days_gained + bonus) - minutes / WAIT_DAY_IN_TRAVEL_MINUTES
    return SlotFit(eligible, score, days_gained, km, minutes, urgency)


def unbooked_score_bound(priority_weight: float, days_waited: int) -> float:
    """The best score any not-yet-booked candidate could have at this urgency or below (travel 0)."""
    urgency = priority_weight * (1.0 + min(max(days_waited, 0), WAIT_CAP_DAYS) / WAIT_CAP_DAYS)
    return urgency * (UNBOOKED_GAIN_DAYS + OPT_IN_BONUS_DAYS)


def rank_backfill(
    slot: SlotOption,
    candidates: CandidateTable | Sequence[BackfillCandidate],
    now: datetime,
    *,
    limit: int = 10,
) -> list[RankedCandidate]:
    table = (
        candidates if isinstance(candidates, CandidateTable) else CandidateTable.from_candidates(candidates)
    )
    if len(table) == 0:
        return []
    fit = fit_to_slot(slot, table, now)
    rows = np.flatnonzero(fit.eligible)
    if rows.size > limit:
        rows = rows[np.argpartition(-fit.score[rows], limit - 1)[:limit]]
    rows = rows[np.lexsort((table.referral_id[rows], -fit.score[rows]))]
    return [_ranked(table, fit, int(row)) for row in rows]


def _ranked(table: CandidateTable, fit: SlotFit, row: int) -> RankedCandidate:
    booked = not np.isnan(table.current_booking_epoch[row])
    mode = _MODES[table.mode_index[row]]
    priority = _PRIORITY_LABEL.get(float(table.priority_weight[row]), "")
    reasons = [f"Waiting {table.days_waited[row]} days" + (f" ({priority})" if priority else "")]
    if booked:
        reasons.append(f"{fit.days_gained[row]:.0f} days sooner than their current booking")
    else:
        reasons.append("Not yet booked")
    if table.opted_in_short_notice[row]:
        reasons.append("Opted in to short-notice offers")
    reasons.append(f"{fit.travel_km[row]:.0f} km, about {fit.travel_minutes[row]:.0f} min {mode.label}")
    return RankedCandidate(
        referral_id=int(table.referral_id[row]),
        score=float(fit.score[row]),
        travel_km=float(fit.travel_km[row]),
        travel_minutes=float(fit.travel_minutes[row]),
        days_gained=float(fit.days_gained[row]),
        is_booked=booked,
        reasons=reasons,
    )
