"""CSV exports match the tables and are audited; snapshots are taken once a day and feed the trends."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from django.urls import reverse

from audit.models import AuditAction, AuditEvent
from tests.conftest import FROZEN_NOW
from tests.network.factories import small_network
from wmin.network.models import WaitSnapshot
from wmin.network.snapshots import series, take_snapshot
from wmin.network.tasks import take_wait_snapshot

pytestmark = pytest.mark.django_db


def _csv(response) -> list[dict[str, str]]:
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    return list(csv.DictReader(io.StringIO(response.content.decode())))


def test_waits_export_has_every_group_and_the_raw_figures(frozen_clock, manager_client):
    small_network(FROZEN_NOW)
    take_snapshot(FROZEN_NOW)
    rows = _csv(manager_client.get(reverse("network:waits", args=["trust"]) + "?format=csv"))
    alpha = next(r for r in rows if r["key"] == "TA1")
    assert {r["key"] for r in rows} >= {"TA1", "TB1"}
    assert alpha["label"] == "Alpha"
    assert alpha["waiting"] == "11"
    assert alpha["over_6_weeks"] == "5"
    assert float(alpha["share_over_6_weeks"]) == pytest.approx(5 / 11, abs=1e-4)
    assert float(alpha["refill_rate"]) == 0.5
    beta = next(r for r in rows if r["key"] == "TB1")
    assert beta["median_wait_weeks"] == ""  # nobody waiting: empty, not zero


def test_exports_are_audited(frozen_clock, manager_client):
    small_network(FROZEN_NOW)
    manager_client.get(reverse("network:map") + "?format=csv")
    event = AuditEvent.objects.get(action=AuditAction.EXPORT)
    assert event.actor_label == "manager"
    assert event.detail["rows"] == 2
    assert event.patient_id is None


def test_map_export_lists_each_site_with_its_position(frozen_clock, manager_client):
    network = small_network(FROZEN_NOW)
    take_snapshot(FROZEN_NOW)
    rows = _csv(manager_client.get(reverse("network:map") + "?format=csv"))
    alpha = next(r for r in rows if r["site_code"] == network.site_a.code)
    assert float(alpha["latitude"]) == network.site_a.latitude
    assert alpha["patients_booked_waiting"] == "1"


def test_taking_a_snapshot_twice_a_day_replaces_it(frozen_clock):
    small_network(FROZEN_NOW)
    first = take_snapshot(FROZEN_NOW)
    second = take_snapshot(FROZEN_NOW + dt.timedelta(hours=3))
    assert first == second == WaitSnapshot.objects.count()
    assert WaitSnapshot.objects.get(dimension="network").metrics["waiting"] == 11


def test_the_celery_task_takes_todays_snapshot(frozen_clock):
    small_network(FROZEN_NOW)
    assert take_wait_snapshot.delay().get() == WaitSnapshot.objects.count()
    assert WaitSnapshot.objects.latest_date() == dt.date(2026, 11, 23)


def test_trend_reads_one_point_per_snapshot_day_and_exports_it(frozen_clock, manager_client):
    small_network(FROZEN_NOW)
    for days_ago in (20, 10, 0):
        take_snapshot(FROZEN_NOW - dt.timedelta(days=days_ago))
    points = series("network", "all", "over_6_weeks")
    assert [p.day for p in points] == [dt.date(2026, 11, 3), dt.date(2026, 11, 13), dt.date(2026, 11, 23)]
    # Waits were shorter 20 days ago: fewer had reached 6 weeks.
    assert [p.value for p in points] == sorted(p.value for p in points)
    rows = _csv(
        manager_client.get(reverse("network:trends") + "?dimension=network&key=all&metric=waiting&format=csv")
    )
    assert [r["date"] for r in rows] == ["2026-11-03", "2026-11-13", "2026-11-23"]


def test_trend_partial_for_htmx_has_no_page_around_it(frozen_clock, manager_client):
    small_network(FROZEN_NOW)
    take_snapshot(FROZEN_NOW)
    body = manager_client.get(
        reverse("network:trends") + "?metric=median_wait_weeks", HTTP_HX_REQUEST="true"
    ).content.decode()
    assert "<html" not in body and "<svg" in body
