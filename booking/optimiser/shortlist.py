"""The shortlist a patient (or a clerk on their behalf) chooses from for one referral.

Hard constraints remove a slot outright: too soon (minimum notice or preparation), on a date the
patient cannot do, outside the time of day they asked for, missing an access need, or further than
their travel limit. What survives is scored, lower is better:

    score = travel_weight * travel minutes + wait_weight * WAIT_DAY_IN_TRAVEL_MINUTES * days to the slot

so by default one day sooner is worth ten minutes more travel (a week sooner: seventy minutes), and
each patient can lean either way with the two weights. Sites are ranked by their best slot, and each
site shows at most `per_site` slots so one busy site cannot crowd out the rest.

Work is vectorised over a columnar `SlotTable`; build it once (`SlotTable.from_options` or
`SlotTable.from_columns`) when the same pool serves many patients.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence, Set
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Literal
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

from booking.rules.eligibility import (
    NO_MAX_AGE,
    access_bits,
    access_met,
    ages_allowed,
    ages_on,
    date_key,
    date_keys_from_ordinals,
    dates_allowed,
    travel_limit,
    within_travel,
)

from .travel import LatLon, TravelMode, estimate_many

WAIT_DAY_IN_TRAVEL_MINUTES = 10.0
MORNING_ENDS_MINUTE = 12 * 60
EVENING_STARTS_MINUTE = 17 * 60
NETWORK_TIMEZONE = ZoneInfo("Europe/London")
_UNIX_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
_SECONDS_PER_DAY = 86_400.0

TimeOfDay = Literal["any", "morning", "afternoon", "evening"]


@dataclass(frozen=True)
class SlotOption:
    slot_id: int
    site_id: int
    site_name: str
    site_is_cdc: bool
    starts_at: datetime
    latitude: float
    longitude: float
    step_free: bool = True
    hearing_loop: bool = False
    bariatric: bool = False
    min_age: int = 0
    max_age: int | None = None


@dataclass(frozen=True, kw_only=True)
class PatientNeeds:
    origin: LatLon
    mode: TravelMode
    earliest: datetime
    alt_origin: LatLon | None = None  # e.g. work: each site is measured from the nearer of the two
    max_travel_km: float | None = None  # estimated road km
    needs_step_free: bool = False
    needs_hearing_loop: bool = False
    needs_bariatric: bool = False
    unavailable_dates: Set[date] = frozenset()
    birth_date: date | None = None  # a site's ages are checked against the age on the slot's day
    time_of_day: TimeOfDay = "any"
    travel_weight: float = 1.0
    wait_weight: float = 1.0


@dataclass(frozen=True)
class ShortlistEntry:
    slot_id: int
    site_id: int
    site_name: str
    starts_at: datetime
    score: float
    travel_km: float
    travel_minutes: float
    days_to_slot: int
    from_alt_origin: bool
    reasons: list[str] = field(default_factory=list)

    @property
    def summary(self) -> str:
        return self.reasons[0]


@dataclass(frozen=True)
class SlotTable:
    """Slot options as parallel arrays; sites are stored once and referenced by `site_row`."""

    slot_id: npt.NDArray[np.int64]
    site_row: npt.NDArray[np.intp]
    starts_epoch: npt.NDArray[np.float64]
    local_date_ordinal: npt.NDArray[np.int64]
    local_minute_of_day: npt.NDArray[np.int64]
    step_free: npt.NDArray[np.bool_]
    hearing_loop: npt.NDArray[np.bool_]
    bariatric: npt.NDArray[np.bool_]
    site_id: npt.NDArray[np.int64]
    site_name: tuple[str, ...]
    site_is_cdc: npt.NDArray[np.bool_]
    site_latitude: npt.NDArray[np.float64]
    site_longitude: npt.NDArray[np.float64]
    site_min_age: npt.NDArray[np.int64]
    site_max_age: npt.NDArray[np.int64]  # NO_MAX_AGE: no limit

    def __len__(self) -> int:
        return len(self.slot_id)

    @classmethod
    def from_options(cls, options: Iterable[SlotOption]) -> SlotTable:
        options = list(options)
        return cls.from_columns(
            slot_id=[o.slot_id for o in options],
            site_id=[o.site_id for o in options],
            starts_at=[o.starts_at for o in options],
            step_free=[o.step_free for o in options],
            hearing_loop=[o.hearing_loop for o in options],
            bariatric=[o.bariatric for o in options],
            sites={o.site_id: (o.site_name, o.site_is_cdc, o.latitude, o.longitude) for o in options},
            site_ages={o.site_id: (o.min_age, o.max_age) for o in options},
        )

    @classmethod
    def from_columns(
        cls,
        *,
        slot_id: npt.ArrayLike,
        site_id: npt.ArrayLike,
        starts_at: Sequence[datetime] | npt.ArrayLike,
        step_free: npt.ArrayLike,
        hearing_loop: npt.ArrayLike,
        bariatric: npt.ArrayLike,
        sites: dict[int, tuple[str, bool, float, float]],
        site_ages: dict[int, tuple[int, int | None]] | None = None,
    ) -> SlotTable:
        """Columns as a query returns them; `sites` maps site id to (name, is_cdc, lat, lon), and
        `site_ages` to the (min, max) ages it scans (max None: no limit; a missing site: every age).

        Rows are stored by site, then start time: a site's best slots are then its first eligible ones.
        """
        slot_ids = np.asarray(slot_id, dtype=np.int64)
        known_sites = np.array(sorted(sites), dtype=np.int64)
        site_row = np.searchsorted(known_sites, np.asarray(site_id, dtype=np.int64))
        starts_epoch = _to_epoch_seconds(starts_at)
        order = np.lexsort((slot_ids, starts_epoch, site_row))
        starts_epoch = starts_epoch[order]
        local_date, local_minute = _network_local_clock(starts_epoch)
        details = [sites[int(s)] for s in known_sites]
        ages = [(site_ages or {}).get(int(s), (0, None)) for s in known_sites]
        return cls(
            slot_id=slot_ids[order],
            site_row=site_row[order],
            starts_epoch=starts_epoch,
            local_date_ordinal=local_date,
            local_minute_of_day=local_minute,
            step_free=np.asarray(step_free, dtype=bool)[order],
            hearing_loop=np.asarray(hearing_loop, dtype=bool)[order],
            bariatric=np.asarray(bariatric, dtype=bool)[order],
            site_id=known_sites,
            site_name=tuple(d[0] for d in details),
            site_is_cdc=np.array([d[1] for d in details], dtype=bool),
            site_latitude=np.array([d[2] for d in details], dtype=np.float64),
            site_longitude=np.array([d[3] for d in details], dtype=np.float64),
            site_min_age=np.array([a[0] for a in ages], dtype=np.int64),
            site_max_age=np.array([NO_MAX_AGE if a[1] is None else a[1] for a in ages], dtype=np.int64),
        )


def shortlist(
    needs: PatientNeeds,
    options: SlotTable | Iterable[SlotOption],
    *,
    now: datetime | None = None,
    per_site: int = 3,
    limit: int | None = None,
    modality_label: str = "site",
) -> list[ShortlistEntry]:
    """The best `per_site` slots of each site, sites ordered by their best slot.

    `now` is where "days to slot" count from; it defaults to `needs.earliest`.
    """
    table = options if isinstance(options, SlotTable) else SlotTable.from_options(options)
    if len(table) == 0:
        return []
    now = now or needs.earliest
    site_travel = _site_travel(needs, table)

    eligible_sites = within_travel(site_travel.km, travel_limit(needs.max_travel_km))
    rows = np.flatnonzero(_slot_rules_mask(needs, table) & eligible_sites[table.site_row])
    if rows.size == 0:
        return []

    if needs.wait_weight >= 0:
        # Travel is the same for every slot of a site, so its best slots are its earliest: the table
        # keeps each site's rows in time order, and only the first `per_site` need a score.
        rows = rows[_rank_within_site(table.site_row[rows]) < per_site]
    days = (table.starts_epoch[rows] - now.timestamp()) / _SECONDS_PER_DAY
    minutes = site_travel.minutes[table.site_row[rows]]
    scores = needs.travel_weight * minutes + needs.wait_weight * WAIT_DAY_IN_TRAVEL_MINUTES * days

    chosen = _best_per_site(table.site_row[rows], scores, per_site)
    if limit is not None:
        chosen = chosen[:limit]
    context = _Context.build(needs, table, site_travel, rows, now, modality_label)
    return [context.entry(int(rows[i]), float(scores[i])) for i in chosen]


@dataclass(frozen=True)
class _SiteTravel:
    km: npt.NDArray[np.float64]
    minutes: npt.NDArray[np.float64]
    from_alt_origin: npt.NDArray[np.bool_]


def _site_travel(needs: PatientNeeds, table: SlotTable) -> _SiteTravel:
    home = estimate_many(needs.origin, table.site_latitude, table.site_longitude, needs.mode)
    if needs.alt_origin is None:
        return _SiteTravel(home.km, home.minutes, np.zeros(len(home.km), dtype=bool))
    alt = estimate_many(needs.alt_origin, table.site_latitude, table.site_longitude, needs.mode)
    use_alt = alt.km < home.km
    return _SiteTravel(
        np.where(use_alt, alt.km, home.km), np.where(use_alt, alt.minutes, home.minutes), use_alt
    )


def _slot_rules_mask(needs: PatientNeeds, table: SlotTable) -> npt.NDArray[np.bool_]:
    """The eligibility rule (`booking.rules.eligibility`) over every row, plus the time of day asked for."""
    mask = table.starts_epoch >= needs.earliest.timestamp()
    wanted = access_bits(
        step_free=needs.needs_step_free, hearing_loop=needs.needs_hearing_loop, bariatric=needs.needs_bariatric
    )
    if wanted:
        features = access_bits(step_free=table.step_free, hearing_loop=table.hearing_loop, bariatric=table.bariatric)
        mask &= access_met(wanted, features)
    if needs.unavailable_dates:
        mask &= dates_allowed(table.local_date_ordinal, needs.unavailable_dates)
    limited = (table.site_min_age > 0) | (table.site_max_age < NO_MAX_AGE)
    if limited.any():
        rows = limited[table.site_row]
        birth = date_key(needs.birth_date) if needs.birth_date else 0
        ages = ages_on(birth, date_keys_from_ordinals(table.local_date_ordinal[rows]))
        site = table.site_row[rows]
        mask[rows] &= ages_allowed(ages, table.site_min_age[site], table.site_max_age[site])
    minute = table.local_minute_of_day
    if needs.time_of_day == "morning":
        mask &= minute < MORNING_ENDS_MINUTE
    elif needs.time_of_day == "afternoon":
        mask &= (minute >= MORNING_ENDS_MINUTE) & (minute < EVENING_STARTS_MINUTE)
    elif needs.time_of_day == "evening":
        mask &= minute >= EVENING_STARTS_MINUTE
    return mask


def _rank_within_site(sorted_sites: npt.NDArray[np.intp]) -> npt.NDArray[np.intp]:
    """0, 1, 2... within each run of equal site rows (the rows are grouped by site)."""
    starts = np.r_[True, sorted_sites[1:] != sorted_sites[:-1]]
    first_of_group = np.flatnonzero(starts)
    return np.arange(len(sorted_sites)) - first_of_group[np.cumsum(starts) - 1]


def _best_per_site(sites: npt.NDArray[np.intp], scores: npt.NDArray[np.float64], per_site: int):
    """Positions of the kept rows, ordered by (site's best score, score)."""
    order = np.lexsort((scores, sites))
    sorted_sites = sites[order]
    group_starts = np.flatnonzero(np.r_[True, sorted_sites[1:] != sorted_sites[:-1]])
    group_of = np.cumsum(np.r_[True, sorted_sites[1:] != sorted_sites[:-1]]) - 1
    rank_in_site = np.arange(len(order)) - group_starts[group_of]
    site_best = scores[order][group_starts][group_of]
    keep = rank_in_site < per_site
    kept = order[keep]
    return kept[np.lexsort((scores[kept], site_best[keep]))]


@dataclass(frozen=True)
class _Context:
    """What the reason texts compare one slot against."""

    needs: PatientNeeds
    table: SlotTable
    travel: _SiteTravel
    now: datetime
    modality_label: str
    nearest_site_row: int
    soonest_epoch: float
    nearest_hospital_km: float

    @classmethod
    def build(cls, needs, table, travel, rows, now, modality_label) -> _Context:
        eligible_sites = np.unique(table.site_row[rows])
        nearest = int(eligible_sites[np.argmin(travel.km[eligible_sites])])
        hospitals = ~table.site_is_cdc
        nearest_hospital_km = float(travel.km[hospitals].min()) if hospitals.any() else np.inf
        return cls(
            needs=needs,
            table=table,
            travel=travel,
            now=now,
            modality_label=modality_label,
            nearest_site_row=nearest,
            soonest_epoch=float(table.starts_epoch[rows].min()),
            nearest_hospital_km=nearest_hospital_km,
        )

    def entry(self, row: int, score: float) -> ShortlistEntry:
        site = int(self.table.site_row[row])
        starts_at = datetime.fromtimestamp(self.table.starts_epoch[row], tz=UTC)
        days = self.table.local_date_ordinal[row] - _local_date(self.now).toordinal()
        km = float(self.travel.km[site])
        minutes = float(self.travel.minutes[site])
        from_alt = bool(self.travel.from_alt_origin[site])
        return ShortlistEntry(
            slot_id=int(self.table.slot_id[row]),
            site_id=int(self.table.site_id[site]),
            site_name=self.table.site_name[site],
            starts_at=starts_at,
            score=score,
            travel_km=km,
            travel_minutes=minutes,
            days_to_slot=int(days),
            from_alt_origin=from_alt,
            reasons=self._reasons(row, site, int(days), km, minutes, from_alt),
        )

    def _reasons(self, row, site, days, km, minutes, from_alt) -> list[str]:
        reasons = []
        if site == self.nearest_site_row:
            when = "this week" if days < 7 else f"in {_days_text(days)}"
            reasons.append(f"Nearest {self.modality_label} with a slot {when}")
        if self.table.starts_epoch[row] == self.soonest_epoch:
            reasons.append(f"Shortest wait: {_days_text(days)}")
        closer_by = self.nearest_hospital_km - km
        if self.table.site_is_cdc[site] and closer_by >= 1.0:
            reasons.append(f"CDC {closer_by:.0f} km closer than your nearest hospital")
        where = "from your other address" if from_alt else "from home"
        reasons.append(
            f"{self.table.site_name[site]}: {km:.0f} km {where}, about {minutes:.0f} min "
            f"{self.needs.mode.label}; {_days_text(days)} from today"
        )
        reasons.extend(self._access_reasons())
        return reasons

    def _access_reasons(self) -> list[str]:
        met = [
            (self.needs.needs_step_free, "Step-free access"),
            (self.needs.needs_hearing_loop, "Hearing loop"),
            (self.needs.needs_bariatric, "Bariatric equipment"),
        ]
        return [text for needed, text in met if needed]


def _days_text(days: int) -> str:
    if days <= 0:
        return "today"
    if days == 1:
        return "tomorrow"
    return f"{days} days"


def _local_date(moment: datetime) -> date:
    return moment.astimezone(NETWORK_TIMEZONE).date()


def _to_epoch_seconds(starts_at: Sequence[datetime] | npt.ArrayLike) -> npt.NDArray[np.float64]:
    values = list(starts_at) if not isinstance(starts_at, np.ndarray) else starts_at
    if len(values) and isinstance(values[0], datetime):
        return np.fromiter((v.timestamp() for v in values), dtype=np.float64, count=len(values))
    return np.asarray(values, dtype=np.float64)


def _network_local_clock(epoch_seconds: npt.NDArray[np.float64]):
    """(local date ordinal, local minute of day) in the network's time zone.

    UK offsets change on the hour, so one zone lookup per distinct UTC hour is exact and cheap.
    """
    hours = np.floor(epoch_seconds / 3600.0).astype(np.int64)
    distinct_hours, which = np.unique(hours, return_inverse=True)
    offsets = np.array(
        [
            datetime.fromtimestamp(int(h) * 3600, tz=UTC)
            .astimezone(NETWORK_TIMEZONE)
            .utcoffset()
            .total_seconds()
            for h in distinct_hours
        ],
        dtype=np.float64,
    )
    local = epoch_seconds + offsets[which]
    local_days = np.floor(local / _SECONDS_PER_DAY).astype(np.int64)
    minute = ((local - local_days * _SECONDS_PER_DAY) // 60).astype(np.int64)
    return local_days + _UNIX_EPOCH_ORDINAL, minute
