"""The worklist: every kind of work, why it is there and what next, newest first, scoped, cheap."""

from __future__ import annotations

import itertools

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from markupsafe import escape

from audit.models import AuditEvent
from booking.models import (
    Booking,
    BookingStatus,
    Invitation,
    InvitationChannel,
    OfferSource,
    OfferStatus,
    RisAnswer,
    RisDelivery,
    RisMessageKind,
)
from booking.worklist import ItemKind, build_worklist, with_candidates
from tests.clerk.conftest import make_booking
from tests.factories import OfferFactory, PatientFactory, ReferralFactory, SlotFactory

pytestmark = pytest.mark.django_db
_control = itertools.count(1)


def outbound(booking, answer, *, trust=None, kind=RisMessageKind.BOOK, error=""):
    """What the sender reported to booking about a message to the RIS (booking.services.ris)."""
    return RisDelivery.objects.create(
        trust=trust or booking.slot.trust,
        booking=booking,
        kind=kind,
        message_ref=f"TEST{next(_control):06d}",
        answer=answer,
        said=error,
        created_at=booking.created_at,
    )


@pytest.fixture
def every_kind(trust, other_trust, exam, home_site, other_site, ct, at, waiting, freed_slot, other_patient_referral):
    """One item of each kind for the clerk at `trust`."""
    # In conflict: our patient booked at Coventry, whose RIS gave the slot away.
    conflicted = ReferralFactory(trust=trust, exam_type=exam, status="booked", clock_start=at(weeks=-2))
    conflict_booking = make_booking(conflicted, SlotFactory(site=other_site, modality=ct, status="booked"),
                                    status=BookingStatus.CONFLICT)
    outbound(conflict_booking, RisAnswer.REFUSED, error="Slot already booked locally")
    # Our RIS takes no SRM: another trust's patient was booked into our slot.
    trust.accepts_srm = False
    trust.save()
    ris_task = make_booking(
        ReferralFactory(trust=other_trust, exam_type=exam, status="booked", clinical_reason="Query stroke"),
        SlotFactory(site=home_site, modality=ct, status="booked", starts_at=at(days=5)),
    )
    outbound(ris_task, RisAnswer.CLERK_TASK)
    # Expired offer.
    offered = ReferralFactory(trust=trust, exam_type=exam, clock_start=at(weeks=-3))
    OfferFactory(referral=offered, slot=SlotFactory(site=home_site, modality=ct), status=OfferStatus.EXPIRED,
                 expires_at=at(hours=-2))
    # Breached and about to breach.
    ReferralFactory(trust=trust, exam_type=exam, clock_start=at(weeks=-7))
    ReferralFactory(trust=trust, exam_type=exam, clock_start=at(weeks=-5, days=-3))
    # Did not attend, back on the waiting list.
    missed = ReferralFactory(trust=trust, exam_type=exam, status="waiting", clock_start=at(weeks=-3))
    make_booking(missed, SlotFactory(site=home_site, modality=ct, status="booked", starts_at=at(days=-1)),
                 status=BookingStatus.DID_NOT_ATTEND)
    # Likely to miss: asked to confirm a booking in 3 days, no answer yet.
    unsure = ReferralFactory(trust=trust, exam_type=exam, status="booked", clock_start=at(weeks=-2))
    unconfirmed = make_booking(unsure, SlotFactory(site=home_site, modality=ct, status="booked", starts_at=at(days=3)))
    Booking.objects.filter(pk=unconfirmed.pk).update(attendance_check_sent_at=at(hours=-1))
    # Invited by letter (no email or mobile): to print and post.
    by_letter = ReferralFactory(trust=trust, exam_type=exam, clock_start=at(days=-1),
                                patient=PatientFactory(email="", mobile=""))
    Invitation.objects.create(referral=by_letter, channel=InvitationChannel.LETTER, sent_at=at(days=-1))
    # Invited by email 8 days ago, reminded, and not chosen.
    silent = ReferralFactory(trust=trust, exam_type=exam, clock_start=at(days=-8))
    Invitation.objects.create(referral=silent, channel=InvitationChannel.EMAIL, sent_at=at(days=-8), reminded_at=at(days=-1))
    return {"conflict": conflict_booking, "ris_task": ris_task, "unconfirmed": unconfirmed}


def test_every_kind_says_why_and_what_next_newest_first(clerk, every_kind, at):
    items = build_worklist(clerk, now=at())
    kinds = {item.kind for item in items}
    assert kinds == set(ItemKind) - {ItemKind.INCOMING}  # the RIS task covers the only incoming booking
    for item in items:
        assert item.why and item.next_step, item
    assert [i.at for i in items] == sorted((i.at for i in items), reverse=True)
    breaches = [i for i in items if i.kind == ItemKind.BREACH]
    assert sorted(b.breached for b in breaches) == [False, True]


def test_conflict_shows_what_the_ris_said_and_links_to_resolve(clerk, every_kind, at):
    (conflict,) = [i for i in build_worklist(clerk, now=at()) if i.kind == ItemKind.CONFLICT]
    assert conflict.ris_said == "Slot already booked locally"
    assert conflict.action_url == reverse("booking:clerk-conflict", args=[every_kind["conflict"].pk])


def test_freed_slot_shows_backfill_progress_and_candidates(clerk, freed_slot, waiting, other_trust, exam, at):
    OfferFactory(referral=ReferralFactory(trust=other_trust, exam_type=exam), slot=freed_slot, source="backfill",
                 status=OfferStatus.DECLINED)
    OfferFactory(referral=ReferralFactory(trust=other_trust, exam_type=exam), slot=freed_slot, source="backfill",
                 status=OfferStatus.SENT)
    (item,) = with_candidates(clerk, build_worklist(clerk, now=at(), kinds=[ItemKind.FREED_SLOT]), now=at())
    assert item.progress.text == "2 backfill offers: 1 waiting for a reply, 1 declined"
    assert [c.referral_id for c in item.candidates] == [waiting.pk]
    assert "Not yet booked" in item.candidates[0].reasons


def test_a_freed_slot_is_no_longer_work_once_refilled(clerk, freed_slot, waiting, at):
    assert build_worklist(clerk, now=at(), kinds=[ItemKind.FREED_SLOT])
    make_booking(waiting, freed_slot)
    freed_slot.status = "booked"
    freed_slot.save()
    assert not build_worklist(clerk, now=at(), kinds=[ItemKind.FREED_SLOT])


def test_another_trust_sees_the_pool_but_not_our_patients(other_trust_clerk_client, every_kind, freed_slot, waiting):
    body = other_trust_clerk_client.get(reverse("booking:clerk-home")).content.decode()
    assert "slot free at Queen Elizabeth Hospital" in body  # the network's pool is everyone's
    assert waiting.patient.formatted_nhs_number not in body  # their candidates are their own patients
    assert "Amira Khan" not in body
    assert "Resolve" not in body
    # Our patient booked into their slot is theirs to see, but only as a booking at their site.
    conflicted = every_kind["conflict"].referral
    assert "Booked at your sites" in body and str(escape(conflicted.patient.family_name)) in body  # O'Brien
    assert reverse("booking:clerk-patient", args=[conflicted.patient_id]) not in body


def test_receiving_trust_sees_only_what_it_needs_to_book_and_scan(
    clerk, other_trust_clerk_client, waiting, other_open_slot, at
):
    """Our patient booked at Coventry: Coventry's clerk sees name, NHS number, birth date, exam, slot."""
    booking = make_booking(waiting, other_open_slot, channel="clerk")
    outbound(booking, RisAnswer.ACCEPTED)
    response = other_trust_clerk_client.get(reverse("booking:clerk-home") + "?kind=incoming")
    body = response.content.decode()
    patient = waiting.patient
    assert f"{patient.given_name} {patient.family_name}" in body
    assert patient.formatted_nhs_number in body
    assert "Thursday 27 March 1958" in body
    assert "CT Head" in body and "Accepted by the RIS" in body
    for private in (waiting.clinical_reason, patient.email, patient.postcode, patient.mobile):
        assert private not in body
    assert reverse("booking:clerk-patient", args=[patient.pk]) not in body


def test_ris_task_tells_the_receiving_clerk_to_book_it_in(clerk, every_kind, at):
    (task,) = [i for i in build_worklist(clerk, now=at()) if i.kind == ItemKind.RIS_TASK]
    assert task.title == "Book this in your RIS"
    assert task.booking.ris_slot_id in task.next_step
    assert not hasattr(task.booking, "clinical_reason")


def test_queries_are_bounded_whatever_the_size_of_the_lists(
    clerk, every_kind, trust, exam, home_site, ct, at, django_assert_max_num_queries
):
    bound = len(ItemKind) + 5  # one query per kind of work, and a few for the freed slots' candidates
    with django_assert_max_num_queries(bound):
        small = with_candidates(clerk, build_worklist(clerk, now=at()), now=at())
    for n in range(15):
        ReferralFactory(trust=trust, exam_type=exam, clock_start=at(weeks=-6, days=-n))
        freed = SlotFactory(site=home_site, modality=ct, starts_at=at(days=1, hours=n))
        make_booking(ReferralFactory(trust=trust, exam_type=exam), freed, status=BookingStatus.CANCELLED)
        make_booking(ReferralFactory(trust=trust, exam_type=exam, status="booked"),
                     SlotFactory(site=home_site, modality=ct, status="booked"), status=BookingStatus.CONFLICT)
    with django_assert_max_num_queries(bound):
        large = with_candidates(clerk, build_worklist(clerk, now=at()), now=at())
    assert len(large) > len(small) + 40


def test_worklist_page_filters_in_place_and_audits_whom_it_showed(clerk_client, every_kind, waiting, at):
    page = clerk_client.get(reverse("booking:clerk-home"))
    assert page.status_code == 200
    assert '<h1>Worklist</h1>' in page.content.decode()
    partial = clerk_client.get(reverse("booking:clerk-home"), {"kind": "breach"}, HTTP_HX_REQUEST="true")
    body = partial.content.decode()
    assert "<html" not in body and "Waiting over 6 weeks" in body and "Book in your RIS" in body
    assert "Resolve" not in body
    event = AuditEvent.objects.filter(object_type="booking.Worklist").first()
    assert event.detail["kind"] == "breach" and event.detail["patient_ids"]


def test_waiting_list_is_its_own_page(clerk_client, waiting):
    body = clerk_client.get(reverse("booking:clerk-waiting-list")).content.decode()
    assert "<h1>Waiting list</h1>" in body
    assert waiting.patient.family_name.upper() in body
    assert reverse("booking:clerk-patient", args=[waiting.patient_id]) in body


def test_home_page_sends_clerks_to_the_worklist(clerk_client):
    response = clerk_client.get("/")
    assert response["Location"] == reverse("booking:clerk-home")


def test_other_trusts_expired_offers_and_breaches_are_not_ours(clerk, other_trust, exam, home_site, ct, at):
    theirs = ReferralFactory(trust=other_trust, exam_type=exam, clock_start=at(weeks=-8),
                             patient=PatientFactory(family_name="Elsewhere"))
    OfferFactory(referral=theirs, slot=SlotFactory(site=home_site, modality=ct), status=OfferStatus.EXPIRED,
                 expires_at=at(hours=-1))
    assert build_worklist(clerk, now=at()) == []


def test_worklist_page_queries_do_not_grow_with_the_list(
    clerk_client, every_kind, trust, exam, home_site, ct, at, django_assert_max_num_queries
):
    bound = len(ItemKind) + 12  # one a kind of work, and the page's own (session, user, audit, candidates…)
    with django_assert_max_num_queries(bound):
        assert clerk_client.get(reverse("booking:clerk-home")).status_code == 200
    for n in range(25):
        ReferralFactory(trust=trust, exam_type=exam, clock_start=at(weeks=-6, days=-n))
    with django_assert_max_num_queries(bound):
        assert clerk_client.get(reverse("booking:clerk-home")).status_code == 200


def test_an_unanswered_attendance_check_is_on_its_own_trusts_worklist_only(clerk, every_kind, other_trust, at):
    from accounts.models import Role
    from tests.factories import UserFactory

    (item,) = [i for i in build_worklist(clerk, now=at()) if i.kind == ItemKind.UNCONFIRMED]
    assert item.booking_id == every_kind["unconfirmed"].pk
    other = UserFactory(username="elsewhere", role=Role.CLERK, trust=other_trust)
    assert not [i for i in build_worklist(other, now=at()) if i.kind == ItemKind.UNCONFIRMED]


def more_of_each_kind(n, *, trust, other_trust, exam, home_site, other_site, ct, at):
    """`n` more items of every kind, each with its own patient, slot and related rows (so a per-row
    query would show), conflicts with what the RIS said and the slot the hub offered instead."""
    for i in range(n):
        conflicted = ReferralFactory(trust=trust, exam_type=exam, status="booked", clock_start=at(weeks=-2))
        booking = make_booking(conflicted, SlotFactory(site=other_site, modality=ct, status="booked"),
                               status=BookingStatus.CONFLICT)
        outbound(booking, RisAnswer.REFUSED, error=f"Slot taken locally ({i})")
        OfferFactory(referral=conflicted, slot=SlotFactory(site=home_site, modality=ct), source=OfferSource.REFUSED,
                     status=OfferStatus.SENT)
        task = make_booking(ReferralFactory(trust=other_trust, exam_type=exam, status="booked"),
                            SlotFactory(site=home_site, modality=ct, status="booked", starts_at=at(days=5, hours=i)))
        outbound(task, RisAnswer.CLERK_TASK)
        incoming = make_booking(ReferralFactory(trust=other_trust, exam_type=exam, status="booked"),
                                SlotFactory(site=home_site, modality=ct, status="booked", starts_at=at(days=6, hours=i)))
        outbound(incoming, RisAnswer.ACCEPTED)
        offered = ReferralFactory(trust=trust, exam_type=exam, clock_start=at(weeks=-3))
        OfferFactory(referral=offered, slot=SlotFactory(site=home_site, modality=ct), status=OfferStatus.EXPIRED,
                     expires_at=at(hours=-2))
        ReferralFactory(trust=trust, exam_type=exam, clock_start=at(weeks=-7, days=-i))
        missed = ReferralFactory(trust=trust, exam_type=exam, clock_start=at(weeks=-3))
        make_booking(missed, SlotFactory(site=home_site, modality=ct, status="booked", starts_at=at(days=-1)),
                     status=BookingStatus.DID_NOT_ATTEND)
        unsure = make_booking(ReferralFactory(trust=trust, exam_type=exam, status="booked"),
                              SlotFactory(site=home_site, modality=ct, status="booked", starts_at=at(days=3)))
        Booking.objects.filter(pk=unsure.pk).update(attendance_check_sent_at=at(hours=-1))
        by_letter = ReferralFactory(trust=trust, exam_type=exam, clock_start=at(days=-1),
                                    patient=PatientFactory(email="", mobile=""))
        Invitation.objects.create(referral=by_letter, channel=InvitationChannel.LETTER, sent_at=at(days=-1))
        silent = ReferralFactory(trust=trust, exam_type=exam, clock_start=at(days=-8))
        Invitation.objects.create(referral=silent, channel=InvitationChannel.EMAIL, sent_at=at(days=-8),
                                  reminded_at=at(days=-1))
        freed = SlotFactory(site=home_site, modality=ct, starts_at=at(days=1, hours=i))
        make_booking(ReferralFactory(trust=trust, exam_type=exam), freed, status=BookingStatus.CANCELLED)


def test_each_kinds_queries_are_the_same_for_few_rows_as_for_many(
    clerk, clerk_client, every_kind, trust, other_trust, exam, home_site, other_site, ct, at
):
    """Structural, not a bound: no query per row anywhere on the worklist's path (each kind's
    builder, the freed slots' candidates, and the page listing each kind)."""
    network = {"trust": trust, "other_trust": other_trust, "exam": exam, "home_site": home_site,
               "other_site": other_site, "ct": ct, "at": at}

    def measure() -> dict[str, tuple[int, int]]:
        counts = {}
        for kind in ItemKind:
            with CaptureQueriesContext(connection) as queries:
                rows = len(build_worklist(clerk, now=at(), kinds=[kind]))
            counts[kind.value] = (rows, len(queries))
        items = build_worklist(clerk, now=at())
        with CaptureQueriesContext(connection) as queries:
            with_candidates(clerk, items, now=at())
        counts["candidates"] = (len(items), len(queries))
        for kind in ItemKind:  # one kind a page, so every row is on it (a page holds 20)
            with CaptureQueriesContext(connection) as queries:
                page = clerk_client.get(reverse("booking:clerk-home"), {"kind": kind.value}, HTTP_HX_REQUEST="true")
            counts[f"page of {kind.value}"] = (page.content.decode().count('id="item-'), len(queries))
        return counts

    more_of_each_kind(1, **network)
    few = measure()
    more_of_each_kind(4, **network)
    many = measure()
    for what in few:
        assert many[what][0] > few[what][0], f"{what}: the rows did not grow"
        assert many[what][1] == few[what][1], f"{what}: {few[what][1]} queries for {few[what][0]} rows, {many[what][1]} for {many[what][0]}"
