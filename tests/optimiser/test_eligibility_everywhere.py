"""Issue 19, items 1 and 4: no path proposes or books a slot that breaks the patient's saved needs,
dates they cannot do, travel limit, age against the site's ages, exam or notice.

The oracle here is written out plainly (calendar age, haversine road km, local dates), not taken
from `booking.rules.eligibility`, so a path and the rule cannot be wrong together unnoticed.
"""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.models import Role
from booking.models import Booking, BookingChannel, Hold, Offer, Referral, ReferralStatus
from booking.optimiser import services
from booking.optimiser.services import backfill_freed_slot, run_network_allocation
from booking.services.bookings import confirm_booking
from booking.services.choices import ChoiceFilters, choices_for
from booking.services.errors import NotEligible
from booking.services.holds import hold_slot
from booking.worklist.candidates import candidates_for_slots
from booking.worklist.shortlist import shortlist_for
from slots.geography import locate
from slots.models import Site, Slot
from tests.factories import BookingFactory, ExamTypeFactory, PatientFactory, SlotFactory, UserFactory
from tests.optimiser.network_builders import EDGBASTON, NOW, site_with_scanner, slot_at, waiting_referral

pytestmark = pytest.mark.django_db
LONDON = ZoneInfo("Europe/London")
STOKE = (53.00, -2.18)  # about 90 km by road from the patients' B15


def _local(moment: datetime) -> date:
    return moment.astimezone(LONDON).date()


def _age(born: date, on: date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def _road_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * 6371.0088 * math.asin(math.sqrt(h)) * 1.3


def broken_rules(referral: Referral, slot: Slot, *, now: datetime, short_notice: bool) -> list[str]:
    """Every saved need or limit the slot breaks for this referral (empty: it suits)."""
    site, patient, day = slot.site, referral.patient, _local(slot.starts_at)
    broken = []
    if slot.modality_id != referral.exam_type.modality_id:
        broken.append("exam")
    notice = 48 if referral.travel_mode == "hospital_transport" else 4 if short_notice and patient.short_notice_opt_in else 24
    notice = max(notice, referral.exam_type.preparation_lead_days * 24)
    if slot.starts_at - now < timedelta(hours=notice):
        broken.append("notice")
    if day.isoformat() in (referral.unavailable_dates or []):
        broken.append("date")
    for needed, has in (
        (referral.needs_step_free, site.step_free),
        (referral.needs_hearing_loop, site.hearing_loop),
        (referral.needs_bariatric, site.bariatric_scanner),
    ):
        if needed and not has:
            broken.append("access")
    km = _road_km(locate(patient.outcode), (site.latitude, site.longitude))
    if referral.max_travel_km is not None and km > referral.max_travel_km + 1e-6:
        broken.append("travel")
    age = _age(patient.date_of_birth, day)
    if age < site.min_age or (site.max_age is not None and age > site.max_age):
        broken.append("age")
    return broken


# Named cases ------------------------------------------------------------------------------------


def test_the_allocation_never_offers_a_date_the_patient_saved_as_one_they_cannot_do(ct, ct_exam):
    """The bug: a patient who saved 7-9 December was offered Tuesday 8 December by the allocation."""
    now = datetime(2026, 12, 4, 9, 0, tzinfo=LONDON)
    site = site_with_scanner(ct)
    tuesday = SlotFactory(site=site, modality=ct, starts_at=datetime(2026, 12, 8, 10, 0, tzinfo=LONDON))
    thursday = SlotFactory(site=site, modality=ct, starts_at=datetime(2026, 12, 10, 10, 0, tzinfo=LONDON))
    patient = waiting_referral(ct_exam, unavailable_dates=["2026-12-07", "2026-12-08", "2026-12-09"])

    run_network_allocation(now=now)

    [offer] = Offer.objects.filter(referral=patient)
    assert offer.slot_id == thursday.pk
    assert not Offer.objects.filter(slot=tuesday).exists()


def test_a_patient_who_cannot_do_any_open_date_is_offered_nothing_by_the_allocation(ct, ct_exam):
    site = site_with_scanner(ct)
    slot = slot_at(site, ct, hours=50)
    waiting_referral(ct_exam, unavailable_dates=[_local(slot.starts_at).isoformat()])

    run = run_network_allocation(now=NOW)

    assert run.proposed == 0


def test_adults_are_never_offered_the_childrens_hospital_and_children_are(ct, ct_exam):
    childrens = site_with_scanner(ct, min_age=0, max_age=15, name="Birmingham Children's Hospital")
    adults_site = site_with_scanner(ct, STOKE)
    child_slot, adult_slot = slot_at(childrens, ct, hours=50), slot_at(adults_site, ct, hours=60)
    adult = waiting_referral(ct_exam, days_waited=80, patient=PatientFactory(date_of_birth=date(1949, 5, 1)))
    child = waiting_referral(ct_exam, days_waited=5, patient=PatientFactory(date_of_birth=date(2019, 5, 1)))

    run_network_allocation(now=NOW)

    offers = dict(Offer.objects.values_list("referral_id", "slot_id"))
    assert offers == {child.pk: child_slot.pk, adult.pk: adult_slot.pk}
    adult_choices = choices_for(adult, slots=Slot.objects.all(), sites=Site.objects.all(),
                                filters=ChoiceFilters.saved_for(adult), now=NOW)
    assert [c.site.pk for c in adult_choices.ranked] == [adults_site.pk]
    [unsuitable] = [c for c in adult_choices.unsuitable if c.site.pk == childrens.pk]
    assert unsuitable.unsuitable_because == "Scans patients under 16 only"


def test_a_patient_turning_16_before_the_slot_is_not_offered_the_childrens_hospital(ct, ct_exam):
    childrens = site_with_scanner(ct, min_age=0, max_age=15)
    slot = slot_at(childrens, ct, hours=24 * 5)
    birthday = _local(slot.starts_at) - timedelta(days=1)
    nearly_adult = waiting_referral(ct_exam, patient=PatientFactory(date_of_birth=birthday.replace(year=birthday.year - 16)))

    assert backfill_freed_slot(slot.pk, now=NOW) == []
    with pytest.raises(NotEligible, match="under 16 only"):
        confirm_booking(nearly_adult, slot.pk, channel=BookingChannel.CLERK, now=NOW)


def test_confirm_refuses_a_slot_on_a_saved_unavailable_date_with_a_clear_message(ct, ct_exam):
    slot = slot_at(site_with_scanner(ct), ct, hours=50)
    day = _local(slot.starts_at)
    referral = waiting_referral(ct_exam, unavailable_dates=[day.isoformat()])

    with pytest.raises(NotEligible) as refused:
        confirm_booking(referral, slot.pk, channel=BookingChannel.CLERK, now=NOW)

    assert refused.value.message == (
        f"The patient cannot do {day:%-d %B %Y} (a saved date they cannot do). Nothing has been booked: choose another time."
    )
    assert not Booking.objects.exists()
    Slot.objects.get(pk=slot.pk, status="open")


def test_a_hold_on_a_slot_the_rule_refuses_is_refused_before_anything_is_held(ct, ct_exam):
    slot = slot_at(site_with_scanner(ct), ct, hours=50)
    day = _local(slot.starts_at)
    referral = waiting_referral(ct_exam, unavailable_dates=[day.isoformat()])

    with pytest.raises(NotEligible) as refused:
        hold_slot(referral, slot.pk, now=NOW)

    assert refused.value.message == (
        f"The patient cannot do {day:%-d %B %Y} (a saved date they cannot do). Choose another time."
    )
    assert not Hold.objects.exists()
    Slot.objects.get(pk=slot.pk, status="open")


def test_confirm_refuses_a_site_beyond_the_travel_limit_or_without_a_needed_feature(ct, ct_exam):
    far = slot_at(site_with_scanner(ct, STOKE, name="Royal Stoke"), ct, hours=50)
    stairs = slot_at(site_with_scanner(ct, step_free=False, name="Old Wing"), ct, hours=50)
    referral = waiting_referral(ct_exam, max_travel_km=30, needs_step_free=True)

    with pytest.raises(NotEligible, match="Royal Stoke is further than the patient's travel limit of 30 km"):
        confirm_booking(referral, far.pk, channel=BookingChannel.API, now=NOW)
    with pytest.raises(NotEligible, match="Old Wing does not have step-free access"):
        confirm_booking(referral, stairs.pk, channel=BookingChannel.API, now=NOW)


def test_the_trusts_own_ris_booking_is_recorded_whatever_the_saved_needs(ct, ct_exam):
    slot = slot_at(site_with_scanner(ct), ct, hours=50)
    referral = waiting_referral(ct_exam, unavailable_dates=[_local(slot.starts_at).isoformat()])

    booking = confirm_booking(referral, slot.pk, channel=BookingChannel.RIS, now=NOW)

    assert booking.slot_id == slot.pk


def test_the_clerks_candidates_and_backfill_skip_a_patient_who_cannot_do_the_day(ct, ct_exam, trust):
    slot = slot_at(site_with_scanner(ct), ct, hours=30)
    clerk = UserFactory(role=Role.CLERK, trust=trust)
    cannot = waiting_referral(ct_exam, days_waited=90, trust=trust, unavailable_dates=[_local(slot.starts_at).isoformat()])
    can = waiting_referral(ct_exam, days_waited=10, trust=trust)

    ranked = candidates_for_slots(clerk, [Slot.objects.select_related("site").get(pk=slot.pk)], now=NOW)
    offers = backfill_freed_slot(slot.pk, now=NOW)

    assert [c.referral_id for c in ranked[slot.pk]] == [can.pk]
    assert [o.referral_id for o in offers] == [can.pk]
    assert cannot.pk not in [o.referral_id for o in offers]


# Property: every path, generated patients -----------------------------------------------------

patients = st.lists(
    st.fixed_dictionaries(
        {
            "born": st.dates(min_value=date(1930, 1, 1), max_value=date(2024, 1, 1)),
            "unavailable": st.lists(st.integers(min_value=0, max_value=9), max_size=4, unique=True),
            "max_travel_km": st.one_of(st.none(), st.sampled_from([5, 20, 60])),
            "step_free": st.booleans(),
            "bariatric": st.booleans(),
            "opted_in": st.booleans(),
            "transport": st.booleans(),
            "prep_days": st.sampled_from([0, 0, 2]),
            "booked_on_day": st.one_of(st.none(), st.integers(min_value=6, max_value=9)),
            "waited": st.integers(min_value=0, max_value=120),
        }
    ),
    min_size=1,
    max_size=6,
)


@pytest.fixture
def small_network(ct, ct_exam, trust):
    """A children's hospital, a site without step-free access, a bariatric site and a far one; a
    slot every few hours over ten days at each."""
    sites = [
        site_with_scanner(ct, EDGBASTON, min_age=0, max_age=15, name="Children's"),
        site_with_scanner(ct, (52.48, -1.90), step_free=False, name="Stairs"),
        site_with_scanner(ct, (52.41, -1.51), bariatric_scanner=True, name="Bariatric"),
        site_with_scanner(ct, STOKE, name="Far"),
    ]
    for site in sites:
        for hours in range(3, 24 * 10, 11):
            slot_at(site, ct, hours=hours)
    return {"sites": sites, "exam": ct_exam, "clerk": UserFactory(role=Role.CLERK, trust=trust), "trust": trust}


def _make_patients(network, generated) -> list[Referral]:
    referrals = []
    for spec in generated:
        patient = PatientFactory(date_of_birth=spec["born"], short_notice_opt_in=spec["opted_in"])
        exam = network["exam"] if not spec["prep_days"] else ExamTypeFactory(
            modality=network["exam"].modality, preparation_lead_days=spec["prep_days"]
        )
        referral = waiting_referral(
            exam,
            days_waited=spec["waited"],
            patient=patient,
            trust=network["trust"],
            unavailable_dates=[(_local(NOW) + timedelta(days=d)).isoformat() for d in spec["unavailable"]],
            max_travel_km=spec["max_travel_km"],
            needs_step_free=spec["step_free"],
            needs_bariatric=spec["bariatric"],
            travel_mode="hospital_transport" if spec["transport"] else "car",
        )
        if spec["booked_on_day"] is not None:
            held = slot_at(network["sites"][2], network["exam"].modality, hours=24 * spec["booked_on_day"] + 1,
                           status="booked")
            BookingFactory(referral=referral, slot=held)
            Referral.objects.filter(pk=referral.pk).update(status=ReferralStatus.BOOKED)
            referral.refresh_from_db()
        referrals.append(referral)
    return referrals


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(generated=patients)
def test_no_path_proposes_a_slot_that_breaks_a_patients_needs_dates_age_or_limits(small_network, generated, monkeypatch):
    monkeypatch.setattr(services, "CHAIN_TIME_LIMIT_SECONDS", 5.0)
    Offer.objects.all().delete()
    Booking.objects.all().delete()
    Referral.objects.all().delete()
    Slot.objects.filter(status="booked").delete()
    referrals = _make_patients(small_network, generated)
    by_pk = {r.pk: r for r in referrals}
    open_slots = list(Slot.objects.filter(status="open").select_related("site").order_by("starts_at", "pk"))
    proposals: list[tuple[str, Referral, Slot, bool]] = []

    # The patient's shortlist and the clerk's (one ranking, two callers).
    for referral in referrals:
        choices = choices_for(referral, slots=Slot.objects.all(), sites=Site.objects.all(),
                              filters=ChoiceFilters.saved_for(referral), now=NOW)
        proposals += [("shortlist", referral, Slot.objects.get(pk=s.slot_id), False)
                      for c in choices.ranked for s in c.slots]
        rows = shortlist_for(small_network["clerk"], referral, now=NOW).rows
        proposals += [("clerk shortlist", referral, Slot.objects.get(pk=r.slot_id), False) for r in rows]

    # The clerk's candidates for freed slots, and automatic backfill (with chains).
    freed = open_slots[:: max(1, len(open_slots) // 6)]
    ranked = candidates_for_slots(small_network["clerk"], freed, now=NOW)
    proposals += [("clerk candidates", by_pk[c.referral_id], slot, True) for slot in freed for c in ranked[slot.pk]]
    for slot in freed:
        for offer in backfill_freed_slot(slot.pk, now=NOW):
            proposals.append((f"backfill ({offer.source})", by_pk[offer.referral_id], slot, True))
    Offer.objects.all().delete()

    # The network allocation.
    run_network_allocation(now=NOW)
    for offer in Offer.objects.select_related("slot__site"):
        proposals.append(("allocation", by_pk[offer.referral_id], offer.slot, False))

    broken = [
        (path, referral.pk, slot.pk, rules)
        for path, referral, slot, short in proposals
        if (rules := broken_rules(referral, slot, now=NOW, short_notice=short))
    ]
    assert broken == []


def test_the_property_tests_oracle_catches_what_the_rule_forbids(small_network):
    """The oracle above can fail: it flags each kind of broken rule."""
    childrens, stairs, _, far = small_network["sites"]
    slot = Slot.objects.filter(site=childrens).order_by("starts_at")[0]
    adult = waiting_referral(small_network["exam"], patient=PatientFactory(date_of_birth=date(1950, 1, 1)),
                             unavailable_dates=[_local(slot.starts_at).isoformat()])
    assert set(broken_rules(adult, slot, now=NOW, short_notice=False)) == {"notice", "date", "age"}
    far_slot = Slot.objects.filter(site=far).order_by("-starts_at")[0]
    limited = waiting_referral(small_network["exam"], max_travel_km=20, needs_step_free=True)
    assert broken_rules(limited, far_slot, now=NOW, short_notice=False) == ["travel"]
    stairs_slot = Slot.objects.filter(site=stairs).order_by("-starts_at")[0]
    assert broken_rules(limited, stairs_slot, now=NOW, short_notice=False) == ["access"]


def test_the_network_loader_gives_birmingham_childrens_hospital_its_ages_and_every_other_site_all(network):
    ages = dict(Site.objects.values_list("code", "max_age"))
    assert ages.pop("RQ301") == 15
    assert set(ages.values()) == {None}
    assert set(Site.objects.values_list("min_age", flat=True)) == {0}
