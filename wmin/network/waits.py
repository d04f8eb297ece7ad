"""Waiting-list and slot aggregates for network managers, read from the database.

As of now, or (`as_of`) as of an earlier day, reconstructed from what the database still holds:
the referrals then on the list (referred by then, and scanned or removed only after it), and the
bookings of slots in the window around that day, by their final outcome. Slot statuses are not
kept day by day, so a reconstructed day has no released-or-booked slot figures.

No patient identifiers leave this module: it returns counts, shares and waits per group only.
Waits are counted by both clocks (measures.py): since referral for every test, and by the DM01
clock for DM01's tests; a reconstructed day reads each DM01 clock from its restart history.
Which group a row belongs to:
- waits: the referring trust (and its ICB), the exam's modality, and for sites the booked site;
- slots, refills and DNAs: the site holding the slot (its trust, the ICB where it is, its modality);
- moves across trusts: the referring trust and its ICB, the booked site, the slot's modality.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import DateTimeField, Max, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce

from booking.models import Booking, BookingStatus, Dm01ClockRestart, Referral, ReferralStatus
from booking.models.bookings import ACTIVE_BOOKING_STATUSES
from booking.optimiser.travel import great_circle_km, road_km
from booking.rules.dm01 import counts_for_dm01
from slots.geography import centroids
from slots.models import ICB, Modality, Scanner, Site, Slot, SlotStatus, Trust

from .measures import GroupMeasures
from .models import Dimension

ON_WAITING_LIST = [ReferralStatus.WAITING, ReferralStatus.OFFERED, ReferralStatus.BOOKED]
SLOT_WINDOW_PAST = timedelta(days=28)
SLOT_WINDOW_AHEAD = timedelta(days=42)
NETWORK_KEY = "all"
HELD_BOOKINGS = (*ACTIVE_BOOKING_STATUSES, BookingStatus.ATTENDED, BookingStatus.DID_NOT_ATTEND)


@dataclass(frozen=True)
class GroupRow:
    dimension: str
    key: str
    label: str
    metrics: dict[str, float | int | None]


class _Groups:
    """GroupMeasures per (dimension, key), created on first use."""

    def __init__(self) -> None:
        self.measures: dict[tuple[str, str], GroupMeasures] = defaultdict(GroupMeasures)

    def each(self, **keys: str | None) -> list[GroupMeasures]:
        found = [self.measures[(Dimension.NETWORK.value, NETWORK_KEY)]]
        found += [self.measures[(dimension, key)] for dimension, key in keys.items() if key]
        return found


def compute_groups(now: datetime, *, as_of: datetime | None = None) -> list[GroupRow]:
    """Every group's measures as of `now`, or as of an earlier moment reconstructed: the network,
    each ICB, trust, site and modality."""
    groups = _Groups()
    labels = _labels()
    if as_of is None or as_of >= now:
        _add_waits(groups, now)
        _add_slots(groups, now)
        _add_bookings(groups, now)
    else:
        _add_waits_then(groups, as_of)
        _add_bookings(groups, as_of)
    rows = []
    for dimension in Dimension.values:
        keys = labels[dimension].keys() | {key for (dim, key) in groups.measures if dim == dimension}
        for key in keys:
            label = labels[dimension].get(key, key)
            rows.append(GroupRow(dimension, key, label, groups.measures[(dimension, key)].as_metrics()))
    rows.sort(key=lambda row: (Dimension.values.index(row.dimension), row.label))
    return rows


def _labels() -> dict[str, dict[str, str]]:
    return {
        Dimension.NETWORK: {NETWORK_KEY: "West Midlands Imaging Network"},
        Dimension.ICB: dict(ICB.objects.values_list("code", "name")),
        Dimension.TRUST: dict(Trust.objects.values_list("ods_code", "short_name")),
        Dimension.SITE: dict(Site.objects.values_list("code", "name")),
        Dimension.MODALITY: dict(
            Modality.objects.filter(booked_from_waiting_list=True).values_list("code", "name")
        ),
    }


def _add_waits(groups: _Groups, now: datetime) -> None:
    """Both clocks: every referral's wait since referral, and for DM01 tests the DM01 clock's."""
    booked_site = dict(Booking.objects.active().values_list("referral_id", "slot__site__code"))
    referrals = Referral.objects.filter(status__in=ON_WAITING_LIST).values_list(
        "pk",
        "clock_start",
        "dm01_clock_start",
        "exam_type__dm01_test",
        "trust__ods_code",
        "trust__icb__code",
        "exam_type__modality__code",
    )
    for pk, clock_start, dm01_clock, test, trust, icb, modality in referrals.iterator(chunk_size=5000):
        days = max((now - clock_start).days, 0)
        dm01_days = max((now - dm01_clock).days, 0) if counts_for_dm01(test) else None
        for measures in groups.each(icb=icb, trust=trust, modality=modality, site=booked_site.get(pk)):
            measures.wait_days.append(days)
            if dm01_days is not None:
                measures.dm01_wait_days.append(dm01_days)


def dm01_clocks_at(then: datetime) -> dict[int, datetime]:
    """Each referral's DM01 clock as it stood at `then`, for those restarted by then (others: their
    referral date): the latest restart from on or before `then`."""
    restarts = (
        Dm01ClockRestart.objects.filter(restarted_from__lte=then)
        .values("referral_id")
        .annotate(clock=Max("restarted_from"))
        .values_list("referral_id", "clock")
    )
    return dict(restarts)


def on_list_at(then: datetime) -> QuerySet[Referral]:
    """The referrals on the waiting list at `then`: referred by then, and not yet scanned (an attended
    booking's slot, or when the referral was closed if it has none) or removed."""
    scanned_at = Subquery(
        Booking.objects.filter(referral=OuterRef("pk"), status=BookingStatus.ATTENDED)
        .order_by("slot__starts_at")
        .values("slot__starts_at")[:1],
        output_field=DateTimeField(),
    )
    return (
        Referral.objects.filter(clock_start__lte=then)
        .annotate(left_at=Coalesce(scanned_at, "updated_at"))
        .filter(
            Q(status__in=ON_WAITING_LIST)
            | Q(status__in=[ReferralStatus.COMPLETED, ReferralStatus.REMOVED], left_at__gt=then)
        )
    )


def _add_waits_then(groups: _Groups, then: datetime) -> None:
    """Waits as they were at `then`: referred by then, and not yet scanned (an attended booking's
    slot, or when the referral was closed if it has none) or removed. Sites are left out: when
    each booking was made is not reliably known for data loaded in bulk."""
    referrals = (
        on_list_at(then)
        .values_list(
            "pk", "clock_start", "exam_type__dm01_test", "trust__ods_code", "trust__icb__code", "exam_type__modality__code"
        )
    )
    restarted = dm01_clocks_at(then)
    for pk, clock_start, test, trust, icb, modality in referrals.iterator(chunk_size=5000):
        days = max((then - clock_start).days, 0)
        dm01_days = max((then - restarted.get(pk, clock_start)).days, 0) if counts_for_dm01(test) else None
        for measures in groups.each(icb=icb, trust=trust, modality=modality):
            measures.wait_days.append(days)
            if dm01_days is not None:
                measures.dm01_wait_days.append(dm01_days)


def _add_slots(groups: _Groups, now: datetime) -> None:
    slots = (
        Slot.objects.filter(
            pooled=True, starts_at__gte=now - SLOT_WINDOW_PAST, starts_at__lt=now + SLOT_WINDOW_AHEAD
        )
        .exclude(status__in=[SlotStatus.BLOCKED, SlotStatus.WITHDRAWN])
        .values_list("site__code", "trust__ods_code", "site__icb__code", "modality__code", "status")
    )
    for site, trust, icb, modality, status in slots.iterator(chunk_size=5000):
        for measures in groups.each(icb=icb, trust=trust, site=site, modality=modality):
            measures.released_slots += 1
            measures.booked_slots += status == SlotStatus.BOOKED


def _add_bookings(groups: _Groups, now: datetime) -> None:
    bookings = (
        Booking.objects.filter(
            slot__starts_at__gte=now - SLOT_WINDOW_PAST, slot__starts_at__lt=now + SLOT_WINDOW_AHEAD
        )
        .order_by("slot_id", "created_at", "pk")
        .values_list(
            "slot_id",
            "status",
            "slot__starts_at",
            "slot__site__code",
            "slot__trust__ods_code",
            "slot__site__icb__code",
            "slot__modality__code",
            "referral__trust__ods_code",
            "referral__trust__icb__code",
            "referral__patient__outcode",
        )
    )
    travel = _AddedTravel()
    by_slot: dict[int, list[tuple]] = defaultdict(list)
    for row in bookings.iterator(chunk_size=5000):
        by_slot[row[0]].append(row)
        _, status, starts_at, site, slot_trust, slot_icb, modality, trust, icb, outcode = row
        if status not in HELD_BOOKINGS:
            continue
        moved = slot_trust != trust
        added_km = travel.added_km(outcode, site, modality) if moved else None
        for measures in groups.each(icb=icb, trust=trust, site=site, modality=modality):
            measures.bookings += 1
            measures.moved_cross_site += moved
            if added_km is not None:
                measures.added_travel_km.append(added_km)
        if starts_at < now:
            for measures in groups.each(icb=slot_icb, trust=slot_trust, site=site, modality=modality):
                measures.attended += status == BookingStatus.ATTENDED
                measures.did_not_attend += status == BookingStatus.DID_NOT_ATTEND
    for rows in by_slot.values():
        _, _, starts_at, site, slot_trust, slot_icb, modality, *_ = rows[0]
        if starts_at >= now:
            continue  # the slot has not happened yet: it may still be refilled
        statuses = [row[1] for row in rows]
        if BookingStatus.CANCELLED not in statuses:
            continue
        first_cancelled = statuses.index(BookingStatus.CANCELLED)
        refilled = any(status in HELD_BOOKINGS for status in statuses[first_cancelled + 1 :])
        for measures in groups.each(icb=slot_icb, trust=slot_trust, site=site, modality=modality):
            measures.cancelled_slots += 1
            measures.refilled_slots += refilled


class _AddedTravel:
    """Road-km estimate from a postcode district to a booked site, minus to the nearest site offering
    the modality (the optimiser's estimate: great-circle distance times a detour factor)."""

    def __init__(self) -> None:
        self.site_position = {
            code: (lat, lon) for code, lat, lon in Site.objects.values_list("code", "latitude", "longitude")
        }
        self.sites_offering: dict[str, set[str]] = defaultdict(set)
        for site, modality in Scanner.objects.values_list("site__code", "modality__code").distinct():
            self.sites_offering[modality].add(site)
        self.centroids = centroids()
        self._nearest: dict[tuple[str, str], float] = {}

    def km(self, outcode: str, site: str) -> float:
        lat, lon = self.centroids[outcode]
        site_lat, site_lon = self.site_position[site]
        return float(road_km(great_circle_km(lat, lon, site_lat, site_lon)))

    def added_km(self, outcode: str, site: str, modality: str) -> float | None:
        if outcode not in self.centroids or site not in self.site_position:
            return None
        key = (outcode, modality)
        if key not in self._nearest:
            candidates = self.sites_offering.get(modality) or {site}
            self._nearest[key] = min(self.km(outcode, s) for s in candidates)
        return max(self.km(outcode, site) - self._nearest[key], 0.0)
