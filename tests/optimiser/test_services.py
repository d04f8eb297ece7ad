from datetime import timedelta

import pytest
from django.utils import timezone

from booking.models import Booking, Offer, OfferSource, OfferStatus, Priority, ReferralStatus
from booking.optimiser import services
from booking.optimiser.backfill import rank_backfill
from booking.optimiser.services import backfill_freed_slot, run_network_allocation
from slots.models import Slot
from tests.factories import BookingFactory, ExamTypeFactory
from tests.optimiser.network_builders import NOW, site_with_scanner, slot_at, waiting_referral

pytestmark = pytest.mark.django_db

@pytest.fixture(autouse=True)
def _chain_planner_unhurried(monkeypatch):
    """These tests are about which chain is planned, not how fast: a loaded CI machine must not
    turn CP-SAT's 0.5 s production limit into a 'feasible' or empty plan."""
    monkeypatch.setattr(services, "CHAIN_TIME_LIMIT_SECONDS", 20.0)


def test_network_allocation_proposes_offers_not_bookings_and_serves_the_urgent_first(ct, ct_exam):
    site = site_with_scanner(ct)
    only_slot = slot_at(site, ct, hours=50)
    routine = waiting_referral(ct_exam, days_waited=80)
    urgent = waiting_referral(ct_exam, days_waited=2, priority=Priority.URGENT)

    run = run_network_allocation(now=NOW)

    [offer] = Offer.objects.all()
    assert (offer.referral_id, offer.slot_id) == (urgent.pk, only_slot.pk)
    assert (offer.source, offer.status, offer.run_id) == (
        OfferSource.ALLOCATION,
        OfferStatus.PROPOSED,
        run.pk,
    )
    assert offer.reason == (
        f"Network allocation: {site.name}, {timezone.localtime(only_slot.starts_at):%a %-d %b}; "
        "waiting 2 days when offered"
    )
    assert Booking.objects.count() == 0
    assert (run.patients, run.slots, run.proposed, run.status) == (2, 1, 1, "optimal")
    assert run.detail["waits_today"]["median_days"] == 41
    assert set(run.waits_before) >= {"median_days", "share_over_6_weeks"}  # nearest site only, at scan
    assert set(run.waits_after) >= {"median_days", "p92_days", "share_over_6_weeks", "share_over_13_weeks"}
    assert run.finished_at >= run.started_at
    assert routine.offers.count() == 0


def test_running_the_allocation_twice_proposes_nothing_twice(ct, ct_exam):
    site = site_with_scanner(ct)
    for hours in (50, 60, 70):
        slot_at(site, ct, hours=hours)
    for _ in range(2):
        waiting_referral(ct_exam)

    first = run_network_allocation(now=NOW)
    second = run_network_allocation(now=NOW)

    assert (first.proposed, second.proposed) == (2, 0)
    assert Offer.objects.values("slot_id").distinct().count() == 2


def test_allocation_keeps_preparation_and_access_needs(ct):
    step_free_site = site_with_scanner(ct, step_free=True)
    stairs_only = site_with_scanner(ct, (52.46, -1.93), step_free=False)
    prepared_exam = ExamTypeFactory(modality=ct, preparation_lead_days=3)
    soon_at_stairs = slot_at(stairs_only, ct, hours=30)
    later_step_free = slot_at(step_free_site, ct, hours=24 * 5)
    needs_step_free = waiting_referral(ExamTypeFactory(modality=ct), needs_step_free=True)
    needs_preparation = waiting_referral(prepared_exam)

    run_network_allocation(now=NOW)

    offered = dict(Offer.objects.values_list("referral_id", "slot_id"))
    assert offered.get(needs_step_free.pk) != soon_at_stairs.pk
    assert offered.get(needs_preparation.pk) != soon_at_stairs.pk
    assert set(offered.values()) <= {later_step_free.pk}


def test_backfill_records_ranked_offers_and_skips_those_who_cannot_make_it(ct, ct_exam):
    site = site_with_scanner(ct)
    freed = slot_at(site, ct, hours=10)
    opted_in = waiting_referral(ct_exam, days_waited=60, patient__short_notice_opt_in=True)
    needs_a_day = waiting_referral(ct_exam, days_waited=90)  # not opted in: 24 hours' notice
    booked_later = waiting_referral(ct_exam, days_waited=20, patient__short_notice_opt_in=True)
    later_slot = slot_at(site, ct, hours=24 * 14, status="booked")
    BookingFactory(referral=booked_later, slot=later_slot)
    booked_later.status = ReferralStatus.BOOKED
    booked_later.save()

    offers = backfill_freed_slot(freed.pk, now=NOW)

    # The chain: the booked patient moves into the freed slot, and their later slot goes to the
    # longest waiter, who cannot make the freed one at 10 hours' notice. Two served, not one.
    assert [(o.referral_id, o.source) for o in offers] == [
        (booked_later.pk, OfferSource.CHAIN),
        (opted_in.pk, OfferSource.BACKFILL),
    ]
    assert [o.rank for o in offers] == [1, 2]
    assert all(o.status == OfferStatus.PROPOSED for o in offers)
    assert offers[0].expires_at == NOW + timedelta(hours=2)
    assert "sooner than their current booking" in offers[0].reason
    moves = offers[0].run.detail["chain"]["moves"]
    assert [(m["referral_id"], m["to_slot_id"]) for m in moves] == [(booked_later.pk, freed.pk), (needs_a_day.pk, later_slot.pk)]
    assert needs_a_day.offers.count() == 0  # their offer comes when the later slot is freed


def test_backfill_twice_does_nothing_twice(ct, ct_exam):
    freed = slot_at(site_with_scanner(ct), ct, hours=30)
    waiting_referral(ct_exam)

    first = backfill_freed_slot(freed.pk, now=NOW)
    again = backfill_freed_slot(freed.pk, now=NOW)

    assert [o.pk for o in again] == [o.pk for o in first]
    assert Offer.objects.count() == 1


def test_a_slot_too_close_to_fill_gets_no_offers(ct, ct_exam):
    freed = slot_at(site_with_scanner(ct), ct, hours=2)
    waiting_referral(ct_exam, patient__short_notice_opt_in=True)
    assert backfill_freed_slot(freed.pk, now=NOW) == []


def test_backfill_reads_the_database_in_a_handful_of_queries(ct, ct_exam, django_assert_max_num_queries):
    freed = slot_at(site_with_scanner(ct), ct, hours=30)
    for _ in range(20):
        waiting_referral(ct_exam)
    # a fixed handful (slot, open offers, bookings to move, one chunk per priority, the writes),
    # however long the waiting list
    with django_assert_max_num_queries(12):
        offers = backfill_freed_slot(freed.pk, now=NOW)
    assert len(offers) == 5


def test_reading_the_waiting_list_in_chunks_ranks_exactly_as_reading_it_whole(ct, ct_exam, monkeypatch):
    freed = slot_at(site_with_scanner(ct), ct, hours=30)
    priorities = [Priority.ROUTINE, Priority.SOON, Priority.CANCER, Priority.URGENT]
    for i in range(12):
        waiting_referral(
            ct_exam,
            days_waited=(i * 37) % 120,
            priority=priorities[i % 4],
            patient__short_notice_opt_in=i % 3 == 0,
            patient__outcode=["B15", "B9", "CV1", "WV1"][i % 4],
        )
    slot = Slot.objects.select_related("site").get(pk=freed.pk)

    monkeypatch.setattr(services, "BACKFILL_CHUNK", 2)
    in_chunks, _, read = services._rank_for_slot(slot, services.slot_option(slot), NOW, 3)

    monkeypatch.setattr(services, "BACKFILL_CHUNK", 1000)
    rules = services._candidate_rules(slot, NOW)
    everyone = [row for p in Priority for row in services._waiting_chunk(rules, p, 0, NOW).candidates]
    whole = rank_backfill(services.slot_option(slot), everyone, NOW, limit=3)
    assert len(everyone) == 12
    assert [r.referral_id for r in in_chunks] == [r.referral_id for r in whole]
    assert read < 12


def test_backfill_proposes_a_chain_when_moving_a_booked_patient_frees_a_slot_someone_else_can_use(ct, ct_exam):
    site = site_with_scanner(ct)
    freed = slot_at(site, ct, hours=30)
    mover = waiting_referral(ct_exam, days_waited=20, patient__short_notice_opt_in=True)
    held = slot_at(site, ct, hours=24 * 20, status="booked")
    BookingFactory(referral=mover, slot=held)
    mover.status = ReferralStatus.BOOKED
    mover.save()
    needs_preparation = ExamTypeFactory(modality=ct, preparation_lead_days=3)  # cannot make the freed slot
    waiter = waiting_referral(needs_preparation, days_waited=70)

    offers = backfill_freed_slot(freed.pk, now=NOW)

    assert [(o.referral_id, o.source) for o in offers] == [(mover.pk, OfferSource.CHAIN)]
    assert offers[0].reason.startswith("Moving you earlier frees your later appointment")
    chain = offers[0].run.detail["chain"]
    assert [(m["referral_id"], m["from_slot_id"], m["to_slot_id"]) for m in chain["moves"]] == [
        (mover.pk, held.pk, freed.pk),
        (waiter.pk, None, held.pk),
    ]
    assert chain["status"] == "optimal"


def test_no_chain_displaces_a_longer_waiter_who_can_take_the_freed_slot(ct, ct_exam):
    site = site_with_scanner(ct)
    freed = slot_at(site, ct, hours=30)
    mover = waiting_referral(ct_exam, days_waited=10, patient__short_notice_opt_in=True)
    BookingFactory(referral=mover, slot=slot_at(site, ct, hours=24 * 20, status="booked"))
    mover.status = ReferralStatus.BOOKED
    mover.save()
    longest = waiting_referral(ct_exam, days_waited=80)

    offers = backfill_freed_slot(freed.pk, now=NOW)

    assert offers[0].referral_id == longest.pk and offers[0].source == OfferSource.BACKFILL
    assert offers[0].run.detail["chain"] is None


def booked(referral, slot):
    BookingFactory(referral=referral, slot=slot)
    referral.status = ReferralStatus.BOOKED
    referral.save()
    return referral


def test_allocation_offers_an_earlier_slot_to_a_patient_booked_for_6_weeks_or_more(ct, ct_exam):
    site = site_with_scanner(ct)
    sooner = slot_at(site, ct, hours=24 * 4)
    late = booked(
        waiting_referral(ct_exam, days_waited=30), slot_at(site, ct, hours=24 * 20, status="booked")
    )

    run = run_network_allocation(now=NOW)

    [offer] = Offer.objects.all()
    assert (offer.referral_id, offer.slot_id, run.patients) == (late.pk, sooner.pk, 1)


def test_allocation_leaves_alone_a_booking_inside_6_weeks_or_too_close_to_gain_on(ct, ct_exam):
    site = site_with_scanner(ct)
    slot_at(site, ct, hours=24 * 2)
    booked(waiting_referral(ct_exam, days_waited=10), slot_at(site, ct, hours=24 * 20, status="booked"))
    booked(waiting_referral(ct_exam, days_waited=50), slot_at(site, ct, hours=24 * 4, status="booked"))

    run = run_network_allocation(now=NOW)

    assert (run.patients, run.proposed) == (1, 0)  # the second is in the run, but no slot is 3 days sooner
