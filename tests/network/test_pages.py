"""Every network page: who may open it, what it never shows, and how it answers the wrong method."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from booking.models import Booking, Patient, Referral
from tests.conftest import FROZEN_NOW
from tests.network.factories import small_network
from wmin.network.models import AllocationRequest, WaitSnapshot
from wmin.network.snapshots import take_snapshot

pytestmark = pytest.mark.django_db


@pytest.fixture
def pages(frozen_clock, finished_simulation, running_simulation) -> list[str]:
    network = small_network(FROZEN_NOW)
    take_snapshot(FROZEN_NOW)
    done, running = finished_simulation.pk, running_simulation.pk
    allocating = AllocationRequest.objects.create(status="running", progress=10).pk
    return [
        reverse("network:overview"),
        reverse("network:waits", args=["icb"]),
        reverse("network:waits", args=["trust"]),
        reverse("network:waits", args=["site"]),
        reverse("network:waits", args=["modality"]),
        reverse("network:trends"),
        reverse("network:trends")
        + f"?dimension=trust&key={network.trust_a.ods_code}&metric=median_wait_weeks",
        reverse("network:map"),
        reverse("network:capacity"),
        reverse("network:optimiser-runs"),
        reverse("network:simulations"),
        reverse("network:simulation", args=[done]),
        reverse("network:simulation", args=[running]),
        reverse("network:simulation-progress", args=[running]),
        reverse("network:simulation-export", args=[done]),
        reverse("network:allocation", args=[allocating]),
        reverse("network:allocation-progress", args=[allocating]),
    ]


def _with_csv(urls: list[str]) -> list[str]:
    exports = [
        u + ("&" if "?" in u else "?") + "format=csv"
        for u in urls
        if "/waits/" in u or "/trends/" in u or "/map/" in u or "/optimiser-runs/" in u or "/capacity/" in u
    ]
    return urls + exports


def test_managers_and_admins_open_every_page(pages, manager_client, admin_client):
    for client in (manager_client, admin_client):
        for url in _with_csv(pages):
            assert client.get(url).status_code == 200, url


def test_clerks_and_patients_are_refused(pages, clerk_client, patient_client):
    for client in (clerk_client, patient_client):
        for url in pages:
            assert client.get(url).status_code == 403, url


def test_anonymous_visitors_are_sent_to_sign_in(pages, client):
    for url in pages:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("accounts:sign-in"))


def test_pages_answer_only_get(pages, manager_client):
    for url in pages:
        assert manager_client.post(url).status_code == 405, url
    assert manager_client.get(reverse("network:simulation-start")).status_code == 405


def test_no_patient_identifiers_on_any_manager_page_or_export(pages, manager_client):
    identifiers = set()
    for patient in Patient.objects.all():
        identifiers |= {
            patient.nhs_number,
            patient.formatted_nhs_number,
            patient.family_name,
            patient.postcode,
            patient.email,
            patient.mobile,
        }
        identifiers |= {f"{patient.given_name} {patient.family_name}"}
    identifiers |= set(Referral.objects.values_list("booking_reference", flat=True))
    identifiers |= {r for r in Referral.objects.values_list("placer_order_number", flat=True) if r}
    assert len(identifiers) > 30
    for url in _with_csv(pages):
        body = manager_client.get(url).content.decode()
        leaked = sorted(i for i in identifiers if i and i in body)
        assert not leaked, (url, leaked)


def test_pages_keep_the_content_security_policy(pages, manager_client):
    for url in pages:
        response = manager_client.get(url)
        if response["Content-Type"].startswith("text/csv"):
            continue
        body = response.content.decode()
        assert not re.search(r"<[a-z][^>]*\sstyle=", body), url  # no inline style attributes
        for script in re.findall(r"<script\b[^>]*>", body):
            assert "src=" in script or "nonce=" in script, (url, script)


def test_unknown_breakdowns_and_runs_are_not_found(frozen_clock, manager_client):
    assert manager_client.get(reverse("network:waits", args=["postcode"])).status_code == 404
    assert manager_client.get(reverse("network:trends") + "?metric=nhs_number").status_code == 404
    assert manager_client.get(reverse("network:simulation", args=[9999])).status_code == 404


def test_overview_reads_the_snapshot(frozen_clock, manager_client):
    small_network(FROZEN_NOW)
    take_snapshot(FROZEN_NOW)
    Booking.objects.all().delete()
    Referral.objects.all().delete()  # the page still shows the snapshot's figures, not live ones
    body = manager_client.get(reverse("network:overview")).content.decode()
    assert "11 patients waiting" in body
    assert "45.5% for 6 weeks or more" in body
    assert "snapshot of Monday 23 November 2026" in body


def test_overview_works_out_live_figures_before_the_first_snapshot(frozen_clock, manager_client):
    small_network(FROZEN_NOW)
    body = manager_client.get(reverse("network:overview")).content.decode()
    assert "11 patients waiting" in body
    assert "no daily snapshot had been taken yet" in body
    # ... and kept, so the next page reads it rather than working it out again.
    assert WaitSnapshot.objects.filter(date=FROZEN_NOW.date()).exists()
    assert "snapshot of Monday 23 November 2026" in manager_client.get(reverse("network:overview")).content.decode()


def test_charts_are_accessible_svg_with_a_table(pages, manager_client):
    body = manager_client.get(reverse("network:overview")).content.decode()
    assert '<svg class="network-chart"' in body and 'role="img"' in body
    assert '<title id="network-trend-title">' in body and '<desc id="network-trend-desc">' in body
    assert "The chart&#39;s data as a table" in body or "The chart's data as a table" in body
    site_map = manager_client.get(reverse("network:map")).content.decode()
    assert site_map.count("<circle ") == 2  # the small network's two sites
    assert "Sites and their median waits (the map as a table)" in site_map


def test_optimiser_runs_list_what_was_proposed_and_accepted(frozen_clock, manager_client):
    from booking.models import OfferStatus, OptimiserRun
    from tests.factories import OfferFactory

    run = OptimiserRun.objects.create(
        kind="allocation",
        started_at=FROZEN_NOW,
        patients=1200,
        slots=3400,
        solve_seconds=1.25,
        objective=98765,
        status="optimal",
        proposed=3,
        waits_before={"median_days": 35, "share_over_6_weeks": 0.2},
        waits_after={"median_days": 21, "share_over_6_weeks": 0.05},
    )
    network = small_network(FROZEN_NOW)
    referral = network.patients[1].referrals.get()
    for status in (OfferStatus.ACCEPTED, OfferStatus.ACCEPTED, OfferStatus.DECLINED):
        OfferFactory(run=run, status=status, referral=referral, slot__site=network.site_a)
    body = manager_client.get(reverse("network:optimiser-runs")).content.decode()
    assert "1,200 \u00d7 3,400" in body and "98,765" in body
    assert "2 (66.7%)" in body  # accepted of proposed
    assert "5.0 → 3.0" in body and "20.0% → 5.0%" in body
    csv_text = manager_client.get(reverse("network:optimiser-runs") + "?format=csv").content.decode()
    assert f"{run.pk},Network allocation," in csv_text


def test_the_overview_reads_a_few_snapshot_rows_not_the_waiting_list(
    frozen_clock, manager_client, django_assert_max_num_queries
):
    small_network(FROZEN_NOW)
    take_snapshot(FROZEN_NOW)
    with django_assert_max_num_queries(16):
        assert manager_client.get(reverse("network:overview")).status_code == 200


def test_a_manager_runs_the_allocation_by_hand_and_patients_get_offers(
    frozen_clock, manager_client, django_capture_on_commit_callbacks
):
    from audit.models import AuditEvent
    from booking.models import OfferSource, OfferStatus, OptimiserRun
    from wmin.network.models import AllocationRequest

    network = small_network(FROZEN_NOW)
    url = reverse("network:allocation-start")
    assert manager_client.get(url).status_code == 405

    with django_capture_on_commit_callbacks(execute=True):
        response = manager_client.post(url)

    allocation = AllocationRequest.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse(
        "network:allocation", args=[allocation.pk]
    )
    run = OptimiserRun.objects.get(kind="allocation")
    assert run.triggered_by.username == "manager"
    assert (allocation.status, allocation.progress, allocation.run) == ("finished", 100, run)
    offers = run.offers.all()
    assert offers and {(o.source, o.status) for o in offers} == {(OfferSource.ALLOCATION, OfferStatus.SENT)}
    assert allocation.offers_sent == len(offers)
    assert {o.referral.trust_id for o in offers} <= {network.site_a.trust_id, network.site_b.trust_id}
    assert AuditEvent.objects.filter(summary="Network allocation started by hand").exists()
    body = manager_client.get(response["Location"]).content.decode()
    assert f'Offers sent to patients</dt><dd class="nhsuk-summary-list__value">{len(offers)}' in body
    assert "hx-trigger" not in body


def test_a_running_allocation_shows_its_progress_with_htmx_and_without(frozen_clock, manager_client):
    from wmin.network.models import AllocationRequest

    allocation = AllocationRequest.objects.create(status="running", progress=70, stage="Sending 12 offers")
    page = manager_client.get(reverse("network:allocation", args=[allocation.pk])).content.decode()
    progress_url = reverse("network:allocation-progress", args=[allocation.pk])
    assert f'hx-get="{progress_url}"' in page and 'hx-trigger="every 2s"' in page
    assert '<progress id="allocation-progress-bar"' in page and "Sending 12 offers: 70% done" in page
    assert '<noscript><meta http-equiv="refresh" content="5"></noscript>' in page
    assert f'href="{reverse("network:allocation", args=[allocation.pk])}"' in page  # refresh without htmx
    partial = manager_client.get(progress_url, HTTP_HX_REQUEST="true").content.decode()
    assert "<html" not in partial and "70% done" in partial

    AllocationRequest.objects.filter(pk=allocation.pk).update(status="finished", progress=100)
    assert manager_client.get(progress_url, HTTP_HX_REQUEST="true")["HX-Refresh"] == "true"


def test_an_allocation_delivered_twice_runs_once(frozen_clock):
    from booking.models import OptimiserRun
    from wmin.network.allocations import run_allocation
    from wmin.network.models import AllocationRequest

    small_network(FROZEN_NOW)
    allocation = AllocationRequest.objects.create()
    assert run_allocation(allocation.pk) is True
    assert run_allocation(allocation.pk) is False
    assert OptimiserRun.objects.filter(kind="allocation").count() == 1


def test_an_allocation_that_cannot_be_queued_says_so(
    frozen_clock, manager_client, monkeypatch, django_capture_on_commit_callbacks
):
    from wmin.network import allocations
    from wmin.network.models import AllocationRequest

    monkeypatch.setattr(allocations, "delay_or_report", lambda *args: False)
    with django_capture_on_commit_callbacks(execute=True):
        response = manager_client.post(reverse("network:allocation-start"))
    assert AllocationRequest.objects.get().status == "failed"
    body = manager_client.get(response["Location"]).content.decode()
    assert "The network allocation failed: The task queue was not available" in body


def test_clerks_cannot_start_the_allocation(clerk_client):
    assert clerk_client.post(reverse("network:allocation-start")).status_code == 403


def test_a_backfill_runs_chain_shows_as_counts_without_patients(frozen_clock, manager_client):
    from booking.models import OptimiserRun

    OptimiserRun.objects.create(
        kind="backfill",
        started_at=FROZEN_NOW,
        patients=40,
        slots=1,
        status="ranked",
        proposed=2,
        detail={
            "slot_id": 1,
            "ranked": [501, 502],
            "chain": {
                "moves": [
                    {"referral_id": 501, "from_slot_id": 9, "to_slot_id": 1},
                    {"referral_id": 777, "from_slot_id": None, "to_slot_id": 9},
                ],
                "weighted_days_gained": 61.4,
                "status": "optimal",
                "solve_seconds": 0.01,
            },
        },
    )
    body = manager_client.get(reverse("network:optimiser-runs")).content.decode()
    assert "chain of 2 moves, 61 urgency-weighted days sooner" in body
    assert "777" not in body and "501" not in body
