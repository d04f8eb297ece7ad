"""Whether a slot suits a patient: the one eligibility rule of every path that proposes or books one.

The patient's shortlist, the network allocation, backfill, chains, the clerk's candidates and the
booking service all decide with these definitions (issue 19, item 1), so no path can offer what
the patient said they cannot do. A slot suits a patient when:

- it is for their exam's modality;
- it starts after their notice (`booking.rules.notice`: travel mode, preparation, short-notice opt-in);
- it is not on a date they cannot do (the network's local date of the slot);
- the site is within their travel limit (estimated road km);
- the site has every access feature they need (step-free, hearing loop, bariatric scanner);
- the patient's age on the day of the slot is within the ages the site scans (Birmingham Children's
  Hospital scans under-16s only; most sites scan every age).

Each part has a scalar form (the booking service, one slot) and an array form (the optimiser,
thousands of rows at once) written side by side, from the same constants. Plain Python and numpy.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import numpy as np
import numpy.typing as npt

ACCESS_STEP_FREE, ACCESS_HEARING_LOOP, ACCESS_BARIATRIC = 1, 2, 4
ALL_ACCESS_FEATURES = ACCESS_STEP_FREE | ACCESS_HEARING_LOOP | ACCESS_BARIATRIC
NO_MAX_AGE = 200  # a site that scans every age: its max_age as a number
AGE_UNKNOWN = -1  # a patient whose date of birth we do not know is only refused by a minimum age

BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.int64]

ACCESS_TEXT = {
    ACCESS_STEP_FREE: "step-free access",
    ACCESS_HEARING_LOOP: "a hearing loop",
    ACCESS_BARIATRIC: "a bariatric scanner",
}


def access_bits(*, step_free: npt.ArrayLike, hearing_loop: npt.ArrayLike, bariatric: npt.ArrayLike) -> int | IntArray:
    """Access needs (or a site's features) as ACCESS_* bits: of booleans, or of boolean arrays."""
    if not any(isinstance(v, np.ndarray | list | tuple) for v in (step_free, hearing_loop, bariatric)):
        return (ACCESS_STEP_FREE if step_free else 0) | (ACCESS_HEARING_LOOP if hearing_loop else 0) | (
            ACCESS_BARIATRIC if bariatric else 0
        )
    return (
        np.where(step_free, ACCESS_STEP_FREE, 0)
        | np.where(hearing_loop, ACCESS_HEARING_LOOP, 0)
        | np.where(bariatric, ACCESS_BARIATRIC, 0)
    ).astype(np.int64)


def parse_dates(values: Iterable[object] | None) -> frozenset[date]:
    """Saved "dates you cannot do" (ISO strings, or dates) as dates; unreadable entries are skipped."""
    parsed = set()
    for value in values or ():
        if isinstance(value, date):
            parsed.add(value)
            continue
        try:
            parsed.add(date.fromisoformat(str(value)))
        except ValueError:
            continue
    return frozenset(parsed)


def date_key(day: date) -> int:
    """A date as yyyymmdd: whole-year age is then (day key - birth key) // 10000."""
    return day.year * 10_000 + day.month * 100 + day.day


def age_on(birth_date: date | None, day: date) -> int:
    """Age in whole years on `day` (AGE_UNKNOWN without a date of birth)."""
    if birth_date is None:
        return AGE_UNKNOWN
    return (date_key(day) - date_key(birth_date)) // 10_000


def age_allowed(age: int, min_age: int, max_age: int | None) -> bool:
    """Whether a site that scans ages min_age..max_age (inclusive, whole years) takes this age."""
    if age == AGE_UNKNOWN:
        return min_age <= 0
    return min_age <= age <= (NO_MAX_AGE if max_age is None else max_age)


def ages_allowed(ages: npt.ArrayLike, min_age: npt.ArrayLike, max_age: npt.ArrayLike) -> BoolArray:
    """`age_allowed` over arrays (max_age as numbers: NO_MAX_AGE for "no limit")."""
    ages, min_age, max_age = (np.asarray(v, dtype=np.int64) for v in (ages, min_age, max_age))
    known = ages != AGE_UNKNOWN
    return np.where(known, (ages >= min_age) & (ages <= max_age), min_age <= 0)


def ages_on(birth_keys: npt.ArrayLike, day_keys: npt.ArrayLike) -> IntArray:
    """`age_on` over arrays of yyyymmdd keys (a birth key of 0: unknown)."""
    birth_keys, day_keys = np.asarray(birth_keys, dtype=np.int64), np.asarray(day_keys, dtype=np.int64)
    return np.where(birth_keys > 0, (day_keys - birth_keys) // 10_000, AGE_UNKNOWN)


def birth_date_bounds(min_age: int, max_age: int | None, day: date) -> tuple[date | None, date | None]:
    """Birth dates a site scanning ages min_age..max_age may admit on `day`, as (born on or before,
    born after), None where that side has no limit: a day wide on each side (leap-day birthdays), for
    a database prefilter that `age_allowed` then checks exactly."""
    born_by = _years_before(day, min_age) + timedelta(days=1) if min_age > 0 else None
    born_after = (
        _years_before(day, max_age + 1) - timedelta(days=1)
        if max_age is not None and max_age < NO_MAX_AGE
        else None
    )
    return born_by, born_after


def _years_before(day: date, years: int) -> date:
    if (day.month, day.day) == (2, 29):
        return day.replace(year=day.year - years, day=28)
    return day.replace(year=day.year - years)


def date_keys_from_ordinals(ordinals: npt.ArrayLike) -> IntArray:
    """yyyymmdd keys of proleptic Gregorian ordinals (`date.toordinal()`), vectorised."""
    days = np.asarray(ordinals, dtype=np.int64) - date(1970, 1, 1).toordinal()
    moments = days.astype("datetime64[D]")
    years = moments.astype("datetime64[Y]")
    months = moments.astype("datetime64[M]")
    year = years.astype(np.int64) + 1970
    month = (months - years).astype(np.int64) + 1
    day = (moments - months).astype(np.int64) + 1
    return year * 10_000 + month * 100 + day


def access_met(needs: npt.ArrayLike, features: npt.ArrayLike) -> BoolArray | bool:
    """Every needed ACCESS_* bit is among the site's features (scalars or arrays)."""
    if isinstance(needs, int) and isinstance(features, int):  # one site, one patient: no numpy round trip
        return needs & ~features == 0
    met = (np.asarray(needs, dtype=np.int64) & ~np.asarray(features, dtype=np.int64)) == 0
    return bool(met) if np.ndim(met) == 0 else met


def within_travel(km: npt.ArrayLike, max_km: npt.ArrayLike) -> BoolArray | bool:
    """Within the travel limit (estimated road km); a limit of inf (`travel_limit(None)`): none set."""
    if isinstance(km, float | int) and isinstance(max_km, float | int):
        return km <= max_km
    within = np.asarray(km, dtype=np.float64) <= np.asarray(max_km, dtype=np.float64)
    return bool(within) if np.ndim(within) == 0 else within


def travel_limit(max_km: float | None) -> float:
    return np.inf if max_km is None else float(max_km)


def dates_allowed(local_ordinals: npt.ArrayLike, unavailable: Iterable[date]) -> BoolArray:
    """Rows whose local date (as an ordinal) is not one the patient cannot do."""
    ordinals = np.asarray(local_ordinals, dtype=np.int64)
    cannot = np.fromiter((d.toordinal() for d in unavailable), dtype=np.int64)
    if cannot.size == 0:
        return np.ones(ordinals.shape, dtype=bool)
    return ~np.isin(ordinals, cannot)


def notice_met(starts_at: datetime, now: datetime, min_notice_hours: float) -> bool:
    return (starts_at - now).total_seconds() >= min_notice_hours * 3600.0


@dataclass(frozen=True, kw_only=True)
class PatientConstraints:
    """What a patient saved and what their exam needs, as every path reads it."""

    modality_id: int
    min_notice_hours: float
    birth_date: date | None = None
    unavailable_dates: frozenset[date] = frozenset()
    max_travel_km: float | None = None
    needs: int = 0  # ACCESS_* bits


@dataclass(frozen=True, kw_only=True)
class SlotFacts:
    """One slot and its site, as the rule reads them."""

    modality_id: int
    starts_at: datetime
    local_date: date  # the slot's date in the network's time zone
    features: int  # the site's ACCESS_* bits
    min_age: int = 0
    max_age: int | None = None
    site_name: str = "this site"


def refusal(patient: PatientConstraints, slot: SlotFacts, *, travel_km: float | None, now: datetime) -> str:
    """Why the slot does not suit the patient, in words for them or a clerk; "" when it suits.

    `travel_km` is None when the patient's home cannot be placed (no travel limit can then apply).
    """
    if slot.modality_id != patient.modality_id:
        return "This appointment is for a different kind of scan."
    if not notice_met(slot.starts_at, now, patient.min_notice_hours):
        return f"This appointment is too soon: it needs {patient.min_notice_hours:.0f} hours' notice."
    if slot.local_date in patient.unavailable_dates:
        return f"The patient cannot do {slot.local_date:%-d %B %Y} (a saved date they cannot do)."
    missing = [text for bit, text in ACCESS_TEXT.items() if patient.needs & bit and not slot.features & bit]
    if missing:
        return f"{slot.site_name} does not have {' or '.join(missing)}, which the patient needs."
    if travel_km is not None and not within_travel(travel_km, travel_limit(patient.max_travel_km)):
        return f"{slot.site_name} is further than the patient's travel limit of {patient.max_travel_km:.0f} km."
    if not age_allowed(age_on(patient.birth_date, slot.local_date), slot.min_age, slot.max_age):
        return f"{slot.site_name} {ages_text(slot.min_age, slot.max_age)}."
    return ""


def ages_text(min_age: int, max_age: int | None) -> str:
    """What a site's ages say, e.g. "scans patients under 16 only"."""
    if max_age is not None and min_age <= 0:
        return f"scans patients under {max_age + 1} only"
    if max_age is None and min_age > 0:
        return f"scans patients aged {min_age} and over only"
    if max_age is not None:
        return f"scans patients aged {min_age} to {max_age} only"
    return "scans patients of every age"
