"""Seeded synthetic demand: patients, referrals, released slots, bookings, cancellations and DNAs.

Calibration (../shared/data/network_facts.md and fixtures/):
- referrals per trust in proportion to its 2022/23 activity;
- modality by the network's mix (fixtures/catalogue/modality_mix.csv), waiting-list modalities only;
  exam by its share within the modality (exam_types.csv);
- patients live near the trust that referred them: postcode districts within 35 km of its sites,
  weighted by exp(-distance / 8 km). We hold no population per district, so nearness to the
  trust's sites stands in for "where people live"; the README says so;
- waits drawn from a Weibull(shape 0.65): shape and scale fitted so that, once urgent and
  suspected-cancer referrals (16 %, waiting a third as long) are mixed in, about 20 % wait over
  6 weeks and 7 % over 13 weeks, the network's published figures (scale 23.8 days for the rest);
- slots from each site's scanners and opening hours; a share of capacity is released to the pool;
- a recent history of scans: about 6 % did not attend and 8 % cancelled, 40 % of the cancelled slots
  booked again for another patient by a clerk, the patient online or an accepted offer (assumptions,
  stated).
Everything is drawn from one numpy Generator seeded by the caller, so a seed gives the same data.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
from django.conf import settings
from django.db import transaction
from faker import Faker
from nhs_number import calculate_checksum
from tqdm import tqdm

from booking.models import (
    Booking,
    BookingChannel,
    BookingStatus,
    BookingStatusChange,
    Patient,
    Priority,
    Referral,
    ReferralStatus,
    TravelMode,
)
from booking.rules.distance import great_circle_km
from slots.geography import centroids
from slots.models import ExamType, Scanner, Site, Slot, SlotStatus, Trust
from slots.models.catalogue import AgeGroup
from slots.services import changes as slot_changes

LONDON = ZoneInfo("Europe/London")
WAIT_SHAPE, WAIT_SCALE_DAYS = 0.65, 23.8
MAX_WAIT_DAYS = 52 * 7
PRIORITY_MIX = {Priority.URGENT: 0.06, Priority.CANCER: 0.10, Priority.SOON: 0.16, Priority.ROUTINE: 0.68}
FAST_PRIORITIES = {Priority.URGENT, Priority.CANCER}
SLOT_MINUTES = {"CT": 15, "MR": 30, "US": 20, "XR": 10, "DEXA": 20, "NM": 60, "MG": 20, "RF": 30}
TRAVEL_MODES = [TravelMode.CAR, TravelMode.PUBLIC_TRANSPORT, TravelMode.WALKING, TravelMode.HOSPITAL_TRANSPORT]
TRAVEL_MODE_MIX = [0.62, 0.28, 0.05, 0.05]
REFERENCE_ALPHABET = "ACDEFGHJKLMNPQRTUVWXY3479"
DNA_RATE, CANCELLATION_RATE = 0.06, 0.08
# Of slots cancelled in the recent history, the share someone else was booked into (an assumption:
# most late cancellations are wasted today), and the hub's paths those refills came through.
REFILL_SHARE = 0.4
REFILL_CHANNELS = (BookingChannel.CLERK, BookingChannel.PATIENT, BookingChannel.OFFER)
CATCHMENT_KM, DECAY_KM = 35.0, 8.0
BATCH = 2000


@dataclass(frozen=True)
class DemandSize:
    name: str
    referrals: int
    slot_days: int
    released_share: float
    booked_share: float
    history_share: float


SIZES = {
    "tiny": DemandSize("tiny", 400, 7, 0.02, 0.10, 0.10),
    "demo": DemandSize("demo", 6_000, 21, 0.05, 0.12, 0.20),
    "month": DemandSize("month", 40_000, 35, 0.08, 0.15, 0.25),
    "quarter": DemandSize("quarter", 120_000, 91, 0.10, 0.15, 0.25),
}


@dataclass(frozen=True)
class DemandSummary:
    patients: int
    referrals: int
    slots: int
    open_slots: int
    bookings: int
    did_not_attend: int
    cancelled: int
    share_over_six_weeks: float
    share_over_thirteen_weeks: float


def synthetic_nhs_number(rng: np.random.Generator, used: set[str]) -> str:
    """A valid NHS number (checked by the nhs-number library's checksum) in the 999 test range."""
    while True:
        body = f"999{int(rng.integers(0, 1_000_000)):06d}"
        check = calculate_checksum(body)
        number = f"{body}{check}"
        if check != 10 and number not in used:
            used.add(number)
            return number


def booking_reference(rng: np.random.Generator, used: set[str]) -> str:
    while True:
        reference = "WM" + "".join(REFERENCE_ALPHABET[i] for i in rng.integers(0, len(REFERENCE_ALPHABET), 8))
        if reference not in used:
            used.add(reference)
            return reference



def catchment_weights(sites: list[Site], outcodes: list[str], lats: np.ndarray, lons: np.ndarray) -> np.ndarray:
    nearest = np.full(len(outcodes), np.inf)
    for site in sites:
        nearest = np.minimum(nearest, great_circle_km(lats, lons, site.latitude, site.longitude))
    weights = np.where(nearest <= CATCHMENT_KM, np.exp(-nearest / DECAY_KM), 0.0)
    # PO-box and non-geographic districts (B99, WV98 …) have no residents.
    weights[[oc[-2:] in {"99", "98"} for oc in outcodes]] = 0.0
    return weights / weights.sum()


def read_modality_mix(path: Path) -> dict[str, float]:
    with path.open(newline="", encoding="utf-8") as handle:
        rows = [r for r in csv.DictReader(handle) if r.get("booked_via_waiting_list", "yes").strip() == "yes"]
    total = sum(float(r["share_of_activity"]) for r in rows)
    return {r["modality"]: float(r["share_of_activity"]) / total for r in rows}


def _chunks(items: list, size: int) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _progress(iterable: Iterable, total: int, label: str, show: bool) -> Iterable:
    return tqdm(iterable, total=total, desc=label, unit="rows", disable=not show, leave=False)


def clear_synthetic_demand() -> None:
    """Remove everything the generator makes (and everything built on it), keeping the network."""
    from booking.models import Hold, Notification, Offer

    with transaction.atomic():
        BookingStatusChange.objects.all().delete()
        for model in (Offer, Hold, Notification):
            model.objects.all().delete()
        from wmin.feeds.models import OutboundMessage

        OutboundMessage.objects.all().delete()
        Booking.objects.all().delete()
        from accounts.models import User

        User.objects.filter(patient__isnull=False).delete()
        Referral.objects.all().delete()
        Patient.objects.all().delete()
        Slot.objects.all().delete()


def generate_demand(size: DemandSize, *, seed: int, now: datetime, show_progress: bool = False) -> DemandSummary:
    rng = np.random.default_rng(seed)
    faker = Faker("en_GB")
    faker.seed_instance(seed)
    trusts = list(Trust.objects.prefetch_related("sites").order_by("ods_code"))
    if not trusts:
        raise RuntimeError("Load the network first (manage.py load_network).")
    exams = list(ExamType.objects.select_related("modality"))
    mix = read_modality_mix(Path(settings.FIXTURES_DIR) / "catalogue" / "modality_mix.csv")
    offered = set(Scanner.objects.values_list("site__trust__ods_code", "modality__code").distinct())

    grid = centroids()
    outcodes = sorted(grid)
    lats = np.array([grid[o][0] for o in outcodes])
    lons = np.array([grid[o][1] for o in outcodes])

    activity = np.array([t.annual_activity for t in trusts], dtype=float)
    per_trust = rng.multinomial(size.referrals, activity / activity.sum())

    with transaction.atomic():
        slots_by_modality = _generate_slots(size, rng, now, show_progress)
        patients, referrals = _generate_waiting_list(
            trusts, per_trust, exams, mix, offered, outcodes, lats, lons, rng, faker, now, show_progress
        )
        bookings, dna, cancelled = _generate_bookings(referrals, slots_by_modality, size, rng, now, show_progress)

    waits = np.array([(now - r.clock_start).days for r in referrals if r.status == ReferralStatus.WAITING])
    return DemandSummary(
        patients=len(patients),
        referrals=len(referrals),
        slots=sum(len(v) for v in slots_by_modality.values()),
        open_slots=Slot.objects.filter(status=SlotStatus.OPEN, starts_at__gt=now).count(),
        bookings=bookings,
        did_not_attend=dna,
        cancelled=cancelled,
        share_over_six_weeks=float((waits >= 42).mean()) if len(waits) else 0.0,
        share_over_thirteen_weeks=float((waits >= 91).mean()) if len(waits) else 0.0,
    )


def _local_day_times(day: date, opens: datetime.time, closes: datetime.time, minutes: int) -> list[datetime]:
    start = datetime.combine(day, opens, tzinfo=LONDON)
    end = datetime.combine(day, closes, tzinfo=LONDON)
    count = int((end - start).total_seconds() // (minutes * 60))
    return [start + timedelta(minutes=minutes * i) for i in range(count)]


def _generate_slots(size: DemandSize, rng: np.random.Generator, now: datetime, show: bool) -> dict[str, list[Slot]]:
    scanners = list(
        Scanner.objects.select_related("site", "modality").filter(modality__booked_from_waiting_list=True).order_by("pk")
    )
    first_day = (now.astimezone(LONDON) + timedelta(days=1)).date()
    history_days = 28
    rows: list[Slot] = []
    for scanner in tqdm(scanners, desc="slots", unit="scanners", disable=not show, leave=False):
        site, code = scanner.site, scanner.modality.code
        minutes = SLOT_MINUTES.get(code, 20)
        for offset in range(-history_days, size.slot_days):
            day = first_day + timedelta(days=offset)
            if day.weekday() >= 5 and not site.open_weekends:
                continue
            times = _local_day_times(day, site.opens_at, site.closes_at, minutes)
            released = rng.random(len(times)) < (size.released_share * (3 if offset < 0 else 1))
            for starts_at, keep in zip(times, released, strict=True):
                if not keep:
                    continue
                starts_utc = starts_at.astimezone(ZoneInfo("UTC"))
                rows.append(
                    Slot(
                        site=site,
                        trust_id=site.trust_id,
                        scanner=scanner,
                        modality=scanner.modality,
                        starts_at=starts_utc,
                        ends_at=starts_utc + timedelta(minutes=minutes),
                        pooled=True,  # open, the model's default
                        ris_slot_id=f"{site.code}-{scanner.pk}-{starts_at:%Y%m%d%H%M}",
                    )
                )
    for chunk in _progress(list(_chunks(rows, BATCH)), math.ceil(len(rows) / BATCH), "saving slots", show):
        Slot.objects.bulk_create(chunk)
    saved = Slot.objects.filter(pooled=True).select_related("modality").only("pk", "starts_at", "site_id", "modality__code")
    by_modality: dict[str, list[Slot]] = {}
    for slot in saved:
        by_modality.setdefault(slot.modality.code, []).append(slot)
    return by_modality


def _draw_wait_days(rng: np.random.Generator, priority: str) -> int:
    days = WAIT_SCALE_DAYS * rng.weibull(WAIT_SHAPE)
    if priority in FAST_PRIORITIES:
        days /= 3
    return int(min(days, MAX_WAIT_DAYS))


def _generate_waiting_list(
    trusts: list[Trust],
    per_trust: np.ndarray,
    exams: list[ExamType],
    mix: dict[str, float],
    offered: set[tuple[str, str]],
    outcodes: list[str],
    lats: np.ndarray,
    lons: np.ndarray,
    rng: np.random.Generator,
    faker: Faker,
    now: datetime,
    show: bool,
) -> tuple[list[Patient], list[Referral]]:
    used_numbers: set[str] = set()
    used_refs: set[str] = set()
    priorities, priority_p = list(PRIORITY_MIX), np.array(list(PRIORITY_MIX.values()))
    patients: list[Patient] = []
    referral_specs: list[tuple[int, Trust, ExamType, str, int]] = []
    total = int(per_trust.sum())
    bar = tqdm(total=total, desc="waiting list", unit="referrals", disable=not show, leave=False)
    for trust, count in zip(trusts, per_trust, strict=True):
        weights = catchment_weights(list(trust.sites.all()), outcodes, lats, lons)
        modalities = [m for m in mix if (trust.ods_code, m) in offered]
        modality_p = np.array([mix[m] for m in modalities])
        modality_p /= modality_p.sum()
        by_modality = {m: [e for e in exams if e.modality.code == m] for m in modalities}
        children_only = trust.ods_code == "RQ3"  # Birmingham Women's and Children's
        for _ in range(int(count)):
            modality = modalities[rng.choice(len(modalities), p=modality_p)]
            options = [e for e in by_modality[modality] if not (children_only and e.age_group == AgeGroup.ADULT_ONLY)]
            options = options or by_modality[modality]
            shares = np.array([max(e.share_of_modality, 1e-3) for e in options])
            exam = options[rng.choice(len(options), p=shares / shares.sum())]
            child = exam.age_group == AgeGroup.PAEDIATRIC_ONLY or (children_only and rng.random() < 0.7)
            age_days = int(rng.integers(1 * 365, 16 * 365)) if child else int(rng.integers(18 * 365, 92 * 365))
            outcode = outcodes[rng.choice(len(outcodes), p=weights)]
            inward = f"{rng.integers(1, 10)}{REFERENCE_ALPHABET[rng.integers(0, 20)]}{REFERENCE_ALPHABET[rng.integers(0, 20)]}"
            sex = "F" if rng.random() < 0.54 else "M"
            given = faker.first_name_female() if sex == "F" else faker.first_name_male()
            family = faker.last_name()
            patients.append(
                Patient(
                    nhs_number=synthetic_nhs_number(rng, used_numbers),
                    given_name=given,
                    family_name=family,
                    date_of_birth=(now - timedelta(days=age_days)).date(),
                    sex=sex,
                    postcode=f"{outcode} {inward}",
                    outcode=outcode,
                    email=f"{given.lower()}.{family.lower().replace(' ', '')}@example.com",
                    mobile=f"07700{rng.integers(900000, 900999)}",
                    short_notice_opt_in=bool(rng.random() < 0.35),
                )
            )
            priority = priorities[rng.choice(len(priorities), p=priority_p)]
            referral_specs.append((len(patients) - 1, trust, exam, priority, _draw_wait_days(rng, priority)))
            bar.update(1)
    bar.close()
    for chunk in _chunks(patients, BATCH):
        Patient.objects.bulk_create(chunk)
    if not all(p.pk for p in patients[:1]):  # backends without RETURNING: read the keys back
        keyed = dict(Patient.objects.values_list("nhs_number", "pk"))
        for p in patients:
            p.pk = keyed[p.nhs_number]
    referrals = [
        Referral(
            patient_id=patients[index].pk,
            trust=trust,
            exam_type=exam,
            booking_reference=booking_reference(rng, used_refs),
            placer_order_number=f"{trust.ods_code}-ORD{n:07d}",
            priority=priority,
            clock_start=now - timedelta(days=wait, hours=int(rng.integers(0, 10))),
            travel_mode=TRAVEL_MODES[rng.choice(len(TRAVEL_MODES), p=TRAVEL_MODE_MIX)],
            max_travel_km=int(rng.choice([15, 25, 40, 60])) if rng.random() < 0.5 else None,
            needs_step_free=bool(rng.random() < 0.06),
            needs_hearing_loop=bool(rng.random() < 0.03),
            needs_bariatric=bool(rng.random() < 0.02),
            referrer=f"Dr {faker.last_name()}",
        )
        for n, (index, trust, exam, priority, wait) in enumerate(referral_specs, start=1)
    ]
    for chunk in _progress(list(_chunks(referrals, BATCH)), math.ceil(len(referrals) / BATCH), "saving referrals", show):
        Referral.objects.bulk_create(chunk)
    if referrals and not referrals[0].pk:
        keyed = dict(Referral.objects.values_list("booking_reference", "pk"))
        for r in referrals:
            r.pk = keyed[r.booking_reference]
    return patients, referrals


def _generate_bookings(
    referrals: list[Referral],
    slots_by_modality: dict[str, list[Slot]],
    size: DemandSize,
    rng: np.random.Generator,
    now: datetime,
    show: bool,
) -> tuple[int, int, int]:
    """Book some referrals into future pool slots, and write a recent history of scans.

    A history booking's slot always falls after its referral's clock start. Of the slots patients
    cancelled, REFILL_SHARE were booked again for another waiting patient, through the hub's own
    paths (a clerk, the patient online, an accepted offer), so the dashboards' refill rate has
    refills to count."""
    future = {m: [s for s in slots if s.starts_at > now] for m, slots in slots_by_modality.items()}
    past = {m: [s for s in slots if s.starts_at <= now] for m, slots in slots_by_modality.items()}
    for pool in (*future.values(), *past.values()):
        rng.shuffle(pool)
    bookings: list[Booking] = []
    slot_updates: dict[int, str] = {}
    referral_updates: dict[int, str] = {}
    dna = cancelled = 0
    order = rng.permutation(len(referrals))
    booked_n = int(len(referrals) * size.booked_share)
    history_n = int(len(referrals) * size.history_share)
    spare: dict[str, list[Referral]] = {}  # referrals booked by nobody else: who refills a cancelled slot
    for position in order[booked_n + history_n :][::-1]:
        referral = referrals[int(position)]
        spare.setdefault(referral.exam_type.modality.code, []).append(referral)
    for position in _progress(order[: booked_n + history_n], booked_n + history_n, "bookings", show):
        referral = referrals[int(position)]
        code = referral.exam_type.modality.code
        history = len(bookings) >= booked_n
        slot = _slot_after(past.get(code) or [], referral.clock_start) if history else _pop(future.get(code))
        if slot is None:
            continue
        if not history:
            status = BookingStatus.CONFIRMED
            slot_updates[slot.pk], referral_updates[referral.pk] = SlotStatus.BOOKED, ReferralStatus.BOOKED
        else:
            draw = rng.random()
            if draw < DNA_RATE:
                status, dna = BookingStatus.DID_NOT_ATTEND, dna + 1
                slot_updates[slot.pk], referral_updates[referral.pk] = SlotStatus.BOOKED, ReferralStatus.WAITING
            elif draw < DNA_RATE + CANCELLATION_RATE:
                status, cancelled = BookingStatus.CANCELLED, cancelled + 1
                slot_updates[slot.pk] = SlotStatus.OPEN
                referral_updates[referral.pk] = ReferralStatus.WAITING
            else:
                status = BookingStatus.ATTENDED
                slot_updates[slot.pk], referral_updates[referral.pk] = SlotStatus.BOOKED, ReferralStatus.COMPLETED
        referral.status = referral_updates[referral.pk]
        bookings.append(Booking(referral_id=referral.pk, slot_id=slot.pk, status=status, channel=BookingChannel.RIS))
        if status == BookingStatus.CANCELLED and rng.random() < REFILL_SHARE:
            refill = _refill(spare.get(code) or [], slot, rng)
            if refill is not None:
                attended = rng.random() >= DNA_RATE
                dna += not attended
                slot_updates[slot.pk] = SlotStatus.BOOKED
                referral_updates[refill.pk] = ReferralStatus.COMPLETED if attended else ReferralStatus.WAITING
                refill.status = referral_updates[refill.pk]
                bookings.append(
                    Booking(
                        referral_id=refill.pk,
                        slot_id=slot.pk,
                        status=BookingStatus.ATTENDED if attended else BookingStatus.DID_NOT_ATTEND,
                        channel=REFILL_CHANNELS[int(rng.integers(len(REFILL_CHANNELS)))],
                    )
                )
    for chunk in _chunks(bookings, BATCH):
        Booking.objects.bulk_create(chunk)
    slot_changes.set_statuses(slot_updates)
    for status in set(referral_updates.values()):
        ids = [pk for pk, s in referral_updates.items() if s == status]
        for chunk in _chunks(ids, 900):
            Referral.objects.filter(pk__in=chunk).update(status=status)
    return len(bookings), dna, cancelled


def _pop(pool: list[Slot] | None) -> Slot | None:
    return pool.pop() if pool else None


def _slot_after(pool: list[Slot], clock_start: datetime, tries: int = 20) -> Slot | None:
    """A slot of the (shuffled) pool later than `clock_start`, or None if a few tries find none."""
    for back in range(1, min(tries, len(pool)) + 1):
        if pool[-back].starts_at > clock_start:
            return pool.pop(len(pool) - back)
    return None


def _refill(spare: list[Referral], slot: Slot, rng: np.random.Generator, tries: int = 20) -> Referral | None:
    """A waiting referral referred before the slot, to be booked into it after a cancellation."""
    for back in range(1, min(tries, len(spare)) + 1):
        if spare[-back].clock_start < slot.starts_at:
            return spare.pop(len(spare) - back)
    return None
