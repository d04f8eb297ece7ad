"""Sites with open slots for a referral's scan, for the choice page's tests (unit and browser)."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from tests.factories import ScannerFactory, SiteFactory, SlotFactory


def local(moment: dt.datetime, hour: int) -> dt.datetime:
    """That day at `hour` o'clock, network time."""
    return timezone.localtime(moment).replace(hour=hour, minute=0).astimezone(dt.UTC)


def add_sites_with_slots(referral, count: int, *, first: int) -> None:
    """`count` sites named "Site N" that do the referral's scan, four days of slots at each."""
    modality = referral.exam_type.modality
    start = timezone.now().replace(minute=0, second=0, microsecond=0) + dt.timedelta(days=3)
    for n in range(first, first + count):
        site = SiteFactory(name=f"Site {n}", latitude=52.3 + n / 100, longitude=-1.9, step_free=n % 2 == 0)
        ScannerFactory(site=site, modality=modality)
        for day in range(4):
            SlotFactory(site=site, modality=modality, starts_at=local(start + dt.timedelta(days=day), 9 + n % 8))
