"""Cancellation in -> first offer sent, at a realistic waiting-list size.

python -m bench.backfill [--waiting 50000] [--cancellations 100] [--seed 1]

Builds a throwaway database the way the test runner does (SQLite in a temporary file; or, when
DATABASE_URL points at PostgreSQL, a `test_bench_backfill_<pid>` database created and dropped here), loads the
real network from fixtures/, adds a seeded waiting list, then for each cancellation times:

    cancel the booking and reopen the slot (what the S15 handler commits)
    -> booking.services.offers.start_backfill: rank (and plan a chain), record the cascade, send
       the first offer through the notifications backend (its message handed over on commit)

and prints the median, p95 and max. Then, for --refusals other bookings, times a refusal by the RIS:

    booking.services.ris.report_ris_message (what the HL7 outbox calls on an AR/AE to an SRM^S01):
    the booking into conflict, its slot out of the pool, and the patient offered the next best slot
    at once (their choice-page ranking over the whole pool) through the notifications backend

whose p95 shares the 1 s budget.
"""

from __future__ import annotations

import argparse
import itertools
import os
import re
import statistics
import tempfile
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import django
import numpy as np

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wmin.settings.test")
django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402
from nhs_number import calculate_checksum  # noqa: E402

from booking.models import (  # noqa: E402  # noqa: E402
    Booking,
    BookingChannel,
    BookingStatus,
    Offer,
    OfferSource,
    OfferStatus,
    Patient,
    Priority,
    Referral,
    ReferralStatus,
    RisAnswer,
    RisMessageKind,
)
from booking.services.offers import start_backfill  # noqa: E402
from booking.services.ris import report_ris_message  # noqa: E402
from slots.geography import centroids  # noqa: E402
from slots.models import ExamType, Modality, Site, Slot, SlotStatus, Trust  # noqa: E402
from slots.network_loader import load_network  # noqa: E402

SERVED_AREAS = ("B", "CV", "DY", "WS", "WV", "WR", "HR", "ST", "TF", "SY")
MODALITIES = ("CT", "MR", "US")
PRIORITY_SHARE = {Priority.ROUTINE: 0.70, Priority.SOON: 0.15, Priority.CANCER: 0.08, Priority.URGENT: 0.07}
BOOKED_SHARE = 0.20
OPT_IN_SHARE = 0.30


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.backfill", description=__doc__)
    parser.add_argument("--waiting", type=int, default=50_000)
    parser.add_argument("--cancellations", type=int, default=100)
    parser.add_argument("--refusals", type=int, default=100)
    parser.add_argument("--open-slots", type=int, default=5_000, help="free pool slots a refused patient may be offered")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as scratch:
        if connection.vendor == "sqlite":
            connection.settings_dict["TEST"]["NAME"] = str(Path(scratch) / "bench.sqlite3")
        else:  # a database of its own, so a test run against the same server is never touched
            connection.settings_dict["TEST"]["NAME"] = f"test_bench_backfill_{os.getpid()}"
        old_name = connection.settings_dict["NAME"]
        connection.creation.create_test_db(verbosity=0, autoclobber=True)
        try:
            run(args)
        finally:
            connection.creation.destroy_test_db(old_name, verbosity=0)


def run(args: argparse.Namespace) -> None:
    rng = np.random.default_rng(args.seed)
    now = timezone.now().replace(microsecond=0)
    started = time.perf_counter()
    load_network(Path(settings.FIXTURES_DIR))
    booked = populate_waiting_list(rng, args.waiting, now)
    add_open_slots(rng, args.open_slots, now)
    print(
        f"{connection.vendor}: {args.waiting:,} on the waiting list, {len(booked):,} of them booked; "
        f"built in {time.perf_counter() - started:.1f} s"
    )

    latencies, offers_made, candidates = [], [], []
    for booking_id in rng.choice(booked, size=min(args.cancellations, len(booked)), replace=False):
        began = time.perf_counter()
        slot_id = cancel(int(booking_id))
        first = start_backfill(slot_id, now=now)
        latencies.append(time.perf_counter() - began)
        offers_made.append(1 if first is not None and first.status == OfferStatus.SENT else 0)
        ranked = Offer.objects.filter(slot_id=slot_id).select_related("run").first()
        candidates.append(ranked.run.patients if ranked and ranked.run else 0)

    ms = sorted(1000 * s for s in latencies)
    print(f"cancellations: {len(ms)}; first offer sent for: {sum(offers_made)}")
    print(f"candidates read per slot: median {statistics.median(candidates):,.0f}, max {max(candidates):,}")
    print(f"cancellation -> first offer sent: {spread(ms)}")

    cancelled = set(Booking.objects.filter(status=BookingStatus.CANCELLED).values_list("pk", flat=True))
    still_booked = [b for b in booked if b not in cancelled]
    refusal_ms, reoffered = [], 0
    for n, booking_id in enumerate(rng.choice(still_booked, size=min(args.refusals, len(still_booked)), replace=False)):
        began = time.perf_counter()
        with transaction.atomic():
            booking = Booking.objects.select_related("slot").get(pk=int(booking_id))
            report_ris_message(
                booking_id=booking.pk,
                trust_id=booking.slot.trust_id,
                message_ref=f"BENCH-REFUSAL-{n}",
                kind=RisMessageKind.BOOK,
                answer=RisAnswer.REFUSED,
                said="Slot already booked locally",
                now=now,
                actor_label="bench RIS",
            )
        refusal_ms.append(1000 * (time.perf_counter() - began))
        reoffered += Offer.objects.filter(referral_id=booking.referral_id, source=OfferSource.REFUSED).exists()
    if refusal_ms:
        print(f"refusals: {len(refusal_ms)}; next best slot offered for: {reoffered}")
        print(f"RIS refusal -> next best slot offered: {spread(sorted(refusal_ms))}")


def spread(ms: list[float]) -> str:
    p95 = ms[max(0, int(np.ceil(0.95 * len(ms))) - 1)]
    return f"median {statistics.median(ms):.1f} ms, p95 {p95:.1f} ms, max {ms[-1]:.1f} ms"


def cancel(booking_id: int) -> int:
    """What the S15 handler commits: the booking cancelled, the slot back in the pool, the referral waiting."""
    with transaction.atomic():
        booking = Booking.objects.select_for_update().get(pk=booking_id)
        Booking.objects.filter(pk=booking_id).update(status=BookingStatus.CANCELLED)
        Slot.objects.filter(pk=booking.slot_id).update(status=SlotStatus.OPEN)
        Referral.objects.filter(pk=booking.referral_id).update(status=ReferralStatus.WAITING)
    return booking.slot_id


def populate_waiting_list(rng: np.random.Generator, size: int, now: datetime) -> list[int]:
    places = centroids()
    outcodes = [o for o in places if re.match(r"[A-Z]+", o).group(0) in SERVED_AREAS]
    modalities = {m.code: m for m in Modality.objects.filter(code__in=MODALITIES)}
    trusts = list(Trust.objects.all())
    exams = {m: list(ExamType.objects.filter(modality__code=m)) for m in MODALITIES}
    sites = {m: list(Site.objects.filter(scanners__modality__code=m).distinct()) for m in MODALITIES}

    home = rng.choice(outcodes, size=size)
    numbers = valid_nhs_numbers()
    opted_in = rng.random(size) < OPT_IN_SHARE
    patients = Patient.objects.bulk_create(
        [
            Patient(
                nhs_number=next(numbers),
                given_name="Test",
                family_name=f"Patient {i}",
                date_of_birth=(now - timedelta(days=int(rng.integers(18 * 365, 90 * 365)))).date(),
                postcode=f"{home[i]} 1AA",
                outcode=home[i],
                short_notice_opt_in=bool(opted_in[i]),
            )
            for i in range(size)
        ],
        batch_size=2000,
    )
    modality = rng.choice(MODALITIES, size=size, p=[0.4, 0.3, 0.3])
    priority = rng.choice(list(PRIORITY_SHARE), size=size, p=list(PRIORITY_SHARE.values()))
    waited = rng.exponential(22.0, size=size)
    is_booked = rng.random(size) < BOOKED_SHARE
    referrals = Referral.objects.bulk_create(
        [
            Referral(
                patient=patients[i],
                trust=trusts[i % len(trusts)],
                exam_type=exams[modality[i]][i % len(exams[modality[i]])],
                booking_reference=f"BENCH{i:07d}",
                placer_order_number=f"B{i:08d}",
                priority=priority[i],
                status=ReferralStatus.BOOKED if is_booked[i] else ReferralStatus.WAITING,
                clock_start=now - timedelta(days=float(waited[i])),
                dm01_clock_start=now - timedelta(days=float(waited[i])),
                max_travel_km=int(rng.choice([15, 25, 40, 60])) if rng.random() < 0.6 else None,
            )
            for i in range(size)
        ],
        batch_size=2000,
    )
    booked_rows = np.flatnonzero(is_booked)
    slots = Slot.objects.bulk_create(
        [
            slot_for(
                sites[modality[i]][int(rng.integers(len(sites[modality[i]])))],
                modalities[modality[i]],
                now,
                rng,
                n,
            )
            for n, i in enumerate(booked_rows)
        ],
        batch_size=2000,
    )
    bookings = Booking.objects.bulk_create(
        [
            Booking(
                referral=referrals[i], slot=slot, status=BookingStatus.CONFIRMED, channel=BookingChannel.CLERK
            )
            for i, slot in zip(booked_rows, slots, strict=True)
        ],
        batch_size=2000,
    )
    return [b.pk for b in bookings]


def slot_for(site: Site, modality: Modality, now: datetime, rng: np.random.Generator, n: int) -> Slot:
    starts = (now + timedelta(hours=float(rng.uniform(26, 24 * 35)))).replace(minute=0, second=0)
    return Slot(
        site=site,
        trust_id=site.trust_id,
        modality=modality,
        starts_at=starts,
        ends_at=starts + timedelta(minutes=20),
        status=SlotStatus.BOOKED,
        pooled=True,
        ris_slot_id=f"BENCH{n:07d}",
    )


def add_open_slots(rng: np.random.Generator, count: int, now: datetime) -> None:
    """Free pool slots across the network's scanners, over the next five weeks."""
    modalities = {m.code: m for m in Modality.objects.filter(code__in=MODALITIES)}
    sites = {m: list(Site.objects.filter(scanners__modality__code=m).distinct()) for m in MODALITIES}
    chosen = rng.choice(MODALITIES, size=count, p=[0.4, 0.3, 0.3])
    slots = []
    for n, code in enumerate(chosen):
        slot = slot_for(sites[code][int(rng.integers(len(sites[code])))], modalities[code], now, rng, 10_000_000 + n)
        slot.status = SlotStatus.OPEN
        slots.append(slot)
    Slot.objects.bulk_create(slots, batch_size=2000)


def valid_nhs_numbers() -> Iterator[str]:
    """Valid NHS numbers in the 9xx test range, in order."""
    for n in itertools.count():
        body = f"9{n:08d}"
        check = calculate_checksum(body)
        if check != 10:  # no valid check digit for this body
            yield f"{body}{check}"


if __name__ == "__main__":
    main()
