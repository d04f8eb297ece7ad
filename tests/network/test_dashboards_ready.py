"""Dashboards never empty: a fresh demo has today's snapshot, weeks of reconstructed history before
it, refills from every booking path, and a simulation whose capacity advice the managers can read."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from booking.models import BookingChannel, BookingStatus, Referral, ReferralStatus
from tests.conftest import FROZEN_NOW
from tests.factories import BookingFactory, ExamTypeFactory, SlotFactory, TrustFactory
from tests.network.factories import new_referral, small_network
from wmin.demo.dashboards import prepare_dashboards
from wmin.network.models import Dimension, SimulationRun, SimulationStatus, WaitSnapshot
from wmin.network.snapshots import backfill, series, take_snapshot
from wmin.network.waits import compute_groups
from wmin.simulation.demand import SIZES, generate_demand

pytestmark = pytest.mark.django_db


def test_a_fresh_demo_has_a_month_of_trend_and_a_simulation_with_advice(frozen_clock, network):
    generate_demand(SIZES["tiny"], seed=5, now=FROZEN_NOW)
    ready = prepare_dashboards(FROZEN_NOW, weeks=2)
    points = series(Dimension.NETWORK, "all", "share_over_6_weeks")
    assert len(points) == 29 and points[-1].day == FROZEN_NOW.date()
    reconstructed = WaitSnapshot.objects.filter(metrics__reconstructed=True).dates("date", "day")
    assert len(reconstructed) == 28 and FROZEN_NOW.date() not in reconstructed
    assert ready.simulation.status == SimulationStatus.FINISHED and "advice" in ready.simulation.results
    today = WaitSnapshot.objects.get(date=FROZEN_NOW.date(), dimension=Dimension.NETWORK).metrics
    assert today["refill_rate"] and today["refill_rate"] > 0  # the history's refills are counted

    again = prepare_dashboards(FROZEN_NOW, weeks=2)
    assert (again.snapshot_rows, again.simulation) == (0, None)
    assert SimulationRun.objects.count() == 1


def test_a_reconstructed_day_counts_who_was_waiting_then(frozen_clock):
    trust = TrustFactory(ods_code="TR1")
    exam = ExamTypeFactory(code="MBRAI")

    def referred(days_ago: int, **kwargs):
        return new_referral(
            trust=trust, exam_type=exam, clock_start=FROZEN_NOW - dt.timedelta(days=days_ago), **kwargs
        )

    referred(20)  # still waiting
    referred(3)  # referred since
    scanned = referred(30, status=ReferralStatus.COMPLETED)
    slot = SlotFactory(starts_at=FROZEN_NOW - dt.timedelta(days=10), status="booked")
    BookingFactory(referral=scanned, slot=slot, status=BookingStatus.ATTENDED)
    removed = referred(40, status=ReferralStatus.REMOVED)
    Referral.objects.filter(pk=removed.pk).update(updated_at=FROZEN_NOW - dt.timedelta(days=8))

    def waits(days_ago: int) -> tuple[int, float | None]:
        rows = compute_groups(FROZEN_NOW, as_of=FROZEN_NOW - dt.timedelta(days=days_ago))
        metrics = next(r for r in rows if r.dimension == Dimension.TRUST and r.key == "TR1").metrics
        return metrics["waiting"], metrics["median_wait_weeks"]

    assert waits(15) == (3, 2.14)  # waits of 5, 15 and 25 days
    assert waits(9) == (2, 3.0)  # scanned 10 days ago: 11 and 31 days
    assert waits(5) == (1, 2.14)  # removed 8 days ago; the one referred 3 days ago not yet there
    assert waits(0)[0] == 2


def test_backfill_leaves_days_already_snapshotted_alone(frozen_clock):
    small_network(FROZEN_NOW)
    backfill(FROZEN_NOW, days=3)
    first = list(WaitSnapshot.objects.order_by("pk").values_list("pk", flat=True))
    assert backfill(FROZEN_NOW, days=3) == 0
    assert list(WaitSnapshot.objects.order_by("pk").values_list("pk", flat=True)) == first


@pytest.mark.parametrize("channel", list(BookingChannel))
def test_a_freed_slot_filled_by_any_path_counts_as_refilled(frozen_clock, channel):
    net = small_network(FROZEN_NOW)
    slot = SlotFactory(site=net.site_b, starts_at=FROZEN_NOW - dt.timedelta(days=2), status="booked")
    BookingFactory(
        referral=new_referral(trust=net.trust_b, exam_type=net.exam),
        slot=slot,
        status=BookingStatus.CANCELLED,
    )
    BookingFactory(
        referral=new_referral(trust=net.trust_b, exam_type=net.exam),
        slot=slot,
        status=BookingStatus.ATTENDED,
        channel=channel,
    )
    beta = next(r for r in compute_groups(FROZEN_NOW) if r.dimension == Dimension.SITE and r.key == "SB1")
    assert (beta.metrics["cancelled_slots"], beta.metrics["refilled_slots"]) == (1, 1)


def test_the_overview_trend_says_which_points_were_reconstructed(frozen_clock, manager_client):
    small_network(FROZEN_NOW)
    backfill(FROZEN_NOW, days=3)
    take_snapshot(FROZEN_NOW)
    body = manager_client.get(reverse("network:overview")).content.decode()
    trend = body[
        body.index('id="network-trend-title"') : body.index("</svg>", body.index('id="network-trend-title"'))
    ]
    assert trend.count("<circle") == 4
    assert "Points up to 22 November 2026 were reconstructed from the waiting list" in body


def test_demand_made_again_starts_the_dashboards_afresh(frozen_clock, network):
    generate_demand(SIZES["tiny"], seed=5, now=FROZEN_NOW)
    stale = WaitSnapshot.objects.create(
        date=FROZEN_NOW.date() - dt.timedelta(days=1),
        dimension="network",
        key="all",
        label="old",
        metrics={},
        taken_at=FROZEN_NOW,
    )
    old_run = SimulationRun.objects.create(status=SimulationStatus.FINISHED, results={"advice": {}})
    ready = prepare_dashboards(FROZEN_NOW, history_days=1, weeks=1, fresh=True)
    assert not WaitSnapshot.objects.filter(pk=stale.pk).exists()
    assert WaitSnapshot.objects.filter(date=stale.date, metrics__reconstructed=True).exists()
    assert list(SimulationRun.objects.all()) == [ready.simulation] and ready.simulation.pk != old_run.pk
