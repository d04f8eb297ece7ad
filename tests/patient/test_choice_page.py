"""The choice page: every site that can do the exam, ranked, filtered with or without JavaScript."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEvent
from booking.models import Hold
from booking.services.holds import hold_slot
from slots.models import SlotStatus
from tests.factories import ModalityFactory, ReferralFactory, ScannerFactory, SiteFactory, SlotFactory
from tests.patient.choice_network import add_sites_with_slots, local

pytestmark = pytest.mark.django_db


@pytest.fixture
def network_for(referral):
    """Three sites that do the referral's scan, one that does not; slots at each."""
    modality = referral.exam_type.modality
    near = SiteFactory(name="Queen Elizabeth Hospital", latitude=52.451, longitude=-1.942, step_free=True, hearing_loop=True)
    cdc = SiteFactory(name="Coventry CDC", kind="cdc", latitude=52.408, longitude=-1.510, step_free=True, hearing_loop=False)
    far = SiteFactory(name="Royal Stoke", latitude=53.003, longitude=-2.213, step_free=False)
    mri_only = SiteFactory(name="MRI Only Centre", latitude=52.45, longitude=-1.93)
    for site in (near, cdc, far):
        ScannerFactory(site=site, modality=modality)
    ScannerFactory(site=mri_only, modality=ModalityFactory(code="MR"))
    start = timezone.now().replace(minute=0, second=0, microsecond=0) + dt.timedelta(days=2)
    slots = {
        "near_late": SlotFactory(site=near, modality=modality, starts_at=local(start + dt.timedelta(days=20), 9)),
        "near_afternoon": SlotFactory(site=near, modality=modality, starts_at=local(start + dt.timedelta(days=21), 14)),
        "cdc_soon": SlotFactory(site=cdc, modality=modality, starts_at=local(start + dt.timedelta(days=1), 9)),
        "cdc_later": SlotFactory(site=cdc, modality=modality, starts_at=local(start + dt.timedelta(days=2), 10)),
        "far_soon": SlotFactory(site=far, modality=modality, starts_at=local(start, 11)),
        "booked": SlotFactory(site=near, modality=modality, starts_at=local(start, 9), status=SlotStatus.BOOKED),
    }
    return {"near": near, "cdc": cdc, "far": far, "mri_only": mri_only, "slots": slots}


def choices_url(referral):
    return reverse("booking:patient-choices", kwargs={"referral_id": referral.pk})


def test_every_site_that_does_the_exam_is_listed_ranked(patient_client, referral, network_for):
    page = patient_client.get(choices_url(referral))
    body = page.content.decode()
    assert page.status_code == 200
    assert "3 sites can do this scan. 3 have appointments that suit you." in body
    assert "MRI Only Centre" not in body
    # a day sooner is worth 10 minutes more travel: the CDC's soon slot beats the near site's late one
    assert body.index("Coventry CDC") < body.index("Queen Elizabeth Hospital")
    for text in ("Distance", "Travel time", "Earliest appointment for you", "Indicative wait", "Accessibility",
                 "Community diagnostic centre (CDC)", "Hospital", "miles"):
        assert text in body
    assert reverse("booking:patient-site-times", kwargs={"referral_id": referral.pk, "site_id": network_for["cdc"].pk}) in body
    assert AuditEvent.objects.filter(object_type="booking.Referral", action="view", patient_id=referral.patient_id).exists()


def test_filters_work_as_a_plain_get_form(patient_client, referral, network_for):
    body = patient_client.get(choices_url(referral), {"filtered": "1", "needs": "step_free", "max_travel_km": "40",
                                                       "time_of_day": "afternoon"}).content.decode()
    assert "Royal Stoke" in body  # listed, but under other sites with the reason
    assert "No step-free access" in body
    ranked = body.split("Other sites that do this scan")[0]
    assert "Royal Stoke" not in ranked
    assert "Coventry CDC" not in ranked  # only mornings there
    assert "Queen Elizabeth Hospital" in ranked
    assert "No appointments at the times you can do" in body


def test_dates_i_cannot_do_are_left_out(patient_client, referral, network_for):
    cdc_day = timezone.localtime(network_for["slots"]["cdc_soon"].starts_at).date()
    body = patient_client.get(choices_url(referral), {"filtered": "1", "unavailable_dates": cdc_day.strftime("%d/%m/%Y")}).content.decode()
    assert timezone.localtime(network_for["slots"]["cdc_later"].starts_at).strftime("%-d %b") in body
    assert timezone.localtime(network_for["slots"]["cdc_soon"].starts_at).strftime("%a %-d %b, %-I") not in body


def test_htmx_gets_only_the_results(patient_client, referral, network_for):
    partial = patient_client.get(choices_url(referral), {"filtered": "1", "travel_mode": "walking"}, HTTP_HX_REQUEST="true")
    body = partial.content.decode()
    assert partial.status_code == 200
    assert "<html" not in body
    assert 'id="choices-summary"' in body
    assert "walking" in body


def test_the_form_has_a_real_action_beside_hx_get(patient_client, referral, network_for):
    body = patient_client.get(choices_url(referral)).content.decode()
    assert f'action="{choices_url(referral)}"' in body
    assert f'hx-get="{choices_url(referral)}"' in body
    assert 'method="get"' in body


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"unavailable_dates": "next tuesday"}, "We could not read “next tuesday”"),
        ({"unavailable_dates": "1/1/2020"}, "Dates you cannot do must be today or in the future"),
        ({"work_postcode": "ZZ99 9ZZ"}, "We could not find the postcode ZZ99 9ZZ"),
        ({"travel_mode": "rocket"}, "Select how you will travel"),
        ({"max_travel_km": "7"}, "Select how far you can travel"),
    ],
)
def test_bad_filters_are_explained_in_plain_english(patient_client, referral, network_for, params, message):
    page = patient_client.get(choices_url(referral), {"filtered": "1", **params})
    body = page.content.decode()
    assert page.status_code == 200
    assert message in body
    assert "There is a problem" in body
    assert "<title>Error:" in body
    partial = patient_client.get(choices_url(referral), {"filtered": "1", **params}, HTTP_HX_REQUEST="true")
    assert message in partial.content.decode()


def test_closer_to_work_measures_from_the_nearer_postcode(patient_client, referral, network_for):
    body = patient_client.get(choices_url(referral), {"filtered": "1", "work_postcode": "CV1 2WT"}).content.decode()
    assert "from the other postcode you gave" in body


def test_unknown_home_postcode_still_lists_sites(patient_client, referral, network_for):
    referral.patient.postcode, referral.patient.outcode = "ZZ9 9ZZ", "ZZ9"
    referral.patient.save()
    body = patient_client.get(choices_url(referral)).content.decode()
    assert "We could not find your postcode on our map" in body
    assert "Coventry CDC" in body


def test_the_page_runs_a_bounded_number_of_queries(patient_client, referral, network_for, django_assert_max_num_queries):
    more_sites = [SiteFactory() for _ in range(20)]
    for site in more_sites:
        ScannerFactory(site=site, modality=referral.exam_type.modality)
        for day in range(3, 8):
            SlotFactory(site=site, modality=referral.exam_type.modality, starts_at=timezone.now() + dt.timedelta(days=day))
    # session, user, referral, sites (with first slots), slots, audit row, the header's patient name,
    # and the session save (a savepoint pair and an update): the same with 3 sites or 300.
    with django_assert_max_num_queries(10):
        assert patient_client.get(choices_url(referral)).status_code == 200
    with django_assert_max_num_queries(11):
        assert patient_client.get(choices_url(referral), {"filtered": "1", "time_of_day": "morning",
                                                           "unavailable_dates": "1/1/2099"}).status_code == 200


def test_a_slot_taken_while_choosing_shows_the_next_best_at_once(patient_client, referral, network_for):
    taken = network_for["slots"]["cdc_soon"]
    hold_slot(ReferralFactory(exam_type=referral.exam_type), taken.pk, now=timezone.now())
    page = patient_client.post(reverse("booking:patient-hold", kwargs={"referral_id": referral.pk}), {"slot_id": taken.pk})
    body = page.content.decode()
    assert page.status_code == 409
    assert "someone else is booking that appointment" in body
    assert "The next best appointments for you" in body
    assert "Coventry CDC" in body


def test_holding_a_slot_goes_to_confirm_and_saves_preferences(patient_client, referral, network_for):
    slot = network_for["slots"]["cdc_soon"]
    response = patient_client.post(
        reverse("booking:patient-hold", kwargs={"referral_id": referral.pk}),
        {"slot_id": slot.pk, "filter_query": "filtered=1&travel_mode=public_transport&needs=step_free"},
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("booking:patient-confirm", kwargs={"referral_id": referral.pk})
    assert Hold.objects.get(referral=referral).slot_id == slot.pk
    referral.refresh_from_db()
    assert (referral.travel_mode, referral.needs_step_free) == ("public_transport", True)


def test_hold_without_a_slot_is_explained(patient_client, referral, network_for):
    page = patient_client.post(reverse("booking:patient-hold", kwargs={"referral_id": referral.pk}), {"slot_id": ""})
    assert page.status_code == 400
    assert "Choose an appointment time" in page.content.decode()


def test_all_times_at_one_site(patient_client, referral, network_for):
    url = reverse("booking:patient-site-times", kwargs={"referral_id": referral.pk, "site_id": network_for["near"].pk})
    body = patient_client.get(url).content.decode()
    assert "Appointment times at Queen Elizabeth Hospital" in body
    assert body.count('name="slot_id"') == 2  # the booked one is not offered
    mri_url = reverse("booking:patient-site-times", kwargs={"referral_id": referral.pk, "site_id": network_for["mri_only"].pk})
    assert patient_client.get(mri_url).status_code == 404


FILTERED = (
    "?filtered=1&time_of_day=morning&needs=step_free&max_travel_km=60&travel_mode=public_transport"
    "&work_postcode=CV1+2AA&unavailable_dates=25%2F12%2F2026"
)


@pytest.mark.parametrize("query", ["", FILTERED])
def test_the_choice_page_makes_the_same_few_queries_for_3_sites_or_30(patient_client, referral, query):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def queries_for_page() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert patient_client.get(choices_url(referral) + query).status_code == 200
        return len(captured)

    add_sites_with_slots(referral, 3, first=0)
    with_3 = queries_for_page()
    add_sites_with_slots(referral, 27, first=3)
    with_30 = queries_for_page()
    assert with_30 == with_3
    assert with_30 <= 20
