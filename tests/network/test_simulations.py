"""Running a what-if simulation from the page: queued as a task, audited, progress, results, CSV."""

from __future__ import annotations

import csv
import io

import pytest
from django.urls import reverse

from audit.models import AuditAction, AuditEvent
from wmin.network import simulations
from wmin.network.models import SimulationRun, SimulationStatus
from wmin.network.results import bound_lines

pytestmark = pytest.mark.django_db
SMALL_RUN = {"weeks": "2", "seed": "3", "scale": "0.01", "source": "synthetic"}


@pytest.fixture(autouse=True)
def quick_calibration(monkeypatch):
    """The synthetic state's capacity calibration simulates 12 weeks; tests take the plain estimate."""
    from wmin.simulation.whatif import synthetic

    monkeypatch.setattr(synthetic, "_capacity_factor", lambda *args: 1.0)


def test_starting_a_run_queues_it_audits_it_and_runs_it(
    frozen_clock, manager_client, network, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = manager_client.post(reverse("network:simulation-start"), SMALL_RUN)
    run = SimulationRun.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse(
        "network:simulation", args=[run.pk]
    )
    assert len(callbacks) == 1
    assert run.status == SimulationStatus.FINISHED and run.progress == 100
    assert run.params == {"weeks": 2, "seed": 3, "scale": 0.01, "source": "synthetic"}
    assert [p["policy"] for p in run.results["policies"]] == [
        "status_quo",
        "patient_choice",
        "choice_allocation_backfill",
    ]
    event = AuditEvent.objects.get(action=AuditAction.RUN)
    assert event.object_id == str(run.pk) and event.actor_label == "manager"
    body = manager_client.get(response["Location"]).content.decode()
    assert "Results by policy after 2 weeks" in body and "hx-trigger" not in body


def test_a_run_delivered_twice_runs_once(frozen_clock, network):
    run = SimulationRun.objects.create(params={"weeks": 1, "seed": 1, "scale": 0.01, "source": "synthetic"})
    assert simulations.run_simulation(run.pk) is True
    finished_at = SimulationRun.objects.get().finished_at
    assert simulations.run_simulation(run.pk) is False
    assert SimulationRun.objects.get().finished_at == finished_at


def test_a_failing_run_is_marked_failed_with_its_reason(frozen_clock, monkeypatch):
    run = SimulationRun.objects.create(params={"weeks": 1, "seed": 1, "scale": 0.01, "source": "synthetic"})

    def broken(*args, **kwargs):
        raise RuntimeError("no capacity data")

    monkeypatch.setattr(simulations, "simulate", broken)
    assert simulations.run_simulation(run.pk) is False
    run.refresh_from_db()
    assert run.status == SimulationStatus.FAILED and "no capacity data" in run.error


def test_invalid_parameters_are_shown_against_their_fields(frozen_clock, manager_client):
    response = manager_client.post(
        reverse("network:simulation-start"), {"weeks": "0", "seed": "x", "scale": "3"}
    )
    # Post-redirect-get: back to the simulator page, whose address a reload or bookmark can use.
    assert (response.status_code, response["Location"]) == (303, reverse("network:simulations"))
    body = manager_client.get(response["Location"]).content.decode()
    assert "There is a problem" in body
    assert (
        'name="seed" type="text" value="x"' in body and 'name="weeks" type="text" value="0"' in body
    )  # kept
    assert "Enter a number of weeks from 1 to 26" in body and 'href="#weeks"' in body
    assert "Enter a size between 0.01 and 1" in body
    assert not SimulationRun.objects.exists()
    # shown once: a reload of the page afterwards is the plain form
    assert "There is a problem" not in manager_client.get(response["Location"]).content.decode()


def test_progress_polls_every_2_seconds_with_a_plain_link_and_meta_refresh(
    frozen_clock, manager_client, running_simulation
):
    page = manager_client.get(reverse("network:simulation", args=[running_simulation.pk])).content.decode()
    progress_url = reverse("network:simulation-progress", args=[running_simulation.pk])
    assert f'hx-get="{progress_url}"' in page and 'hx-trigger="every 2s"' in page
    assert '<progress id="simulation-progress-bar"' in page and 'value="40"' in page
    assert '<noscript><meta http-equiv="refresh" content="5"></noscript>' in page
    assert f'href="{reverse("network:simulation", args=[running_simulation.pk])}"' in page
    partial = manager_client.get(progress_url, HTTP_HX_REQUEST="true")
    assert "<html" not in partial.content.decode() and "40% done" in partial.content.decode()


def test_progress_asks_the_browser_to_reload_once_finished(frozen_clock, manager_client, finished_simulation):
    url = reverse("network:simulation-progress", args=[finished_simulation.pk])
    response = manager_client.get(url, HTTP_HX_REQUEST="true")
    assert response["HX-Refresh"] == "true"
    assert "See the results" in manager_client.get(url).content.decode()  # without htmx: a link


def test_results_page_draws_charts_and_says_whether_the_goal_is_met(
    frozen_clock, manager_client, finished_simulation
):
    body = manager_client.get(reverse("network:simulation", args=[finished_simulation.pk])).content.decode()
    assert body.count('<svg class="network-chart"') == 5
    assert "Share waiting 6 weeks or more by the DM01 clock, by week" in body
    assert "Share waiting 6 weeks or more since referral, by week" in body
    assert "the goal of at most 1% waiting 6 weeks or more by the DM01 clock" in body
    assert "The capacity lower bound" in body and "Capacity advice" in body
    assert "Median wait by ICB at the end" in body


def test_results_export_as_csv_one_row_per_policy_per_week(frozen_clock, manager_client, finished_simulation):
    response = manager_client.get(reverse("network:simulation-export", args=[finished_simulation.pk]))
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert len(rows) == 3 * 3  # 3 policies x weeks 0, 1, 2
    first = finished_simulation.results["policies"][0]["weeks"][1]
    row = next(r for r in rows if r["policy"] == "status_quo" and r["week"] == "1")
    assert float(row["share_over_6_weeks"]) == first["share_over_6_weeks"]
    assert int(row["waiting"]) == first["waiting"]
    assert AuditEvent.objects.filter(action=AuditAction.EXPORT).count() == 1


def test_results_export_of_an_unfinished_run_is_not_found(frozen_clock, manager_client, running_simulation):
    assert (
        manager_client.get(reverse("network:simulation-export", args=[running_simulation.pk])).status_code
        == 404
    )


def test_a_run_from_the_database_starts_from_its_waiting_list(frozen_clock, network):
    from slots.models import ExamType, Trust
    from tests.network.factories import new_patient, new_referral

    trust = Trust.objects.get(ods_code="RWP")
    mri = ExamType.objects.filter(modality__code="MR").first()
    for _ in range(30):
        new_referral(trust=trust, exam_type=mri, patient=new_patient(postcode="WR5 1DD", outcode="WR5"))
    run = SimulationRun.objects.create(params={"weeks": 1, "seed": 1, "scale": 0.05, "source": "database"})
    assert simulations.run_simulation(run.pk)
    run.refresh_from_db()
    assert run.results["calibration"]["starting_waiting_list"] == 30
    assert run.results["policies"][0]["weeks"][0]["waiting"] == 30


def test_a_run_from_the_database_counts_in_dm01_the_exams_it_counts(frozen_clock, network):
    from slots.models import ExamType, Trust
    from tests.network.factories import new_patient, new_referral

    trust = Trust.objects.get(ods_code="RWP")
    for code, count in (("FBAEN", 4), ("FBASW", 6)):  # barium enema counts in DM01, a swallow does not
        for _ in range(count):
            exam = ExamType.objects.get(code=code)
            new_referral(trust=trust, exam_type=exam, patient=new_patient(postcode="WR5 1DD", outcode="WR5"))
    run = SimulationRun.objects.create(params={"weeks": 1, "seed": 1, "scale": 0.05, "source": "database"})
    assert simulations.run_simulation(run.pk)
    run.refresh_from_db()
    start = run.results["policies"][0]["weeks"][0]
    assert (start["waiting"], start["dm01_waiting"]) == (10, 4)


def test_a_run_from_the_database_starts_each_dm01_clock_where_it_stands_today(frozen_clock, network):
    import datetime as dt

    from booking.models import Referral
    from slots.models import ExamType, Trust
    from tests.network.factories import new_patient, new_referral

    now = dt.datetime.now(dt.UTC)
    trust = Trust.objects.get(ods_code="RWP")
    mri = ExamType.objects.filter(modality__code="MR").exclude(dm01_test="").first()
    referrals = [
        new_referral(trust=trust, exam_type=mri, patient=new_patient(postcode="WR5 1DD", outcode="WR5"))
        for _ in range(10)
    ]
    ids = [r.pk for r in referrals]
    Referral.objects.filter(pk__in=ids).update(
        clock_start=now - dt.timedelta(days=60), dm01_clock_start=now - dt.timedelta(days=60)
    )
    # Four missed an appointment 10 days ago: their DM01 clocks restarted then.
    Referral.objects.filter(pk__in=ids[:4]).update(dm01_clock_start=now - dt.timedelta(days=10))
    run = SimulationRun.objects.create(params={"weeks": 1, "seed": 1, "scale": 0.05, "source": "database"})
    assert simulations.run_simulation(run.pk)
    run.refresh_from_db()
    start = run.results["policies"][0]["weeks"][0]
    assert (start["share_over_6_weeks"], start["dm01_waiting"], start["share_over_6_weeks_dm01"]) == (1.0, 10, 0.6)


def test_the_bound_names_the_modalities_whose_referrals_need_nearly_all_their_slots():
    clock = {"shortfall_within_tolerance": 3, "share_within_tolerance": 0.001, "counted_at_start": 3000}
    lines = bound_lines({"referral": clock, "dm01": clock, "slots_needed_share": {"MR": 0.99, "CT": 0.9}})
    assert len(lines) == 3
    assert "MR 99.0%" in lines[2] and "CT" not in lines[2]
    assert len(bound_lines({"referral": clock, "dm01": clock, "slots_needed_share": {"CT": 0.9}})) == 2
