"""The patient's choice: every site that can do their exam, ranked by travel and earliest date.

The one shortlist of the hub (the patient's choice page, and the clerk's booking shortlist in
`booking.worklist.shortlist`). A thin adapter between the database and the optimiser's pure
shortlist (`booking.optimiser.shortlist`): it runs two small queries, whatever the size of the
pool, and hands the optimiser a small `SlotTable`:

1. the sites with a scanner for the exam's modality (~47 rows), each with whether it has released
   any open slot at all (to word why a site has none that suit), by one index probe per site;
2. per site, its K earliest open slots that pass the patient's filters (notice, dates, time of
   day, all in SQL), by one index walk per site. A site's earliest appointment and its indicative
   wait both come from these rows, so the card cannot contradict itself (issue 19, item 5).

Which sites and slots suit is `booking.rules.eligibility` (saved needs, dates, travel limit, the
ages a site scans), as for every other path that proposes a slot.

Callers pass the querysets they are allowed to see (`Model.objects.visible_to(user)`), so the choice never
reaches past the user's scope.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db import connections
from django.db.models import Exists, OuterRef, Q, QuerySet, Subquery
from django.db.models.expressions import RawSQL
from django.db.models.functions import ExtractHour

from booking.models import Referral, TravelMode
from booking.optimiser.shortlist import (
    PatientNeeds,
    ShortlistEntry,
    SlotTable,
    TimeOfDay,
    shortlist,
)
from booking.optimiser.travel import LatLon, estimate_many
from booking.optimiser.travel import TravelMode as OptimiserTravelMode
from booking.rules.eligibility import (
    ACCESS_BARIATRIC,
    ACCESS_HEARING_LOOP,
    ACCESS_STEP_FREE,
    access_bits,
    age_allowed,
    age_on,
    ages_text,
    parse_dates,
)
from booking.rules.notice import minimum_notice_hours
from slots.geography import UnknownPostcode, locate
from slots.models import Scanner, Site, Slot, SlotStatus

NETWORK_TIMEZONE = ZoneInfo("Europe/London")
PER_SITE = 3
# Local hours each time of day keeps, filtered in SQL so each site's index walk returns just its
# first few suitable slots (fetching 40 a site to filter here cost more than the rest of the page).
TIME_OF_DAY_HOURS: dict[str, dict[str, int]] = {
    "morning": {"local_hour__lt": 12},
    "afternoon": {"local_hour__gte": 12, "local_hour__lt": 17},
    "evening": {"local_hour__gte": 17},
}
_SITE_PLACEHOLDER = -7_340_001  # stands for "this site's id" in the compiled per-site query
_SITE_LIST = "site_list"  # PostgreSQL: the per-site query's correlation to the list of sites
SITE_LIST_LENGTH = 30
_SITE_LACKS = {
    ACCESS_STEP_FREE: "No step-free access",
    ACCESS_HEARING_LOOP: "No hearing loop",
    ACCESS_BARIATRIC: "No bariatric scanner",
}
TIMES_OF_DAY: dict[str, str] = {
    "any": "Any time",
    "morning": "Morning (before 12pm)",
    "afternoon": "Afternoon (12pm to 5pm)",
    "evening": "Evening (after 5pm)",
}


@dataclass(frozen=True)
class ChoiceFilters:
    """What the patient asked for on the choice page; every field has a safe default."""

    travel_mode: str = TravelMode.CAR
    time_of_day: TimeOfDay = "any"
    max_travel_km: int | None = None
    unavailable_dates: frozenset[date] = frozenset()
    needs_step_free: bool = False
    needs_hearing_loop: bool = False
    needs_bariatric: bool = False
    work_postcode: str = ""

    @classmethod
    def saved_for(cls, referral: Referral) -> ChoiceFilters:
        """The preferences stored on the referral (from the letter, a clerk, or the last choice)."""
        return cls(
            travel_mode=referral.travel_mode or TravelMode.CAR,
            max_travel_km=referral.max_travel_km,
            unavailable_dates=parse_dates(referral.unavailable_dates),
            needs_step_free=referral.needs_step_free,
            needs_hearing_loop=referral.needs_hearing_loop,
            needs_bariatric=referral.needs_bariatric,
            work_postcode=referral.work_postcode,
        )


@dataclass(frozen=True)
class SlotChoice:
    slot_id: int
    starts_at: datetime
    reasons: tuple[str, ...] = ()  # why the optimiser ranked it here, for a clerk to read out


@dataclass(frozen=True)
class SiteChoice:
    site: Site
    travel_km: float
    travel_minutes: float
    from_work: bool
    slots: tuple[SlotChoice, ...] = ()
    # The indicative wait: the site's first slot that suits the patient, from the same filtered
    # query as `slots` (for a site with none that suit: its first open slot, if it released any).
    first_available: datetime | None = None
    highlights: tuple[str, ...] = ()
    unsuitable_because: str = ""

    @property
    def earliest(self) -> datetime | None:
        return self.slots[0].starts_at if self.slots else None


@dataclass(frozen=True)
class Choices:
    ranked: list[SiteChoice]
    unsuitable: list[SiteChoice]
    earliest_allowed: datetime
    origin_known: bool = True
    notes: list[str] = field(default_factory=list)

    @property
    def sites_offering(self) -> int:
        return len(self.ranked) + len(self.unsuitable)

    def next_best(self, limit: int = 3) -> list[SiteChoice]:
        return self.ranked[:limit]


def earliest_allowed(referral: Referral, filters: ChoiceFilters, *, now: datetime) -> datetime:
    hours = minimum_notice_hours(
        travel_mode=filters.travel_mode, preparation_lead_days=referral.exam_type.preparation_lead_days
    )
    return now + timedelta(hours=hours)


def patient_origin(referral: Referral) -> LatLon | None:
    """Where the patient travels from: their postcode district's centre, if we know it."""
    patient = referral.patient
    for postcode in (patient.postcode, patient.outcode):
        if not postcode:
            continue
        try:
            return locate(postcode)
        except UnknownPostcode:
            continue
    return None


def choices_for(
    referral: Referral,
    *,
    slots: QuerySet[Slot],
    sites: QuerySet[Site],
    filters: ChoiceFilters,
    now: datetime,
    per_site: int = PER_SITE,
    modality_label: str = "site",
) -> Choices:
    """Every site that can do the referral's exam: those with slots that suit, best first, then the rest.

    The one shortlist of the hub: the patient's choice page and the clerk's booking shortlist
    (`booking.worklist.shortlist`) both read it. `modality_label` words the reasons ("Nearest CT
    with a slot this week" for a clerk, "Nearest site…" for a patient).

    Raises UnknownPostcode only for the work postcode (validate it first); an unknown home postcode
    leaves the ranking by date alone, with a note.
    """
    modality_id = referral.exam_type.modality_id
    earliest = earliest_allowed(referral, filters, now=now)
    offering = list(
        sites.select_related(None)
        .filter(Exists(Scanner.objects.filter(site_id=OuterRef("pk"), modality_id=modality_id)))
        .annotate(first_available=_first_open_start(slots, modality_id, earliest))
        .order_by("pk")
    )
    first_available = {site.pk: site.first_available for site in offering}
    if not offering:
        return Choices(ranked=[], unsuitable=[], earliest_allowed=earliest)

    home = patient_origin(referral)
    work = locate(filters.work_postcode) if filters.work_postcode else None
    notes = []
    if home is None:
        notes.append("We could not find your postcode on our map, so distances are measured from the postcode you gave.")
        if work is None:
            notes[-1] = "We could not find your postcode on our map, so we cannot show distances. Sites are in date order."
    origin = home or work
    mode = OptimiserTravelMode(filters.travel_mode)
    travel = travel_to(offering, origin, work if home else None, mode)

    birth_date = referral.patient.date_of_birth
    age_today = age_on(birth_date, now.astimezone(NETWORK_TIMEZONE).date())
    suitable_sites, unsuitable = [], []
    for site in offering:
        km, minutes, from_work = travel[site.pk]
        reason = _site_unsuitable_because(site, km if origin else None, filters, age_today)
        if reason:
            unsuitable.append(SiteChoice(site, km, minutes, from_work, unsuitable_because=reason))
        else:
            suitable_sites.append(site)

    rows = _earliest_rows(slots, modality_id, [s.pk for s in suitable_sites], filters, earliest, depth=per_site)
    entries = _rank(
        rows, suitable_sites, filters, origin, work if home else None, earliest, now, per_site, modality_label, birth_date
    )

    by_site = {site.pk: site for site in suitable_sites}
    ranked: list[SiteChoice] = []
    grouped: dict[int, list[ShortlistEntry]] = {}
    for entry in entries:
        grouped.setdefault(entry.site_id, []).append(entry)
    for site_id, site_entries in grouped.items():
        km, minutes, from_work = travel[site_id]
        ranked.append(
            SiteChoice(
                site=by_site[site_id],
                travel_km=km,
                travel_minutes=minutes,
                from_work=from_work,
                slots=tuple(SlotChoice(e.slot_id, e.starts_at, tuple(e.reasons)) for e in site_entries),
                first_available=min(e.starts_at for e in site_entries),
                highlights=tuple(r for r in site_entries[0].reasons if _is_highlight(r)),
            )
        )
    for site in suitable_sites:
        if site.pk not in grouped:
            km, minutes, from_work = travel[site.pk]
            unsuitable.append(
                SiteChoice(
                    site, km, minutes, from_work,
                    first_available=first_available.get(site.pk),
                    unsuitable_because=_no_slot_reason(filters, first_available.get(site.pk)),
                )
            )
    unsuitable.sort(key=lambda c: (c.travel_km, c.site.name))
    return Choices(ranked=ranked, unsuitable=unsuitable, earliest_allowed=earliest, origin_known=origin is not None, notes=notes)


def slots_at_site(
    referral: Referral,
    site_id: int,
    *,
    slots: QuerySet[Slot],
    filters: ChoiceFilters,
    now: datetime,
    after: datetime | None = None,
    limit: int = SITE_LIST_LENGTH,
) -> list[SlotChoice]:
    """The next `limit` slots at one site that suit the patient, in time order."""
    earliest = earliest_allowed(referral, filters, now=now)
    if after is not None and after > earliest:
        earliest = after + timedelta(seconds=1)
    candidates = (
        _open_slots(slots, referral.exam_type.modality_id, earliest, filters)
        .filter(site_id=site_id)
        .order_by("starts_at", "pk")
        .values_list("pk", "starts_at")[:limit]
    )
    return [SlotChoice(pk, starts_at) for pk, starts_at in candidates]


def local_day_bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time.min, tzinfo=NETWORK_TIMEZONE)
    end = datetime.combine(day + timedelta(days=1), time.min, tzinfo=NETWORK_TIMEZONE)
    return start, end


# Internals -----------------------------------------------------------------------------------


def _open_slots(slots: QuerySet[Slot], modality_id: int, earliest: datetime, filters: ChoiceFilters) -> QuerySet[Slot]:
    chosen = slots.filter(modality_id=modality_id, status=SlotStatus.OPEN, pooled=True, starts_at__gte=earliest)
    if filters.unavailable_dates:
        excluded = Q()
        for day in sorted(filters.unavailable_dates):
            start, end = local_day_bounds(day)
            excluded |= Q(starts_at__gte=start, starts_at__lt=end)
        chosen = chosen.exclude(excluded)
    if filters.time_of_day in TIME_OF_DAY_HOURS:
        chosen = chosen.annotate(local_hour=ExtractHour("starts_at", tzinfo=NETWORK_TIMEZONE)).filter(
            **TIME_OF_DAY_HOURS[filters.time_of_day]
        )
    return chosen


def _first_open_start(slots: QuerySet[Slot], modality_id: int, earliest: datetime) -> Subquery:
    """Per site (OuterRef "pk"): when its first open slot for this modality starts."""
    return Subquery(
        slots.filter(
            site_id=OuterRef("pk"), modality_id=modality_id, status=SlotStatus.OPEN, pooled=True, starts_at__gte=earliest
        )
        .order_by("starts_at")
        .values("starts_at")[:1]
    )


def _earliest_rows(
    slots: QuerySet[Slot], modality_id: int, site_ids: list[int], filters: ChoiceFilters, earliest: datetime, *, depth: int
) -> list[tuple[int, int, datetime]]:
    """The `depth` earliest suitable slots of each site, in one query of one index walk per site.

    The per-site query is compiled by the ORM from the caller's queryset (so its scope applies).
    A window function over the pool, the ORM building 47 arms, or `id IN (…) OR id IN (…)` (a
    sequential scan on PostgreSQL) were each many times slower.
    """
    if not site_ids or slots.query.is_empty():  # a role that sees no pool (a manager) gets no slots
        return []
    suitable = _open_slots(slots, modality_id, earliest, filters)
    if connections[slots.db].vendor == "postgresql":
        return _earliest_rows_lateral(suitable, site_ids, depth)
    return _earliest_rows_union(suitable, site_ids, depth)


def _earliest_rows_lateral(suitable: QuerySet[Slot], site_ids: list[int], depth: int) -> list[tuple[int, int, datetime]]:
    """PostgreSQL: `unnest(site ids) CROSS JOIN LATERAL (first N at that site)`: the per-site query
    is planned once (a UNION ALL of 47 copies took 5-12 ms to plan, more than it took to run)."""
    arm = (
        suitable.filter(site_id=RawSQL(f"{_SITE_LIST}.id", ()))
        .order_by("starts_at", "pk")
        .values_list("pk", "site_id", "starts_at")[:depth]
    )
    arm_sql, arm_params = arm.query.sql_with_params()
    sql = f"SELECT site_arm.* FROM unnest(%s::bigint[]) AS {_SITE_LIST}(id) CROSS JOIN LATERAL ({arm_sql}) AS site_arm"
    with connections[suitable.db].cursor() as cursor:
        cursor.execute(sql, [site_ids, *arm_params])
        return [tuple(row) for row in cursor.fetchall()]


def _earliest_rows_union(suitable: QuerySet[Slot], site_ids: list[int], depth: int) -> list[tuple[int, int, datetime]]:
    """Elsewhere (SQLite): `id IN (SELECT * FROM (first N at site 1) UNION ALL …)`: each arm walks the
    (site, start) index for N rows; the outer query fetches those rows by key. The arm is compiled
    once and repeated with each site's id in place of a placeholder."""
    arm = suitable.filter(site_id=_SITE_PLACEHOLDER).order_by("starts_at", "pk").values("pk")[:depth]
    arm_sql, arm_params = arm.query.sql_with_params()
    placeholder_at = [i for i, value in enumerate(arm_params) if value == _SITE_PLACEHOLDER]
    if len(placeholder_at) != 1:  # the compiled query no longer looks as this function expects
        raise RuntimeError("Could not find the site parameter in the per-site slot query.")
    arms, params = [], []
    for number, site_id in enumerate(site_ids):
        arm_values = list(arm_params)
        arm_values[placeholder_at[0]] = site_id
        arms.append(f"SELECT * FROM ({arm_sql}) AS site_arm_{number}")
        params.extend(arm_values)
    connection = connections[suitable.db]
    pk = f"{connection.ops.quote_name(Slot._meta.db_table)}.{connection.ops.quote_name('id')}"
    chosen = Slot.objects.using(suitable.db).extra(where=[f"{pk} IN ({' UNION ALL '.join(arms)})"], params=params)
    return list(chosen.order_by().values_list("pk", "site_id", "starts_at"))


def travel_to(
    sites: list[Site], origin: LatLon | None, alt_origin: LatLon | None, mode: OptimiserTravelMode
) -> dict[int, tuple[float, float, bool]]:
    """Each site's (road km, minutes, from the other origin) from the nearer of `origin` and
    `alt_origin` (the work postcode); zeros when `origin` is unknown. The choice page and the
    booking service's last check (`booking.services.eligibility.travel_km`) both measure with it."""
    if origin is None:
        return {site.pk: (0.0, 0.0, False) for site in sites}
    lats = [site.latitude for site in sites]
    lons = [site.longitude for site in sites]
    home = estimate_many(origin, lats, lons, mode)
    result = {site.pk: (float(home.km[i]), float(home.minutes[i]), False) for i, site in enumerate(sites)}
    if alt_origin is not None:
        alt = estimate_many(alt_origin, lats, lons, mode)
        for i, site in enumerate(sites):
            if alt.km[i] < home.km[i]:
                result[site.pk] = (float(alt.km[i]), float(alt.minutes[i]), True)
    return result


def _site_unsuitable_because(site: Site, km: float | None, filters: ChoiceFilters, age: int) -> str:
    """Why a whole site is ruled out (`booking.rules.eligibility`), in the patient's words; "" if it is not.
    The age is today's; each slot is checked again against the age on its own day."""
    needs = access_bits(
        step_free=filters.needs_step_free, hearing_loop=filters.needs_hearing_loop, bariatric=filters.needs_bariatric
    )
    features = access_bits(step_free=site.step_free, hearing_loop=site.hearing_loop, bariatric=site.bariatric_scanner)
    missing = needs & ~features
    lacks = next((text for bit, text in _SITE_LACKS.items() if missing & bit), "")
    if lacks:
        return lacks
    if filters.max_travel_km is not None and km is not None and km > filters.max_travel_km:
        return f"Further than {filters.max_travel_km} km"
    if not age_allowed(age, site.min_age, site.max_age):
        return ages_text(site.min_age, site.max_age).capitalize()
    return ""


def _no_slot_reason(filters: ChoiceFilters, first_available: datetime | None) -> str:
    if first_available is None:
        return "No appointments released to the network yet"
    return "No appointments at the times you can do"


def _rank(
    rows: Iterable[tuple[int, int, datetime]],
    sites: list[Site],
    filters: ChoiceFilters,
    origin: LatLon | None,
    alt_origin: LatLon | None,
    earliest: datetime,
    now: datetime,
    per_site: int,
    modality_label: str,
    birth_date: date | None,
) -> list[ShortlistEntry]:
    rows = list(rows)
    if not rows:
        return []
    by_site = {site.pk: site for site in sites}
    table = SlotTable.from_columns(
        slot_id=[r[0] for r in rows],
        site_id=[r[1] for r in rows],
        starts_at=[r[2] for r in rows],
        step_free=[by_site[r[1]].step_free for r in rows],
        hearing_loop=[by_site[r[1]].hearing_loop for r in rows],
        bariatric=[by_site[r[1]].bariatric_scanner for r in rows],
        sites={s.pk: (s.name, s.is_cdc, s.latitude, s.longitude) for s in sites},
        site_ages={s.pk: (s.min_age, s.max_age) for s in sites},
    )
    needs = PatientNeeds(
        origin=origin or (0.0, 0.0),
        alt_origin=alt_origin,
        mode=OptimiserTravelMode(filters.travel_mode),
        earliest=earliest,
        max_travel_km=filters.max_travel_km if origin else None,
        needs_step_free=filters.needs_step_free,
        needs_hearing_loop=filters.needs_hearing_loop,
        needs_bariatric=filters.needs_bariatric,
        unavailable_dates=filters.unavailable_dates,
        birth_date=birth_date,
        time_of_day=filters.time_of_day,
        travel_weight=1.0 if origin else 0.0,
    )
    return shortlist(needs, table, now=now, per_site=per_site, modality_label=modality_label)


def _is_highlight(reason: str) -> bool:
    return reason.startswith(("Nearest", "Shortest wait", "CDC"))
