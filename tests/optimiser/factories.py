"""Seeded random instances for the optimiser's tests (numpy Generator in, plain data out)."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import numpy as np

from booking.optimiser.allocate import NO_LATEST_DAY, AllocationProblem
from booking.optimiser.backfill import BackfillCandidate
from booking.optimiser.shortlist import PatientNeeds, SlotOption
from booking.optimiser.travel import TravelMode
from booking.rules.eligibility import ALL_ACCESS_FEATURES
from booking.rules.priority import PRIORITY_WEIGHT

# A patch of the West Midlands about 45 km x 40 km, small enough that travel limits bite.
LAT_RANGE = (52.30, 52.70)
LON_RANGE = (-2.30, -1.70)
NOW = datetime(2026, 3, 23, 9, 0, tzinfo=UTC)  # a Monday, a week before the clocks change
TRAVEL_LIMITS_KM = np.array([8.0, 15.0, 30.0, np.inf])
PRIORITIES = np.array([PRIORITY_WEIGHT[p] for p in ("routine", "soon", "cancer", "urgent")])


def random_points(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    return rng.uniform(*LAT_RANGE, size=n), rng.uniform(*LON_RANGE, size=n)


def random_allocation_problem(
    rng: np.random.Generator,
    *,
    n_patients: int = 30,
    n_sites: int = 4,
    n_days: int = 5,
    n_compat: int = 2,
    max_capacity: int = 3,
) -> AllocationProblem:
    site_lat, site_lon = random_points(rng, n_sites)
    bins = [
        (site, day, compat)
        for site in range(n_sites)
        for day in range(n_days)
        for compat in range(n_compat)
        if rng.random() < 0.7
    ]
    bin_site = np.array([b[0] for b in bins], dtype=np.int64)
    site_features = rng.integers(0, ALL_ACCESS_FEATURES + 1, size=n_sites)
    patient_lat, patient_lon = random_points(rng, n_patients)
    needs_something = rng.random(n_patients) < 0.2
    return AllocationProblem(
        patient_id=1000 + np.arange(n_patients),
        patient_lat=patient_lat,
        patient_lon=patient_lon,
        days_waited=rng.integers(0, 150, size=n_patients),
        priority_weight=rng.choice(PRIORITIES, size=n_patients, p=[0.6, 0.2, 0.1, 0.1]),
        max_travel_km=rng.choice(TRAVEL_LIMITS_KM, size=n_patients),
        patient_compat=rng.integers(0, n_compat, size=n_patients),
        bin_id=5000 + np.arange(len(bins)),
        bin_site_id=100 + bin_site,
        bin_lat=site_lat[bin_site] if bins else np.empty(0),
        bin_lon=site_lon[bin_site] if bins else np.empty(0),
        bin_day_offset=np.array([b[1] for b in bins], dtype=np.int64),
        bin_capacity=rng.integers(1, max_capacity + 1, size=len(bins)),
        bin_compat=np.array([b[2] for b in bins], dtype=np.int64),
        patient_earliest_day=np.where(
            rng.random(n_patients) < 0.3, rng.integers(0, n_days + 1, n_patients), 0
        ),
        patient_needs=np.where(needs_something, 1 << rng.integers(0, 3, size=n_patients), 0),
        bin_features=site_features[bin_site] if bins else np.empty(0),
        # some patients already booked: only days before their booking are worth offering
        patient_latest_day=np.where(
            rng.random(n_patients) < 0.2, rng.integers(-1, n_days + 1, n_patients), NO_LATEST_DAY
        ),
    )


def random_slot_options(
    rng: np.random.Generator, n: int, *, n_sites: int = 6, now: datetime = NOW, days: int = 30
) -> list[SlotOption]:
    site_lat, site_lon = random_points(rng, n_sites)
    site_is_cdc = rng.random(n_sites) < 0.3
    options = []
    for slot_id in range(n):
        site = int(rng.integers(n_sites))
        day = now.date() + timedelta(days=int(rng.integers(0, days)))
        clock = time(hour=int(rng.integers(8, 20)), minute=int(rng.choice([0, 15, 30, 45])))
        starts_at = datetime.combine(day, clock, tzinfo=UTC)
        options.append(
            SlotOption(
                slot_id=slot_id,
                site_id=site,
                site_name=f"Site {site}",
                site_is_cdc=bool(site_is_cdc[site]),
                starts_at=starts_at,
                latitude=float(site_lat[site]),
                longitude=float(site_lon[site]),
                step_free=bool(rng.random() < 0.8),
                hearing_loop=bool(rng.random() < 0.5),
                bariatric=bool(rng.random() < 0.3),
            )
        )
    return options


def random_needs(rng: np.random.Generator, *, now: datetime = NOW) -> PatientNeeds:
    lat, lon = random_points(rng, 2)
    return PatientNeeds(
        origin=(float(lat[0]), float(lon[0])),
        alt_origin=(float(lat[1]), float(lon[1])) if rng.random() < 0.3 else None,
        mode=TravelMode(rng.choice([m.value for m in TravelMode])),
        max_travel_km=float(rng.choice(TRAVEL_LIMITS_KM)) if rng.random() < 0.8 else None,
        needs_step_free=bool(rng.random() < 0.3),
        needs_hearing_loop=bool(rng.random() < 0.2),
        needs_bariatric=bool(rng.random() < 0.1),
        unavailable_dates={now.date() + timedelta(days=int(d)) for d in rng.integers(0, 30, size=5)},
        earliest=now + timedelta(hours=float(rng.uniform(0, 24 * 10))),
        time_of_day=str(rng.choice(["any", "morning", "afternoon", "evening"])),
        travel_weight=float(rng.uniform(0.5, 2.0)),
        wait_weight=float(rng.uniform(0.5, 2.0)),
    )


def random_backfill_candidates(
    rng: np.random.Generator, n: int, *, slot_starts_at: datetime, now: datetime = NOW
) -> list[BackfillCandidate]:
    lat, lon = random_points(rng, n)
    candidates = []
    for i in range(n):
        booked = rng.random() < 0.5
        current = slot_starts_at + timedelta(days=float(rng.uniform(-5, 40))) if booked else None
        candidates.append(
            BackfillCandidate(
                referral_id=i + 1,
                opted_in_short_notice=bool(rng.random() < 0.5),
                lat=float(lat[i]),
                lon=float(lon[i]),
                mode=TravelMode(rng.choice([m.value for m in TravelMode])),
                max_travel_km=float(rng.choice(TRAVEL_LIMITS_KM)),
                days_waited=int(rng.integers(0, 150)),
                priority_weight=float(rng.choice(PRIORITIES)),
                current_booking_starts_at=current,
                needs_step_free=bool(rng.random() < 0.2),
                needs_hearing_loop=bool(rng.random() < 0.1),
                needs_bariatric=bool(rng.random() < 0.05),
                min_notice_hours=float(rng.choice([2.0, 12.0, 24.0, 48.0])),
            )
        )
    return candidates
