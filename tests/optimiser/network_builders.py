"""Small networks in the database for the optimiser's and the offers' tests: a site, slots, waiters."""

from datetime import UTC, datetime, timedelta

from tests.factories import ReferralFactory, ScannerFactory, SiteFactory, SlotFactory

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
EDGBASTON = (52.45, -1.94)  # next to B15, where the factories' patients live
SHREWSBURY = (52.71, -2.79)


def site_with_scanner(modality, lat_lon=EDGBASTON, **site_fields):
    site = SiteFactory(latitude=lat_lon[0], longitude=lat_lon[1], **site_fields)
    ScannerFactory(site=site, modality=modality)
    return site


def slot_at(site, modality, *, hours: float, **fields):
    return SlotFactory(site=site, modality=modality, starts_at=NOW + timedelta(hours=hours), **fields)


def waiting_referral(exam, *, days_waited=30, **fields):
    return ReferralFactory(
        exam_type=exam,
        clock_start=NOW - timedelta(days=days_waited),
        **fields,
    )
